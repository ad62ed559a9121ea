"""Solve a model block with a solver or a classical baseline, and compare them honestly.

``solve_block`` runs one method (round-to-nearest, greedy descent, simulated annealing through
the dimod backend, exact enumeration through the exact backend, or simulated QAOA) and decodes
the result to parameters; ``compare_methods`` puts every solver beside the nearest and greedy
baselines (and the exact optimum when it is cheap), because a QUBO solver is only worth using
where it beats them (Nagel et al. 2020 found D-Wave's qbsolv did worse than round-to-nearest).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.backend import Backend
from qevo_ir.blocks.base import GramBlock
from qevo_ir.errors import BackendError, BackendUnavailable, LimitExceeded, ValidationError
from qevo_ir.plugins import available_backends, get_backend, require
from qevo_ir.vartypes import BINARY

__all__ = [
    "EXACT_MAX_VARIABLES",
    "METHODS",
    "QAOA_MAX_VARIABLES",
    "BlockSolution",
    "compare_methods",
    "solve_block",
]

METHODS = ("nearest", "greedy", "sa", "exact", "qaoa")
EXACT_MAX_VARIABLES = 24
"""Largest channel the ``exact`` method enumerates (``2**24`` states per channel)."""
QAOA_MAX_VARIABLES = 16
"""Largest channel the ``qaoa`` method simulates (a ``2**16`` statevector per channel)."""

_OPTIONS: dict[str, tuple[str, ...]] = {
    "nearest": (),
    "greedy": ("max_steps",),
    "sa": ("num_reads", "num_sweeps", "seed", "beta_range", "penalty"),
    "exact": ("max_variables", "penalty"),
    "qaoa": ("p", "shots", "restarts", "maxiter", "seed", "penalty", "max_variables"),
}

# Backends used through the plugin registry; from a source checkout whose entry points are not
# installed, the plugin module is imported directly (still only through its public class).
_FALLBACK = {
    "dimod": ("qevo_dimod", "DimodBackend", "dimod"),
    "exact": ("qevo_exact", "ExactBackend", "all"),
}


@dataclass(frozen=True, eq=False)
class BlockSolution:
    """One method's answer for a block.

    ``weights``: the decoded parameters (shaped like the block's parameters: rounded weights,
    pruned weights, or a boolean feature selection); ``objective``: the block's objective at
    them, recomputed from the parameters; ``seconds``: wall time of the whole method (lowering,
    solving, decoding); ``bits``: the per-channel slot bits ``(C, m)``; ``info``: details
    (feasibility repairs, sampler options, per-channel QAOA figures).
    """

    weights: npt.NDArray[Any]
    objective: float
    seconds: float
    method: str
    info: dict[str, Any] = field(default_factory=dict)
    bits: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros((0, 0), np.int8))


def _backend(name: str) -> Backend:
    if name in available_backends():
        return get_backend(name)
    module, cls, extra = _FALLBACK[name]
    backend: Backend = getattr(require(module, extra), cls)()
    return backend


def _check_options(method: str, options: Mapping[str, Any]) -> None:
    if method not in _OPTIONS:
        raise ValidationError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    unknown = sorted(set(options) - set(_OPTIONS[method]))
    if unknown:
        accepted = ", ".join(_OPTIONS[method]) or "none"
        raise ValidationError(
            f"method {method!r} does not take option(s) {', '.join(unknown)}; accepted: {accepted}"
        )


def solve_block(block: GramBlock, method: str = "greedy", **options: Any) -> BlockSolution:
    """Solve ``block`` with ``method``; the result is decoded, feasible and re-scored.

    Methods and options:

    - ``nearest``: the block's baseline (round-to-nearest; magnitude pruning; top-k MI).
    - ``greedy``: best-improvement one-flip descent from the baseline on all channels at once
      (``max_steps``); for a cardinality-constrained block, drop-add swap descent instead.
      Never worse than ``nearest``.
    - ``sa``: simulated annealing (dwave-samplers via the ``dimod`` backend) on the combined
      block-diagonal Hamiltonian; each channel takes its best read. Options ``num_reads``
      (default 32), ``num_sweeps`` (1000), ``seed``, ``beta_range``, ``penalty``.
    - ``exact``: exhaustive enumeration (``exact`` backend) channel by channel; every channel
      must have at most ``max_variables`` (default 24) variables, else :class:`LimitExceeded`.
    - ``qaoa``: simulated QAOA per channel (``qevo_ir.qaoa``): angles optimised for depth ``p``
      (default 2) with ``restarts`` (2) and ``maxiter`` (100), then ``shots`` (256) samples; the
      best sample is kept. At most ``max_variables`` (16) per channel.

    Constrained blocks: samples that break the cardinality are repaired greedily
    (``info["repaired_channels"]`` counts them).
    """
    _check_options(method, options)
    if not isinstance(block, GramBlock):
        raise ValidationError(f"solve_block takes a model block, got {type(block).__name__}")
    start = time.perf_counter()
    info: dict[str, Any] = {"block": block.kind, "channels": block.num_channels}
    if method == "nearest":
        bits = block.baseline_bits()
    elif method == "greedy":
        bits = _greedy(block, options.get("max_steps"))
    elif method == "sa":
        bits = _sa(block, options, info)
    elif method == "exact":
        bits = _exact(block, options, info)
    else:
        bits = _qaoa(block, options, info)
    if not block.feasible(bits):
        broken = block.cardinality.violation(bits) != 0 if block.cardinality is not None else 0
        info["repaired_channels"] = int(np.count_nonzero(broken))
        bits = block.repair(bits)
    else:
        info["repaired_channels"] = 0
    weights = block.decode_bits(bits)
    objective = block.objective(weights)
    seconds = time.perf_counter() - start
    return BlockSolution(weights, objective, seconds, method, info, np.asarray(bits, np.int8))


def _greedy(block: GramBlock, max_steps: int | None) -> npt.NDArray[np.int8]:
    start = block.baseline_bits()
    if block.cardinality is not None:
        return block.batch.swap_descend(start, max_steps=max_steps)
    return block.batch.descend(start, max_steps=max_steps)


def _sa(block: GramBlock, options: Mapping[str, Any], info: dict[str, Any]) -> npt.NDArray[np.int8]:
    penalty = options.get("penalty")
    ham = block.hamiltonian(penalty=penalty, labelled=False)
    sampler_options = {
        "num_reads": options.get("num_reads", 32),
        "num_sweeps": options.get("num_sweeps", 1000),
    }
    for key in ("seed", "beta_range"):
        if options.get(key) is not None:
            sampler_options[key] = options[key]
    result = _backend("dimod").solve(ham, sampler="sa", **sampler_options)
    info["sampler"] = {k: v for k, v in result.info.items() if k in ("options", "num_reads")}
    samples = result.to_vartype(BINARY)
    reads = block.bits_from_sample(samples, vartype=BINARY)  # (r, C, m)
    if block.cardinality is not None:
        reads = np.stack([block.repair(r) for r in reads])  # a loop over reads, not terms
    energy = block.bit_objectives(reads)  # (r, C)
    best = np.argmin(energy, axis=0)
    chosen: npt.NDArray[np.int8] = reads[best, np.arange(block.num_channels)]
    return chosen


def _exact(
    block: GramBlock, options: Mapping[str, Any], info: dict[str, Any]
) -> npt.NDArray[np.int8]:
    limit = int(options.get("max_variables", EXACT_MAX_VARIABLES))
    sizes = block.batch.num_free()
    too_big = np.flatnonzero(sizes > limit)
    if len(too_big):
        c = int(too_big[0])
        raise LimitExceeded(
            f"exact: channel {c} has {int(sizes[c])} variables, more than max_variables={limit} "
            f"({len(too_big)} channels are over); use method='greedy' or 'sa'"
        )
    backend = _backend("exact")
    bits = block.baseline_bits().copy()
    penalty = options.get("penalty")
    ground = np.zeros(block.num_channels)
    for c in np.flatnonzero(sizes > 0).tolist():  # one enumeration per channel
        ham = block.hamiltonian(c, penalty=penalty, labelled=False)
        res = backend.solve(ham, max_states=1, max_variables=limit)
        state = res.to_vartype(BINARY)[0]
        bits[c, np.flatnonzero(block.batch.free[c])] = state
        ground[c] = res.energies[0]
    info["ground_energy_sum"] = float(ground.sum())
    return bits


def _qaoa(
    block: GramBlock, options: Mapping[str, Any], info: dict[str, Any]
) -> npt.NDArray[np.int8]:
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
    seed = options.get("seed")
    rng = np.random.default_rng(seed)
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
    return bits


def compare_methods(
    block: GramBlock,
    methods: Sequence[str] = ("nearest", "greedy", "sa"),
    *,
    options: Mapping[str, Mapping[str, Any]] | None = None,
    exact: bool | None = None,
) -> list[dict[str, Any]]:
    """Run several methods on ``block`` and tabulate them against the baselines.

    ``nearest`` and ``greedy`` are always run (first); ``exact`` is added when ``exact`` is
    true, or, when ``exact`` is ``None``, when every channel has at most 20 variables and the
    whole enumeration is at most ``2**26`` states. ``options`` maps a method to its options.
    Each row: ``method``, ``objective``, ``seconds``, ``rel_to_nearest``
    (``(objective - nearest) / nearest``: negative is better), ``gap_to_exact`` (when exact
    ran), ``status`` (``"ok"``, or ``"skipped: ..."`` when the method is over a size limit or
    its SDK is missing, with ``objective`` ``None``).
    """
    opts = dict(options or {})
    wanted = ["nearest", "greedy", *[m for m in methods if m not in ("nearest", "greedy")]]
    for m in wanted:
        _check_options(m, opts.get(m, {}))
    sizes = block.batch.num_free()
    if exact is None:
        largest = int(sizes.max(initial=0))
        exact = largest <= 20 and float(np.sum(np.exp2(sizes.astype(np.float64)))) <= 2.0**26
    if exact and "exact" not in wanted:
        wanted.append("exact")
    rows: list[dict[str, Any]] = []
    for m in dict.fromkeys(wanted):
        try:
            sol = solve_block(block, m, **opts.get(m, {}))
        except (LimitExceeded, BackendUnavailable, BackendError) as exc:
            rows.append(
                {"method": m, "objective": None, "seconds": None, "status": f"skipped: {exc}"}
            )
            continue
        rows.append(
            {
                "method": m,
                "objective": sol.objective,
                "seconds": sol.seconds,
                "status": "ok",
                "repaired_channels": sol.info.get("repaired_channels", 0),
            }
        )
    base = next(r["objective"] for r in rows if r["method"] == "nearest")
    best_exact = next(
        (r["objective"] for r in rows if r["method"] == "exact" and r["objective"] is not None),
        None,
    )
    for r in rows:
        obj = r["objective"]
        if obj is None:
            continue
        r["rel_to_nearest"] = (obj - base) / abs(base) if base else obj - base
        if best_exact is not None:
            r["gap_to_exact"] = (obj - best_exact) / abs(best_exact) if best_exact else obj
    return rows
