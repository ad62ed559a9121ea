"""Simulated QAOA per channel (``qevo_ir.qaoa``): optimised angles, sampled, best sample kept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.base import GramBlock
from qevo_ir.blocks.methods.base import Answer, Bits, Method, option_int
from qevo_ir.errors import LimitExceeded

__all__ = ["QAOA", "QAOA_MAX_VARIABLES", "qaoa_channel"]

QAOA_MAX_VARIABLES = 16
"""Largest channel the ``qaoa`` method simulates (a ``2**16`` statevector per channel)."""


def qaoa_channel(
    block: GramBlock, channel: int, options: Mapping[str, Any], seed: int
) -> tuple[npt.NDArray[np.int8], dict[str, float]]:
    """One channel's simulated QAOA: its best sampled bits (free slots) and its figures.

    Independent of every other channel (its own ``seed``): a unit an executor can map.
    """
    from qevo_ir.qaoa import cost_diagonal, optimize_angles, qaoa_probabilities, sample_qaoa

    p = option_int(options, "p", 2, 1)
    shots = option_int(options, "shots", 256, 1)
    spin = block.hamiltonian(channel, penalty=options.get("penalty"), labelled=False).to_spin()
    diag = cost_diagonal(spin.linear, spin.row, spin.col, spin.quad, spin.offset)
    angles = optimize_angles(
        diag,
        p,
        seed=seed,
        restarts=int(options.get("restarts", 2)),
        maxiter=int(options.get("maxiter", 100)),
    )
    samples = sample_qaoa(diag, angles.gammas, angles.betas, shots, seed)
    n = samples.shape[1]
    idx = (samples.astype(np.int64) << np.arange(n, dtype=np.int64)).sum(axis=1)
    best = int(np.argmin(diag[idx]))
    ground = float(diag.min())
    probs = qaoa_probabilities(diag, angles.gammas, angles.betas)
    tol = 1e-9 * max(1.0, float(np.abs(diag).max()))
    stats = {
        "channel": float(channel),
        "qubits": float(n),
        "expectation": float(angles.expectation),
        "ground_energy": ground,
        "best_sampled": float(diag[idx[best]]),
        "ground_probability": float(probs[diag <= ground + tol].sum()),
    }
    return np.asarray(samples[best], dtype=np.int8), stats


def _run(
    block: GramBlock, options: Mapping[str, Any], info: dict[str, Any], start: Bits | None
) -> Answer:
    limit = int(options.get("max_variables", QAOA_MAX_VARIABLES))
    sizes = block.batch.num_free()
    if np.any(sizes > limit):
        c = int(np.argmax(sizes))
        raise LimitExceeded(
            f"qaoa: channel {c} has {int(sizes[c])} variables (qubits), more than "
            f"max_variables={limit}; use method='greedy', 'sa' or 'exact'"
        )
    p = option_int(options, "p", 2, 1)
    shots = option_int(options, "shots", 256, 1)
    rng = np.random.default_rng(options.get("seed"))
    bits = block.baseline_bits().copy()
    per_channel: list[dict[str, float]] = []
    for c in np.flatnonzero(sizes > 0).tolist():  # one simulation per channel
        channel_seed = int(rng.integers(0, 2**31 - 1))
        bits[c, np.flatnonzero(block.batch.free[c])], stats = qaoa_channel(
            block, c, options, channel_seed
        )
        per_channel.append(stats)
    info["qaoa"] = {"p": p, "shots": shots, "channels": per_channel}
    return Answer(bits)


QAOA = Method(
    "qaoa",
    ("p", "shots", "restarts", "maxiter", "seed", "penalty", "max_variables"),
    _run,
    summary="simulated QAOA per channel (numpy statevector)",
)
