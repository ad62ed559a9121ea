"""Structured pruning as a QUBO: keep exactly ``keep`` inputs of each output row of a layer.

The mask is chosen to minimise the output reconstruction error on calibration inputs; the
cardinality stays a symbolic :class:`~qevo_ir.blocks.batch.Cardinality` constraint until the
block is lowered to a Hamiltonian, where it becomes a penalty ``A (Σ m - keep)²``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.base import GramBlock, reconstruction_error
from qevo_ir.blocks.batch import Cardinality, GramBatch
from qevo_ir.blocks.linear import as_inputs, as_weight, gram_matrix
from qevo_ir.errors import ValidationError

__all__ = ["PruneMask"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class PruneMask(GramBlock):
    """Choose a keep-mask ``m_o ∈ {0, 1}^in`` for every output row ``o`` with ``Σ m_o = keep``.

    Row ``o``'s objective is ``‖X (w_o - m_o ⊙ w_o)‖² / N = e_oᵀ G e_o`` with
    ``e_o = w_o - w_o ⊙ m_o`` (the pruned part): binary least squares with ``x = m_o``, residual
    ``w_o`` at ``m = 0`` and step ``w_o``. The mask is per row (each output row keeps its own
    ``keep`` inputs), so rows are independent channels. Decoded parameters are the pruned
    weights ``m ⊙ W``; :meth:`mask` gives the mask itself.

    Lowering adds ``A_o (Σ_i m_oi - keep)²`` per row. ``penalty=None`` uses
    :meth:`~qevo_ir.blocks.base.GramBlock.default_penalty` (the largest single-flip change of
    the row's objective, the smallest value with the guarantee that some ground state is
    feasible). A "safe" very large ``A`` is not better: every coefficient of the objective
    becomes small next to the penalty, which compresses the objective's dynamic range below
    a device's precision and flattens the landscape an annealer sees. Samples are made
    feasible with :meth:`repair`.

    Parameters
    ----------
    weight:
        ``(out, in)`` weight matrix.
    inputs:
        Calibration inputs ``(N, in)``.
    keep:
        Inputs kept per row, ``0 <= keep <= in``.
    penalty:
        Penalty weight ``A`` (a scalar or one per row), or ``None`` for the default.
    """

    kind = "prune"

    def __init__(
        self,
        weight: npt.ArrayLike,
        inputs: npt.ArrayLike,
        keep: int,
        *,
        penalty: float | npt.ArrayLike | None = None,
    ) -> None:
        w = as_weight(weight)
        out, d = w.shape
        if isinstance(keep, bool) or not isinstance(keep, int | np.integer):
            raise ValidationError(f"keep must be an integer, got {keep!r}")
        if not 0 <= int(keep) <= d:
            raise ValidationError(f"keep={keep} must be in [0, {d}] (the layer has {d} inputs)")
        x = as_inputs(inputs, d)
        gram = gram_matrix(x)
        free = np.ones((out, d), dtype=bool)
        batch = GramBatch.from_residual(gram, np.arange(d, dtype=np.int64), w, w, free)
        self._weight = w
        self._gram = gram
        self._keep = int(keep)
        self._penalty = None
        if penalty is not None:
            a = np.broadcast_to(np.asarray(penalty, dtype=np.float64), (out,)).copy()
            if not (np.isfinite(a).all() and np.all(a > 0)):
                raise ValidationError("penalty must be positive and finite")
            self._penalty = a
        self._setup(
            batch,
            param_index=None,  # the dense layout: channel · in + input
            bit=np.zeros((out, d), dtype=np.int64),
            bit_weight=w.copy(),
            base=np.zeros(out * d),
            param_shape=w.shape,
            cardinality=Cardinality.create(self._keep, out),
        )

    @property
    def weight(self) -> FloatArray:
        return self._weight

    @property
    def gram(self) -> FloatArray:
        return self._gram

    @property
    def keep(self) -> int:
        return self._keep

    def default_penalty(self) -> FloatArray:
        """The ``penalty`` given at construction, else the certified flip bound per row."""
        if self._penalty is not None:
            return self._penalty
        return super().default_penalty()

    def baseline_bits(self) -> npt.NDArray[np.int8]:
        """Magnitude pruning: keep the ``keep`` largest ``|w|`` of each row (ties: lower index)."""
        order = np.argsort(-np.abs(self._weight), axis=1, kind="stable")
        mask = np.zeros(self._weight.shape, dtype=np.int8)
        np.put_along_axis(mask, order[:, : self._keep], 1, axis=1)
        return mask

    def mask(self, sample: npt.ArrayLike) -> npt.NDArray[np.bool_]:
        """The boolean ``(out, in)`` keep-mask of a sample (see ``bits_from_sample``)."""
        return self.bits_from_sample(sample).astype(bool)

    def objective(self, params: npt.ArrayLike) -> float:
        """``‖X Wᵀ - X Ŵᵀ‖²_F / N`` for pruned weights ``Ŵ`` (typically ``m ⊙ W``)."""
        return reconstruction_error(self._gram, self._weight, params)

    def objective_mask(self, mask: npt.ArrayLike) -> float:
        """:meth:`objective` of ``mask ⊙ W`` for a 0/1 ``(out, in)`` mask."""
        m = np.asarray(mask)
        if m.shape != self._weight.shape:
            raise ValidationError(f"mask must have shape {self._weight.shape}, got {m.shape}")
        return self.objective(m.astype(np.float64) * self._weight)
