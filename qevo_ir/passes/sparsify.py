"""The ``sparsify`` pass: drop weak couplings, with a certified bound on the energy change.

A coupling is kept when it passes every rule given (absolute threshold, threshold relative to
``max|J|``, top-k of either endpoint). The bound is ``Σ|dropped J|`` for SPIN and the tighter
``max(Σ dropped⁺, Σ|dropped⁻|)`` for BINARY (proofs in ``specs/passes.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import PipelineError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.passes.base import CompilerPass, PassOutput, register_pass
from qevo_ir.vartypes import SPIN

__all__ = ["Sparsify", "drop_bound", "topk_mask"]


def topk_mask(
    n: int, row: npt.NDArray[np.int64], col: npt.NDArray[np.int64], quad: npt.NDArray[Any], k: int
) -> npt.NDArray[np.bool_]:
    """Couplings that are among the ``k`` largest ``|J|`` of at least one of their endpoints.

    Ties in ``|J|`` are broken by coupling index (the canonical order), so the rule is
    deterministic. Vectorised: one ``lexsort`` of the ``2m`` (variable, coupling) incidences.
    """
    m = len(quad)
    keep = np.zeros(m, dtype=bool)
    if m == 0 or k <= 0:
        return keep
    ends = np.concatenate([row, col])
    ids = np.concatenate([np.arange(m), np.arange(m)])
    mags = np.abs(np.concatenate([quad, quad]))
    order = np.lexsort((ids, -mags, ends))  # by variable, then |J| descending, then index
    ends_sorted = ends[order]
    first = np.searchsorted(ends_sorted, np.arange(n))
    rank = np.arange(2 * m) - first[ends_sorted]
    keep[ids[order[rank < k]]] = True
    return keep


def drop_bound(dropped: npt.NDArray[np.float64], vartype_is_spin: bool) -> float:
    """The certified bound on ``|ΔE|`` of removing the couplings ``dropped``.

    SPIN: ``Σ|J|`` (each ``s_i s_j = ±1``). BINARY: ``max(Σ q⁺, Σ|q⁻|)``: each product
    ``x_i x_j ∈ {0, 1}``, so ``Σ q_k x_i x_j`` lies in ``[Σ q⁻, Σ q⁺]``.
    """
    if vartype_is_spin:
        return float(np.abs(dropped).sum())
    pos = float(dropped[dropped > 0].sum())
    neg = float(-dropped[dropped < 0].sum())
    return max(pos, neg)


@register_pass
@dataclass(frozen=True)
class Sparsify(CompilerPass):
    """Drop weak couplings: |J| < abs, |J| < rel·max|J|, or outside both endpoints' top-k (lossy).

    Options: ``abs`` (absolute threshold), ``rel`` (threshold relative to ``max|J|``), ``topk``
    (keep a coupling if it is among the ``topk`` largest ``|J|`` of either endpoint). A coupling is
    kept only if every given rule keeps it; with no option the pass changes nothing.
    """

    name = "sparsify"
    exact = False

    abs: float | None = None
    rel: float | None = None
    topk: int | None = None

    def __post_init__(self) -> None:
        for opt in ("abs", "rel"):
            v = getattr(self, opt)
            if v is not None and not (np.isfinite(v) and v >= 0):
                raise PipelineError(f"sparsify: {opt}={v} must be a finite number >= 0")
        if self.topk is not None and self.topk < 1:
            raise PipelineError(f"sparsify: topk={self.topk} must be at least 1")

    def keep_mask(self, ham: Hamiltonian) -> npt.NDArray[np.bool_]:
        """Which couplings of ``ham`` survive (``True`` = kept)."""
        q = ham.quad
        mag = np.abs(q)
        keep = np.ones(len(q), dtype=bool)
        if self.abs is not None:
            keep &= mag >= self.abs
        if self.rel is not None and len(q):
            keep &= mag >= self.rel * float(mag.max())
        if self.topk is not None:
            keep &= topk_mask(ham.num_variables, ham.row, ham.col, q, self.topk)
        return keep

    def apply(self, ir: Any) -> PassOutput:
        ham: Hamiltonian = ir
        keep = self.keep_mask(ham)
        q = ham.quad
        dropped = q[~keep]
        bound = drop_bound(dropped, ham.vartype is SPIN)
        out = ham
        if not keep.all():
            out = Hamiltonian._trusted(
                ham.vartype,
                ham.linear,
                ham.row[keep],
                ham.col[keep],
                q[keep],
                ham.offset,
                ham.variables,
            )
        l1 = float(np.abs(q).sum())
        l2 = float(np.sqrt(np.square(q).sum()))
        details = {
            "dropped": int(dropped.size),
            "kept": int(np.count_nonzero(keep)),
            "dropped_l1_share": float(np.abs(dropped).sum()) / l1 if l1 else 0.0,
            "dropped_l2_share": float(np.sqrt(np.square(dropped).sum())) / l2 if l2 else 0.0,
            "bound_rule": "sum |J|" if ham.vartype is SPIN else "max(sum q+, sum |q-|)",
        }
        return PassOutput(ir=out, energy_bound=bound, details=details)
