"""The level above the Hamiltonian: bounded real or integer parameters and a quadratic objective.

``f(θ) = θᵀ Q θ + gᵀ θ + c`` over parameters ``θ_p ∈ [lower_p, upper_p]`` (integers where
``integer[p]``). The ``quantize`` pass lowers it to a Hamiltonian by an affine bit encoding of
each parameter; that substitution is exact algebra (``specs/passes.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from qevo_ir.coo import as_value_array
from qevo_ir.errors import ValidationError

__all__ = ["ParameterModel"]


@dataclass(frozen=True, eq=False)
class ParameterModel:
    """A quadratic objective over bounded parameters; immutable.

    ``Q`` is stored as given (dense ``ndarray`` or scipy sparse); only its symmetric part matters.
    ``block`` optionally names the model block each parameter belongs to (an int per parameter).
    """

    Q: npt.NDArray[np.float64] | sp.csr_matrix
    g: npt.NDArray[np.float64]
    c: float
    lower: npt.NDArray[np.float64]
    upper: npt.NDArray[np.float64]
    integer: npt.NDArray[np.bool_]
    names: tuple[str, ...] = ()
    block: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @classmethod
    def create(
        cls,
        Q: npt.ArrayLike | sp.spmatrix | sp.sparray,
        g: npt.ArrayLike | None = None,
        c: float = 0.0,
        *,
        lower: npt.ArrayLike | float = -1.0,
        upper: npt.ArrayLike | float = 1.0,
        integer: npt.ArrayLike | bool = False,
        names: Sequence[str] = (),
        block: npt.ArrayLike | None = None,
    ) -> ParameterModel:
        """Validate and build; scalar ``lower``/``upper``/``integer`` apply to every parameter."""
        if sp.issparse(Q):
            q_arr: npt.NDArray[np.float64] | sp.csr_matrix = sp.csr_matrix(Q, dtype=np.float64)
            shape = q_arr.shape
            data = q_arr.data
        else:
            q_arr = np.array(Q, dtype=np.float64)
            shape = q_arr.shape
            data = q_arr.ravel()
        if len(shape) != 2 or shape[0] != shape[1]:
            raise ValidationError(f"Q must be a square matrix, got shape {shape}")
        if not np.isfinite(data).all():
            raise ValidationError("Q has non-finite entries")
        p = shape[0]
        g_arr = np.zeros(p) if g is None else as_value_array(g, "g").copy()
        if len(g_arr) != p:
            raise ValidationError(f"g has length {len(g_arr)}, Q is {p}×{p}")
        lo = np.broadcast_to(np.asarray(lower, dtype=np.float64), (p,)).copy()
        hi = np.broadcast_to(np.asarray(upper, dtype=np.float64), (p,)).copy()
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
            raise ValidationError("parameter bounds must be finite")
        if np.any(lo > hi):
            k = int(np.flatnonzero(lo > hi)[0])
            raise ValidationError(f"parameter {k}: lower bound {lo[k]} > upper bound {hi[k]}")
        ints = np.broadcast_to(np.asarray(integer, dtype=bool), (p,)).copy()
        if names and len(names) != p:
            raise ValidationError(f"{len(names)} names for {p} parameters")
        blk = np.zeros(p, dtype=np.int64) if block is None else np.asarray(block, dtype=np.int64)
        if blk.shape != (p,):
            raise ValidationError(f"block has shape {blk.shape}, expected ({p},)")
        cc = float(c)
        if not np.isfinite(cc):
            raise ValidationError("constant c is not finite")
        for arr in (g_arr, lo, hi, ints, blk):
            arr.flags.writeable = False
        if isinstance(q_arr, np.ndarray):
            q_arr.flags.writeable = False
        return cls(q_arr, g_arr, cc, lo, hi, ints, tuple(names), blk)

    @property
    def num_parameters(self) -> int:
        return len(self.g)

    def objective(self, theta: npt.ArrayLike) -> float:
        """``θᵀQθ + gᵀθ + c`` at one parameter vector."""
        return float(self.objectives(np.asarray(theta, dtype=np.float64)[None, :])[0])

    def objectives(self, thetas: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The objective at each row of an ``(m, P)`` array, vectorised."""
        t = np.atleast_2d(np.asarray(thetas, dtype=np.float64))
        if t.shape[1] != self.num_parameters:
            raise ValidationError(
                f"parameter vectors have {t.shape[1]} entries, model has {self.num_parameters}"
            )
        qt = np.asarray((self.Q @ t.T).T) if sp.issparse(self.Q) else t @ self.Q.T
        return np.einsum("ij,ij->i", qt, t) + t @ self.g + self.c  # type: ignore[no-any-return]

    def symmetric_Q(self) -> sp.csr_matrix:
        """``(Q + Qᵀ)/2`` as CSR: the part of ``Q`` the objective depends on."""
        q = sp.csr_matrix(self.Q)
        return sp.csr_matrix((q + q.T) / 2)

    def to_dict(self) -> dict[str, Any]:
        q = sp.coo_matrix(self.Q)
        return {
            "num_parameters": self.num_parameters,
            "Q": {"row": q.row.tolist(), "col": q.col.tolist(), "value": q.data.tolist()},
            "g": self.g.tolist(),
            "c": self.c,
            "lower": self.lower.tolist(),
            "upper": self.upper.tolist(),
            "integer": self.integer.tolist(),
            "names": list(self.names),
            "block": self.block.tolist(),
        }
