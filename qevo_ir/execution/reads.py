"""Reads split into chunks: a layout that depends on the problem and options alone, and a merge.

A sampler whose reads are independent (``sa``, ``steepest``, ``tabu``) can draw them in chunks,
each with the seed ``derive_seed(seed, k)``; chunks then run on several workers, show progress,
and a deadline keeps the chunks that finished. The layout never depends on the workers, the
executor, a timeout or a progress bar, so the result does not either (``specs/execution.md``).
Small jobs (under :data:`SPLIT_ABOVE_S` of estimated work) are not split: one sampler call with
the user's seed, exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.results import SampleResult

__all__ = [
    "CHUNK_S",
    "DEFAULT_READS",
    "MAX_NUM_READS",
    "SPLIT_ABOVE_S",
    "estimated_read_seconds",
    "merge_results",
    "plan_reads",
]

#: More reads than this is a typo, not a plan (and would allocate ``reads × n`` bytes); the
#: dimod backend refuses it, so a larger request is never split into chunks first.
MAX_NUM_READS = 10_000_000
#: Samplers whose reads are independent, with their default ``num_reads``.
DEFAULT_READS: dict[str, int] = {"sa": 100, "steepest": 100, "tabu": 10}
#: Estimated work above which reads are split (seconds on one core).
SPLIT_ABOVE_S = 0.5
#: Estimated work of a full chunk; the first chunks are smaller (1, 2, 4, ... reads), so some
#: reads finish early whatever the deadline.
CHUNK_S = 0.25
#: dwave-samplers' SA: seconds per spin update, measured on the reference machine (a 2048-spin
#: Chimera problem: 27 ms per read of 1000 sweeps).
SA_SECONDS_PER_UPDATE = 2e-9
_DEFAULT_SWEEPS = 1000
_STEEPEST_PASSES = 20
_TABU_DEFAULT_MS = 100


def _problem_size(problem: Any) -> tuple[int, int]:
    target = getattr(problem, "target", problem)  # an embedded problem samples its target
    return int(target.num_variables), int(target.num_interactions)


def estimated_read_seconds(sampler: str, problem: Any, options: Mapping[str, Any]) -> float:
    """A rough, deterministic estimate of one read's time (it only chooses the chunk layout)."""
    n, nnz = _problem_size(problem)
    updates = n + 2 * nnz
    if sampler == "sa":
        sweeps = options.get("num_sweeps") or _DEFAULT_SWEEPS
        return SA_SECONDS_PER_UPDATE * float(sweeps) * updates
    if sampler == "tabu":
        return float(options.get("timeout") or _TABU_DEFAULT_MS) / 1000.0
    return SA_SECONDS_PER_UPDATE * _STEEPEST_PASSES * updates


def plan_reads(sampler: str, problem: Any, options: Mapping[str, Any]) -> list[int] | None:
    """Reads per chunk, or ``None`` when the reads stay in one sampler call.

    Chunks grow 1, 2, 4, ... up to :data:`CHUNK_S` of estimated work each, then stay there.
    """
    if sampler not in DEFAULT_READS or options.get("initial_states") is not None:
        return None
    reads = options.get("num_reads")
    reads = DEFAULT_READS[sampler] if reads is None else reads
    if isinstance(reads, bool) or not isinstance(reads, int | np.integer):
        return None  # one call; the sampler checks the value
    if not 2 <= int(reads) <= MAX_NUM_READS:
        return None  # one call (the sampler refuses values out of range)
    per_read = estimated_read_seconds(sampler, problem, options)
    if per_read * int(reads) <= SPLIT_ABOVE_S:
        return None
    full = max(1, int(CHUNK_S / per_read)) if per_read > 0 else int(reads)
    chunks: list[int] = []
    left, size = int(reads), 1
    while left:
        take = min(size, full, left)
        chunks.append(take)
        left -= take
        size *= 2
    return chunks


def merge_results(
    parts: Sequence[SampleResult], info: Mapping[str, Any] | None = None
) -> SampleResult:
    """One result from chunk results over the same variables: identical rows are merged
    (occurrences add), rows are sorted by energy; ``info`` replaces the first part's info."""
    first = parts[0]
    samples = np.concatenate([p.samples for p in parts])
    energies = np.concatenate([p.energies for p in parts])
    occ = np.concatenate([p.num_occurrences for p in parts])
    samples, energies, occ = _aggregate(samples, energies, occ)
    order = np.lexsort((np.arange(len(energies)), energies))
    return SampleResult(
        samples=np.ascontiguousarray(samples[order]),
        energies=energies[order],
        num_occurrences=occ[order],
        variables=first.variables,
        vartype=first.vartype,
        info=dict(first.info if info is None else info),
    )


def _aggregate(
    samples: npt.NDArray[np.int8], energies: npt.NDArray[np.float64], occ: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float64], npt.NDArray[np.int64]]:
    m, n = samples.shape
    if m == 0 or n == 0:
        return samples[:1], energies[:1], np.array([occ.sum()], dtype=np.int64)[: min(m, 1)]
    packed = np.ascontiguousarray(np.packbits(samples > 0, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).reshape(m)
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=occ, minlength=len(first))
    return samples[first], energies[first], counts.astype(np.int64)
