"""Simulated QAOA per channel (``qevo_ir.qaoa``): optimised angles, sampled, best sample kept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from qevo_ir.blocks.base import GramBlock
from qevo_ir.blocks.methods.base import Answer, Bits, Method
from qevo_ir.errors import LimitExceeded

__all__ = ["QAOA", "QAOA_MAX_VARIABLES"]

QAOA_MAX_VARIABLES = 16
"""Largest channel the ``qaoa`` method simulates (a ``2**16`` statevector per channel)."""


def _run(
    block: GramBlock, options: Mapping[str, Any], info: dict[str, Any], start: Bits | None
) -> Answer:
    from qevo_ir.qaoa import cost_diagonal, optimize_angles, qaoa_probabilities, sample_qaoa

    limit = int(options.get("max_variables", QAOA_MAX_VARIABLES))
    sizes = block.batch.num_free()
    if np.any(sizes > limit):
        c = int(np.argmax(sizes))
        raise LimitExceeded(
            f"qaoa: channel {c} has {int(sizes[c])} variables (qubits), more than "
            f"max_variables={limit}; use method='greedy', 'sa' or 'exact'"
        )
    p = int(options.get("p", 2))
    shots = int(options.get("shots", 256))
    rng = np.random.default_rng(options.get("seed"))
    bits = block.baseline_bits().copy()
    per_channel: list[dict[str, float]] = []
    for c in np.flatnonzero(sizes > 0).tolist():  # one simulation per channel
        spin = block.hamiltonian(c, penalty=options.get("penalty"), labelled=False).to_spin()
        diag = cost_diagonal(spin.linear, spin.row, spin.col, spin.quad, spin.offset)
        channel_seed = int(rng.integers(0, 2**31 - 1))
        angles = optimize_angles(
            diag,
            p,
            seed=channel_seed,
            restarts=int(options.get("restarts", 2)),
            maxiter=int(options.get("maxiter", 100)),
        )
        samples = sample_qaoa(diag, angles.gammas, angles.betas, shots, channel_seed)
        n = samples.shape[1]
        idx = (samples.astype(np.int64) << np.arange(n, dtype=np.int64)).sum(axis=1)
        best = int(np.argmin(diag[idx]))
        bits[c, np.flatnonzero(block.batch.free[c])] = samples[best]
        ground = float(diag.min())
        probs = qaoa_probabilities(diag, angles.gammas, angles.betas)
        tol = 1e-9 * max(1.0, float(np.abs(diag).max()))
        per_channel.append(
            {
                "channel": float(c),
                "qubits": float(n),
                "expectation": float(angles.expectation),
                "ground_energy": ground,
                "best_sampled": float(diag[idx[best]]),
                "ground_probability": float(probs[diag <= ground + tol].sum()),
            }
        )
    info["qaoa"] = {"p": p, "shots": shots, "channels": per_channel}
    return Answer(bits)


QAOA = Method(
    "qaoa",
    ("p", "shots", "restarts", "maxiter", "seed", "penalty", "max_variables"),
    _run,
    summary="simulated QAOA per channel (numpy statevector)",
)
