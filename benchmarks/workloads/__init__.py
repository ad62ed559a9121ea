"""The benchmark workloads, one module each, registered by name and imported when run.

Every module has ``run(ctx: Context) -> list[Row]``; :data:`WORKLOADS` lists them in the order
the issue numbers them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from benchmarks.harness import Context, Row

__all__ = ["WORKLOADS", "load"]

WORKLOADS: dict[str, str] = {
    "build": "Build and lower: arrays → IR → dimod BQM / Qiskit operator",
    "blocks": "Model block: LinearRounding 512×512, 2048 calibration rows; GPTQ, gptq-block",
    "energies": "Energies of 10⁴ samples, sparse and dense",
    "exact": "Exact ground state and degeneracy, n = 20…30",
    "qaoa": "QAOA ⟨H_C⟩, cost diagonal, angle optimisation, circuit emission",
    "embedding": "Minor embedding onto Pegasus and Zephyr",
    "quantize_model": "quantize_model peak memory on the demo's character transformer",
    "execution": "Local pool and Dask batches, per-task overhead, shared data, --timeout",
    "constrained": "Constrained, higher-order: penalize vs CQM→BQM, quadratize vs make_quadratic",
    "certified": "Certified answers: tree-decomposition exact, MIP proofs, roof duality",
}


def load(name: str) -> Callable[[Context], list[Row]]:
    """The ``run`` function of workload ``name``."""
    if name not in WORKLOADS:
        raise KeyError(f"unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
    module = importlib.import_module(f"benchmarks.workloads.{name}")
    run: Callable[[Context], list[Row]] = module.run
    return run
