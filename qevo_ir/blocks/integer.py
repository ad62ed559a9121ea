"""Full k-bit refitting of a linear layer's weights: every weight picks any level of its grid.

Where :class:`~qevo_ir.blocks.linear.LinearRounding` only chooses floor or ceil, here each
weight is a k-bit integer ``q`` on the per-channel grid, spelled in bits by an affine encoding
(offset binary, two's complement, or the same levels over spins). The objective is the same
output reconstruction error, so it is the ParameterModel ``(θ - w)ᵀ G (θ - w)`` lowered exactly.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from qevo_ir.blocks.base import GramBlock, reconstruction_error
from qevo_ir.blocks.batch import GramBatch
from qevo_ir.blocks.linear import (
    SCHEMES,
    UniformGrid,
    as_inputs,
    as_weight,
    gram_matrix,
    uniform_grid,
)
from qevo_ir.errors import ValidationError
from qevo_ir.parameter_model import ParameterModel
from qevo_ir.variables import Label
from qevo_ir.vartypes import BINARY, SPIN

__all__ = ["INTEGER_ENCODINGS", "IntegerWeights"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

INTEGER_ENCODINGS = ("uniform", "twos_complement", "spin_levels")
"""Bit encodings of a weight's grid integer (the names of ``qevo_ir.passes.encodings``)."""


class IntegerWeights(GramBlock):
    """Choose every weight's grid level freely: ``bits`` binary variables per weight.

    With grid ``[qmin, qmax]`` (``qmax - qmin = 2^bits - 1``), scale ``s_o`` and zero point
    ``z_o`` of :func:`~qevo_ir.blocks.linear.uniform_grid`, weight ``(o, i)`` decodes to
    ``s_o (q - z_o)`` with

    - ``uniform`` (offset binary): ``q = qmin + Σ_k 2^k x_k``;
    - ``twos_complement``: ``q = qmin + 2^(bits-1) - 2^(bits-1) x_top + Σ_{k<top} 2^k x_k``;
    - ``spin_levels``: the ``uniform`` levels, Hamiltonian in SPIN variables (``x = (σ+1)/2``).

    Each encoding covers exactly the grid, so no weight is clipped and nothing is constant.
    Channel ``o``'s energy is ``(w_o - ŵ_o)ᵀ G (w_o - ŵ_o)``: the combined energy equals
    :meth:`objective` (stated constant 0). Variable ``(o, i, k)`` is bit ``k`` of weight ``(o, i)``.

    Parameters
    ----------
    weight, inputs, scale, scheme:
        As for :class:`~qevo_ir.blocks.linear.LinearRounding`.
    bits:
        Bits per weight.
    encoding:
        One of :data:`INTEGER_ENCODINGS`.
    """

    kind = "integer"

    def __init__(
        self,
        weight: npt.ArrayLike,
        inputs: npt.ArrayLike,
        bits: int,
        encoding: str = "uniform",
        *,
        scale: float | npt.ArrayLike | None = None,
        scheme: str = "symmetric",
    ) -> None:
        if encoding not in INTEGER_ENCODINGS:
            raise ValidationError(
                f"encoding {encoding!r}: expected one of {', '.join(INTEGER_ENCODINGS)}"
            )
        if scheme not in SCHEMES:
            raise ValidationError(f"scheme {scheme!r}: expected one of {SCHEMES}")
        w = as_weight(weight)
        x = as_inputs(inputs, w.shape[1])
        gram = gram_matrix(x)
        grid = uniform_grid(w, bits, scale, scheme)
        b = grid.bits
        out, d = w.shape
        powers = np.ldexp(1.0, np.arange(b))
        q_base = float(grid.qmin)
        if encoding == "twos_complement":
            powers[-1] = -powers[-1]
            q_base += float(1 << (b - 1))
        index = np.repeat(np.arange(d, dtype=np.int64), b)
        bit = np.tile(np.arange(b, dtype=np.int64), d)
        step = grid.scale[:, None] * np.tile(powers, d)[None, :]  # (out, d*b)
        base = np.broadcast_to(grid.value(np.full((out, 1), q_base)), (out, d))
        free = np.ones((out, d * b), dtype=bool)
        batch = GramBatch.from_residual(gram, index, w - base, step, free)
        self._weight = w
        self._gram = gram
        self._grid = grid
        self._encoding = encoding
        self._q_base = q_base
        self._setup(
            batch,
            param_index=(np.arange(out, dtype=np.int64)[:, None] * d + index[None, :]),
            bit=np.broadcast_to(bit, (out, d * b)).copy(),
            bit_weight=step,
            base=np.array(base),
            param_shape=w.shape,
            vartype=SPIN if encoding == "spin_levels" else BINARY,
        )

    @property
    def weight(self) -> FloatArray:
        return self._weight

    @property
    def gram(self) -> FloatArray:
        return self._gram

    @property
    def grid(self) -> UniformGrid:
        return self._grid

    @property
    def encoding(self) -> str:
        return self._encoding

    @property
    def bits(self) -> int:
        return self._grid.bits

    def encode(self, levels: npt.ArrayLike) -> npt.NDArray[np.int8]:
        """Slot bits ``(out, in·bits)`` of integer grid levels ``q`` ``(out, in)``."""
        q = np.asarray(levels, dtype=np.float64)
        if q.shape != self._weight.shape:
            raise ValidationError(f"levels must have shape {self._weight.shape}, got {q.shape}")
        if not np.all((q == np.round(q)) & (q >= self._grid.qmin) & (q <= self._grid.qmax)):
            raise ValidationError(
                f"levels must be integers in [{self._grid.qmin}, {self._grid.qmax}]"
            )
        b = self.bits
        v = (q - self._q_base).astype(np.int64) % (1 << b)  # two's complement wraps negatives
        bits = (v[:, :, None] >> np.arange(b, dtype=np.int64)) & 1
        return bits.reshape(q.shape[0], -1).astype(np.int8)

    def baseline_bits(self) -> npt.NDArray[np.int8]:
        """Round-to-nearest on the grid (halves up, clipped), encoded."""
        return self.encode(self._grid.nearest(self._weight))

    def objective(self, params: npt.ArrayLike) -> float:
        """``‖X Wᵀ - X Ŵᵀ‖²_F / N`` for a candidate weight ``Ŵ``."""
        return reconstruction_error(self._gram, self._weight, params)

    def parameter_model(self) -> ParameterModel:
        """The same objective over real weights, for the ``quantize`` pass.

        ``f(θ) = Σ_o (θ_o - w_o)ᵀ G (θ_o - w_o)`` with a block-diagonal sparse ``Q`` and bounds
        ``[s_o (qmin - z_o), s_o (qmax - z_o)]``: quantizing it with this block's encoding and
        ``bits`` gives a grid of pitch ``s_o`` and, up to rounding, this block's Hamiltonian
        (parameters in the same order, bits ascending).
        """
        out, d = self._weight.shape
        q = sp.block_diag([sp.csr_matrix(self._gram)] * out, format="csr")
        g = -2.0 * (self._weight @ self._gram).reshape(-1)
        c = float(np.einsum("oi,oi->", self._weight @ self._gram, self._weight))
        lo = np.repeat(self._grid.value(np.full((out, 1), float(self._grid.qmin)))[:, 0], d)
        hi = np.repeat(self._grid.value(np.full((out, 1), float(self._grid.qmax)))[:, 0], d)
        return ParameterModel.create(
            q,
            g,
            c,
            lower=lo,
            upper=hi,
            integer=False,
            block=np.repeat(np.arange(out, dtype=np.int64), d),
        )

    def _labels(self, channel: IntArray, slot: IntArray) -> list[Label]:
        b = self.bits
        return list(zip(channel.tolist(), (slot // b).tolist(), (slot % b).tolist(), strict=True))
