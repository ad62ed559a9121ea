"""Binary least squares, ``min_x ‖b - A x‖² / N`` over ``x ∈ {0, 1}^n``: the QUBO every block is.

Expanding the square with ``x_i² = x_i`` gives the QUBO exactly (no approximation, no constant
left over), which is the identity the model blocks build on (``specs/blocks.md``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.batch import GramBatch
from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.variables import VariableTable
from qevo_ir.vartypes import BINARY

__all__ = ["BinaryLeastSquares"]

FloatArray = npt.NDArray[np.float64]


class BinaryLeastSquares:
    """``E(x) = ‖b - A x‖² / N`` for ``A`` of shape ``(N, n)`` and ``b`` of length ``N``.

    As a QUBO with ``G = AᵀA / N``: ``linear_i = G_ii - 2 (Aᵀb)_i / N``, couplings
    ``J_ij = 2 G_ij`` (``i < j``) and ``offset = bᵀb / N``; the Hamiltonian's energy equals
    :meth:`objective` for every ``x``.

    Parameters
    ----------
    A:
        Design matrix ``(N, n)``, finite, ``N >= 1``.
    b:
        Target vector ``(N,)``, finite.
    """

    def __init__(self, A: npt.ArrayLike, b: npt.ArrayLike) -> None:
        a = np.array(A, dtype=np.float64)
        v = np.array(b, dtype=np.float64)
        if a.ndim != 2:
            raise ValidationError(f"A must be a 2-D (N, n) array, got shape {a.shape}")
        if v.shape != (a.shape[0],):
            raise ValidationError(f"b must have shape ({a.shape[0]},) to match A, got {v.shape}")
        if a.shape[0] == 0:
            raise ValidationError("A has no rows: the mean squared error needs N >= 1")
        if not (np.isfinite(a).all() and np.isfinite(v).all()):
            raise ValidationError("A and b must be finite")
        a.flags.writeable = False
        v.flags.writeable = False
        self._A = a
        self._b = v
        n_rows = a.shape[0]
        self._gram: FloatArray = (a.T @ a) / n_rows
        linear = np.diagonal(self._gram) - 2.0 * (a.T @ v) / n_rows
        self._batch = GramBatch.create(
            self._gram,
            np.arange(a.shape[1], dtype=np.int64),
            np.ones((1, a.shape[1])),
            linear[None, :],
            np.array([float(v @ v) / n_rows]),
        )

    @property
    def A(self) -> FloatArray:
        return self._A

    @property
    def b(self) -> FloatArray:
        return self._b

    @property
    def num_variables(self) -> int:
        return int(self._A.shape[1])

    @property
    def gram(self) -> FloatArray:
        """``AᵀA / N``."""
        return self._gram

    @property
    def batch(self) -> GramBatch:
        """The problem as a one-channel :class:`~qevo_ir.blocks.batch.GramBatch`."""
        return self._batch

    def objective(self, x: npt.ArrayLike) -> float | FloatArray:
        """``‖b - A x‖² / N`` for one ``x`` of length ``n`` (a float) or rows ``(m, n)``."""
        arr = np.asarray(x, dtype=np.float64)
        if arr.shape[-1:] != (self.num_variables,) or arr.ndim > 2:
            raise ValidationError(
                f"x must have shape ({self.num_variables},) or (m, {self.num_variables}), "
                f"got {arr.shape}"
            )
        resid = self._b[:, None] - self._A @ np.atleast_2d(arr).T
        values = np.einsum("nm,nm->m", resid, resid) / self._A.shape[0]
        return float(values[0]) if arr.ndim == 1 else values

    def hamiltonian(self) -> Hamiltonian:
        """The BINARY Hamiltonian over variables ``0..n-1`` (dense couplings, zeros dropped)."""
        t = self._batch.terms()
        return Hamiltonian._trusted(
            BINARY, t.linear, t.row, t.col, t.quad, t.offset, VariableTable.range(len(t.linear))
        )
