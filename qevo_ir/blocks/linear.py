"""AdaRound-style weight rounding of a linear layer as one QUBO per output channel.

Nagel et al. 2020 ("Up or Down? Adaptive Rounding for Post-Training Quantization",
arXiv:2004.10568): each weight rounds down or up on a uniform grid, and the choice minimises the
layer's output error on calibration inputs, ``‖X w_o - X ŵ_o‖² / N``: a binary least-squares
problem per channel whose couplings come from ``G = XᵀX / N``, stored once for all channels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.base import GramBlock, reconstruction_error
from qevo_ir.blocks.batch import GramBatch
from qevo_ir.errors import LimitExceeded, ValidationError

__all__ = [
    "MAX_BITS",
    "SCHEMES",
    "LinearRounding",
    "UniformGrid",
    "as_inputs",
    "as_weight",
    "gram_matrix",
    "symmetrise_in_place",
    "uniform_grid",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

SCHEMES = ("symmetric", "asymmetric")
MAX_BITS = 16
"""Grids finer than 2**16 levels gain nothing from rounding choices and are refused."""

_MAX_GRAM_ELEMENTS = 64_000_000  # a 8000 x 8000 float64 Gram matrix is 512 MB


@dataclass(frozen=True, eq=False)
class UniformGrid:
    """A per-channel uniform quantiser: channel ``o`` represents ``scale[o] (q - zero_point[o])``.

    ``q`` is an integer in ``[qmin, qmax]``: ``[-2^(bits-1), 2^(bits-1) - 1]`` with zero point 0
    (symmetric) or ``[0, 2^bits - 1]`` (asymmetric).
    """

    bits: int
    scheme: str
    scale: FloatArray
    zero_point: IntArray
    qmin: int
    qmax: int

    def coordinates(self, weight: FloatArray) -> FloatArray:
        """Real grid coordinates ``w / scale + zero_point`` of a ``(out, in)`` weight."""
        return weight / self.scale[:, None] + self.zero_point[:, None]

    def value(self, q: npt.ArrayLike) -> FloatArray:
        """The weight value ``scale (q - zero_point)`` of integer grid points ``(out, in)``."""
        qa = np.asarray(q, dtype=np.float64)
        return self.scale[:, None] * (qa - self.zero_point[:, None])

    def nearest(self, weight: FloatArray) -> FloatArray:
        """Round-to-nearest (halves up), clipped to the grid: integer grid points as floats."""
        return np.clip(np.floor(self.coordinates(weight) + 0.5), self.qmin, self.qmax)


def as_weight(weight: npt.ArrayLike, what: str = "weight") -> FloatArray:
    """A finite 2-D float64 ``(out, in)`` weight matrix (copied, read-only)."""
    if np.iscomplexobj(weight):
        raise ValidationError(f"{what} is complex; weights must be real")
    w = np.array(weight, dtype=np.float64)
    if w.ndim != 2 or 0 in w.shape:
        raise ValidationError(f"{what} must be a non-empty 2-D (out, in) array, got {w.shape}")
    if not np.isfinite(w).all():
        raise ValidationError(f"{what} has non-finite entries")
    w.flags.writeable = False
    return w


def as_inputs(inputs: npt.ArrayLike, num_inputs: int, what: str = "inputs") -> FloatArray:
    """Calibration inputs as a finite ``(N, in)`` float64 array (leading axes flattened)."""
    if np.iscomplexobj(inputs):
        raise ValidationError(f"{what} are complex; calibration inputs must be real")
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim < 2 or x.shape[-1] != num_inputs:
        raise ValidationError(
            f"{what} must have shape (N, {num_inputs}) to match the weight, got {x.shape}"
        )
    x = x.reshape(-1, num_inputs)
    if x.shape[0] == 0:
        raise ValidationError(f"{what} has no rows; at least one calibration input is needed")
    if not np.isfinite(x).all():
        raise ValidationError(f"{what} has non-finite entries")
    return x


def gram_matrix(inputs: FloatArray) -> FloatArray:
    """``G = XᵀX / N``, symmetrised exactly, read-only."""
    n, d = inputs.shape
    if d * d > _MAX_GRAM_ELEMENTS:
        raise LimitExceeded(
            f"a layer with {d} inputs needs a {d}x{d} Gram matrix; the limit is "
            f"{_MAX_GRAM_ELEMENTS} entries"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        g: FloatArray = inputs.T @ inputs
        g /= n
    if not np.isfinite(g).all():
        raise ValidationError(
            "the calibration inputs are too large: XᵀX/N overflows float64 (scale them down)"
        )
    symmetrise_in_place(g, check=False)
    g.flags.writeable = False
    return g


def uniform_grid(
    weight: FloatArray,
    bits: int,
    scale: float | npt.ArrayLike | None = None,
    scheme: str = "symmetric",
) -> UniformGrid:
    """The per-channel grid for ``weight`` ``(out, in)``.

    Default scales: symmetric ``s_o = max|w_o| / (2^(bits-1) - 1)`` (so the largest magnitude is
    a grid point and the most negative level ``-2^(bits-1)`` is only reached by rounding);
    asymmetric ``s_o = (max(w_o, 0) - min(w_o, 0)) / (2^bits - 1)`` with zero point
    ``round(-min(w_o, 0) / s_o)`` (zero is always representable). An all-zero channel gets
    ``s_o = 1``. A given ``scale`` (scalar or one per channel, positive) is used as is; the
    asymmetric zero point is then derived from it and clipped to the grid.
    """
    if scheme not in SCHEMES:
        raise ValidationError(f"scheme {scheme!r}: expected one of {SCHEMES}")
    if isinstance(bits, bool) or not isinstance(bits, int | np.integer):
        raise ValidationError(f"bits must be an integer, got {bits!r}")
    low = 2 if scheme == "symmetric" else 1
    if not low <= int(bits) <= MAX_BITS:
        raise ValidationError(
            f"bits={bits} is out of range for the {scheme} grid: expected {low}..{MAX_BITS}"
        )
    b = int(bits)
    out = weight.shape[0]
    if scheme == "symmetric":
        qmin, qmax = -(1 << (b - 1)), (1 << (b - 1)) - 1
    else:
        qmin, qmax = 0, (1 << b) - 1
    lo = np.minimum(weight.min(axis=1), 0.0)
    hi = np.maximum(weight.max(axis=1), 0.0)
    if scale is None:
        if scheme == "symmetric":
            s = np.maximum(np.abs(lo), hi) / qmax
        else:
            s = (hi - lo) / qmax
        s = np.where(s > 0, s, 1.0)
    else:
        given = np.asarray(scale, dtype=np.float64)
        if given.ndim > 1 or given.size not in (1, out):
            raise ValidationError(
                f"scale must be a scalar or one value per channel ({out}), got shape {given.shape}"
            )
        s = np.broadcast_to(given.reshape(-1) if given.ndim else given, (out,)).copy()
        if not (np.isfinite(s).all() and np.all(s > 0)):
            raise ValidationError("scale must be positive and finite (a scalar or one per channel)")
    if scheme == "symmetric":
        z = np.zeros(out, dtype=np.int64)
    else:
        z = np.clip(np.floor(-lo / s + 0.5), qmin, qmax).astype(np.int64)
    s.flags.writeable = False
    z.flags.writeable = False
    return UniformGrid(b, scheme, s, z, qmin, qmax)


class LinearRounding(GramBlock):
    """Round each weight of a linear layer down or up on a per-channel uniform grid (AdaRound).

    For weight ``w`` of channel ``o`` with grid coordinate ``t = w / s_o + z_o``, the variable
    ``x`` picks ``ŵ = s_o (floor(t) + x - z_o)``: ``x = 0`` rounds down, ``x = 1`` up. A weight
    whose two candidates are not both on the grid (``floor(t) < qmin`` or
    ``floor(t) + 1 > qmax``) is clipped to the nearest grid end and becomes a constant (no
    variable). Channel ``o``'s energy is ``(w_o - ŵ_o)ᵀ G (w_o - ŵ_o)`` with
    ``G = XᵀX / N``, so the combined Hamiltonian's energy is exactly
    ``‖X Wᵀ - X Ŵᵀ‖²_F / N`` (:meth:`objective`; stated constant 0).

    Parameters
    ----------
    weight:
        ``(out, in)`` weight matrix (``torch.nn.Linear.weight`` layout).
    inputs:
        Calibration inputs ``(N, in)`` (leading axes are flattened).
    bits:
        Grid bits, ``2..16`` symmetric or ``1..16`` asymmetric.
    scale:
        Per-channel scale (scalar or ``(out,)``); ``None`` for the default of
        :func:`uniform_grid`.
    scheme:
        ``"symmetric"`` (default) or ``"asymmetric"``.
    """

    kind = "rounding"
    _free: npt.NDArray[np.bool_]

    def __init__(
        self,
        weight: npt.ArrayLike,
        inputs: npt.ArrayLike,
        bits: int,
        scale: float | npt.ArrayLike | None = None,
        *,
        scheme: str = "symmetric",
    ) -> None:
        w = as_weight(weight)
        x = as_inputs(inputs, w.shape[1])
        self._build(w, gram_matrix(x), bits, scale, scheme, w.shape)

    @classmethod
    def from_gram(
        cls,
        weight: npt.ArrayLike,
        gram: npt.ArrayLike,
        bits: int,
        scale: float | npt.ArrayLike | None = None,
        *,
        scheme: str = "symmetric",
        copy: bool = True,
    ) -> LinearRounding:
        """Build from a precomputed ``G = XᵀX / N`` (symmetric, ``(in, in)``).

        ``copy=False`` adopts ``gram`` (a writeable C-ordered float64 array) instead of copying
        it: it is symmetrised in place and made read-only, which saves one Gram-sized copy on a
        large layer (what :func:`~qevo_ir.blocks.quantize_model` does).
        """
        self = cls.__new__(cls)
        w = as_weight(weight)
        self._build(w, _as_gram(gram, w.shape[1], copy=copy), bits, scale, scheme, w.shape)
        return self

    def _build(
        self,
        w: FloatArray,
        gram: FloatArray,
        bits: int,
        scale: float | npt.ArrayLike | None,
        scheme: str,
        param_shape: tuple[int, ...],
    ) -> None:
        grid = uniform_grid(w, bits, scale, scheme)
        low = np.floor(grid.coordinates(w))
        free = (low >= grid.qmin) & (low + 1 <= grid.qmax)
        # clipped weights: the nearer grid end (t < qmin or t >= qmax here)
        np.clip(low, grid.qmin, grid.qmax, out=low)  # no-op on free weights
        base = grid.value(low)
        del low
        out, d = w.shape
        # One step per channel and one bit per weight: read-only broadcast views, no copies.
        step = np.broadcast_to(grid.scale[:, None], (out, d))
        free.flags.writeable = False
        self._weight = w
        self._gram = gram
        self._grid = grid
        self._free = free
        self._setup(
            None,  # the QUBO (GramBatch) is built on first use: GPTQ and nearest never need it
            param_index=None,  # the dense layout: channel · in + input
            bit=np.broadcast_to(np.zeros(1, dtype=np.int64), (out, d)),
            bit_weight=step,
            base=base,
            param_shape=param_shape,
        )

    @property
    def _batch(self) -> GramBatch:
        """The per-channel QUBOs, built from the weights, base and Gram on first use (two
        float64 arrays of the weight's size, and their temporaries, only when a method or a
        lowering needs them)."""
        built: GramBatch | None = self.__dict__.get("_built_batch")
        if built is None:
            w2 = self._weight.reshape(self._free.shape)
            d = int(self._gram.shape[0])
            residual = w2 - self._base.reshape(w2.shape)
            step = np.broadcast_to(self._grid.scale[:, None], w2.shape)
            index = np.arange(d, dtype=np.int64)
            built = GramBatch.from_residual(self._gram, index, residual, step, self._free)
            self.__dict__["_built_batch"] = built
        return built

    @_batch.setter
    def _batch(self, value: GramBatch | None) -> None:
        self.__dict__["_built_batch"] = value

    @property
    def num_channels(self) -> int:
        return int(self._free.shape[0])

    @property
    def num_variables(self) -> int:
        """Variables of the combined Hamiltonian (free slots of every channel)."""
        return int(np.count_nonzero(self._free))

    # ------------------------------------------------------------------ accessors
    @property
    def weight(self) -> FloatArray:
        """The float weight, as given (read-only)."""
        return self._weight.reshape(self.param_shape)

    @property
    def gram(self) -> FloatArray:
        """``G = XᵀX / N`` over the (flattened) inputs."""
        return self._gram

    @property
    def grid(self) -> UniformGrid:
        return self._grid

    @property
    def free(self) -> npt.NDArray[np.bool_]:
        """``(out, in)``: which weights have a rounding choice (the others are clipped)."""
        return self._free

    # ------------------------------------------------------------------ semantics
    def baseline_bits(self) -> npt.NDArray[np.int8]:
        """Round-to-nearest: ``x = 1`` where the fractional part is at least 1/2."""
        t = self._grid.coordinates(self._weight)
        return ((t - np.floor(t) >= 0.5) & self._free).astype(np.int8)

    def decode_bits(self, bits: npt.ArrayLike) -> FloatArray:
        """Weights from slot bits ``(out, in)`` (or ``(r, out, in)``): ``base + step · x``
        (the general scatter of :class:`GramBlock`, without its index arrays)."""
        x = self._batch.check_bits(bits)
        out: FloatArray = x  # a fresh float array: scaled in place
        out *= self._batch.scale  # the step, zero on clipped weights
        out += self._base.reshape(self._batch.free.shape)
        return out.reshape(*x.shape[:-2], *self.param_shape)

    def objective(self, params: npt.ArrayLike) -> float:
        """``‖X Wᵀ - X Ŵᵀ‖²_F / N`` for a candidate weight ``Ŵ`` shaped like ``weight``."""
        return reconstruction_error(self._gram, self._weight, params)

    def channel_objectives(self, params: npt.ArrayLike) -> FloatArray:
        """Per output channel ``(w_o - ŵ_o)ᵀ G (w_o - ŵ_o)``: ``(out,)``, summing to
        :meth:`objective`."""
        cand = np.asarray(params, dtype=np.float64)
        if cand.size != self._weight.size:
            raise ValidationError(
                f"weights have {cand.size} entries; the block's weight has shape {self.param_shape}"
            )
        err = self._weight - cand.reshape(self._weight.shape)
        out: FloatArray = np.einsum("oi,oi->o", err @ self._gram, err)
        return out

    def codes(self, params: npt.ArrayLike) -> IntArray:
        """Integer grid codes ``q`` ``(out, in)`` of weights on the grid (``ŵ = s (q - z)``).

        Raises :class:`ValidationError` if a weight is not on its channel's grid (to 1e-6 of a
        step) or outside ``[qmin, qmax]``.
        """
        cand = np.asarray(params, dtype=np.float64).reshape(self._weight.shape)
        t = self._grid.coordinates(cand)
        q = np.rint(t)
        if not (np.isfinite(t).all() and np.all(np.abs(t - q) <= 1e-6)):
            raise ValidationError("weights are not on the block's grid (scale (q - zero_point))")
        if q.size and (q.min() < self._grid.qmin or q.max() > self._grid.qmax):
            raise ValidationError(
                f"weights leave the grid range [{self._grid.qmin}, {self._grid.qmax}]"
            )
        return q.astype(np.int64)

    def bits_from_codes(self, codes: npt.ArrayLike) -> npt.NDArray[np.int8]:
        """Slot bits of grid codes: ``x = 1`` where a free weight's code is above its floor.

        Exact (``decode_bits`` gives the codes back) where every code is the floor or the ceil
        of the weight's coordinate; other levels (GPTQ's) are projected to the nearer of the two.
        """
        q = np.asarray(codes, dtype=np.float64).reshape(self._weight.shape)
        low = np.floor(self._grid.coordinates(self._weight))
        return ((q > low) & self._free).astype(np.int8)


def _as_gram(gram: npt.ArrayLike, d: int, *, copy: bool = True) -> FloatArray:
    """A read-only, exactly symmetric float64 Gram matrix: ``gram`` copied, or (``copy=False``,
    a writeable C-ordered float64 array) symmetrised in place and adopted."""
    if copy:
        g = np.array(gram, dtype=np.float64, order="C")
    else:
        g = np.asarray(gram)
        if not (
            isinstance(g, np.ndarray)
            and g.dtype == np.float64
            and g.flags.c_contiguous
            and g.flags.writeable
        ):
            raise ValidationError(
                "gram with copy=False must be a writeable C-ordered float64 array"
            )
    if g.shape != (d, d):
        raise ValidationError(f"gram must have shape ({d}, {d}) to match the weight, got {g.shape}")
    if not np.isfinite(g).all():
        raise ValidationError("gram has non-finite entries")
    symmetrise_in_place(g, check=True)
    g.flags.writeable = False
    return g


def symmetrise_in_place(g: FloatArray, *, check: bool) -> None:
    """``g ← (g + gᵀ) / 2`` in place, a band of rows at a time (temporaries of a few MB, not
    of ``g``'s size). ``check``: first refuse a ``g`` that is not symmetric to
    ``rtol=1e-10``, ``atol=1e-12·max|g|`` (``g`` is then left as it was)."""
    d = g.shape[0]
    rows = max(1, (1 << 19) // max(d, 1))  # bands of about 4 MB
    if check:
        atol = 1e-12 * max(1.0, float(g.max(initial=0.0)), -float(g.min(initial=0.0)))
        for i in range(0, d, rows):
            j = min(i + rows, d)
            upper, lower = g[i:j, i:], g[i:, i:j].T
            if not np.all(np.abs(upper - lower) <= atol + 1e-10 * np.abs(lower)):
                raise ValidationError("gram must be symmetric (XᵀX / N)")
    for i in range(0, d, rows):
        j = min(i + rows, d)
        mean = g[i:j, i:] + g[i:, i:j].T
        mean *= 0.5
        g[i:j, i:] = mean
        g[i:, i:j] = mean.T
