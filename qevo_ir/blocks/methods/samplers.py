"""Simulated annealing and tabu search (dwave-samplers through the ``dimod`` backend).

All channels go to the sampler as one block-diagonal Hamiltonian; each channel then takes its
best read (channels do not interact, so a read's channels can be mixed freely).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from qevo_ir.blocks.base import GramBlock
from qevo_ir.blocks.methods.base import Answer, Bits, Method, backend
from qevo_ir.vartypes import BINARY

__all__ = ["SA", "TABU"]


def _sample(
    block: GramBlock,
    sampler: str,
    sampler_options: dict[str, Any],
    penalty: Any,
    info: dict[str, Any],
) -> Answer:
    ham = block.hamiltonian(penalty=penalty, labelled=False)
    result = backend("dimod").solve(ham, sampler=sampler, **sampler_options)
    info["sampler"] = {k: v for k, v in result.info.items() if k in ("options", "num_reads")}
    samples = result.to_vartype(BINARY)
    reads = block.bits_from_sample(samples, vartype=BINARY)  # (r, C, m)
    if block.cardinality is not None:
        reads = np.stack([block.repair(r) for r in reads])  # a loop over reads, not terms
    energy = block.bit_objectives(reads)  # (r, C)
    best = np.argmin(energy, axis=0)
    return Answer(reads[best, np.arange(block.num_channels)])


def _run_sa(
    block: GramBlock, options: Mapping[str, Any], info: dict[str, Any], start: Bits | None
) -> Answer:
    sampler_options: dict[str, Any] = {
        "num_reads": options.get("num_reads", 32),
        "num_sweeps": options.get("num_sweeps", 1000),
    }
    for key in ("seed", "beta_range"):
        if options.get(key) is not None:
            sampler_options[key] = options[key]
    return _sample(block, "sa", sampler_options, options.get("penalty"), info)


def _run_tabu(
    block: GramBlock, options: Mapping[str, Any], info: dict[str, Any], start: Bits | None
) -> Answer:
    sampler_options: dict[str, Any] = {"num_reads": options.get("num_reads", 4)}
    for key in ("seed", "timeout"):
        if options.get(key) is not None:
            sampler_options[key] = options[key]
    return _sample(block, "tabu", sampler_options, options.get("penalty"), info)


SA = Method(
    "sa",
    ("num_reads", "num_sweeps", "seed", "beta_range", "penalty"),
    _run_sa,
    summary="simulated annealing (dimod backend) on the combined Hamiltonian",
)
TABU = Method(
    "tabu",
    ("num_reads", "seed", "timeout", "penalty"),
    _run_tabu,
    summary="tabu search (dimod backend) on the combined Hamiltonian",
)
