"""AdaRound weight rounding of a 2-D convolution, reduced to the linear case by im2col.

Every output position of a convolution is a dot product of the flattened kernel with one input
patch, so with the patches as calibration rows the per-channel problem is exactly
:class:`~qevo_ir.blocks.linear.LinearRounding` on the ``(out, in·kh·kw)`` kernel.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view

from qevo_ir.blocks.linear import LinearRounding, as_weight, symmetrise_in_place
from qevo_ir.errors import LimitExceeded, ValidationError
from qevo_ir.variables import Label

__all__ = ["Conv2dRounding", "conv2d_gram", "im2col"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Patches are built this many bytes at a time when accumulating XᵀX.
_CHUNK_BYTES = 64 * 1024 * 1024


def _pair(value: int | tuple[int, int], name: str, minimum: int) -> tuple[int, int]:
    if isinstance(value, int | np.integer) and not isinstance(value, bool):
        pair = (int(value), int(value))
    elif (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in value)
    ):
        pair = (int(value[0]), int(value[1]))
    else:
        raise ValidationError(f"{name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValidationError(f"{name} must be >= {minimum}, got {value!r}")
    return pair


def im2col(
    inputs: npt.ArrayLike,
    kernel: tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> FloatArray:
    """Patches of ``inputs`` ``(N, C, H, W)`` as rows ``(N·Ho·Wo, C·kh·kw)``.

    Zero padding, then a strided sliding-window view (no Python loop); a row's columns follow
    the kernel layout ``(c, i, j)``, so ``patches @ weight.reshape(out, -1).T`` is the
    convolution (cross-correlation, as in PyTorch) at every output position ``(n, y, x)``.
    """
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 4:
        raise ValidationError(f"inputs must be (N, C, H, W), got shape {x.shape}")
    kh, kw = _pair(kernel, "kernel size", 1)
    sh, sw = _pair(stride, "stride", 1)
    ph, pw = _pair(padding, "padding", 0)
    n0, c0, h0, w0 = x.shape
    hp, wp = h0 + 2 * ph, w0 + 2 * pw
    rows = n0 * ((hp - kh) // sh + 1) * ((wp - kw) // sw + 1) if hp >= kh and wp >= kw else 0
    from qevo_ir.budget import check_memory

    check_memory(  # the padded input and the patch matrix, before either is allocated
        8.0 * (n0 * c0 * hp * wp + rows * c0 * kh * kw),
        f"im2col with padding ({ph}, {pw}) and stride ({sh}, {sw}) on inputs {x.shape}",
    )
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    n, c, h, w = x.shape
    if h < kh or w < kw:
        raise ValidationError(f"the padded input ({h}x{w}) is smaller than the kernel ({kh}x{kw})")
    win = sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]  # (N, C, Ho, Wo, kh, kw)
    ho, wo = win.shape[2], win.shape[3]
    return np.ascontiguousarray(win.transpose(0, 2, 3, 1, 4, 5)).reshape(n * ho * wo, c * kh * kw)


def conv2d_gram(
    inputs: npt.ArrayLike,
    kernel: tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
) -> tuple[FloatArray, int]:
    """``(G, rows)``: ``G = PᵀP / rows`` over every im2col patch ``P``, in chunks of images."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValidationError(f"inputs must be a non-empty (N, C, H, W) array, got {x.shape}")
    if not np.isfinite(x).all():
        raise ValidationError("inputs have non-finite entries")
    kh, kw = _pair(kernel, "kernel size", 1)
    d = x.shape[1] * kh * kw
    if d * d > 64_000_000:
        raise LimitExceeded(f"a kernel with {d} entries per channel needs a {d}x{d} Gram matrix")
    first = im2col(x[:1], (kh, kw), stride, padding)
    per_image = max(1, first.nbytes)
    step = max(1, _CHUNK_BYTES // per_image)
    gram = np.zeros((d, d))
    rows = 0
    for start in range(0, x.shape[0], step):  # a loop over chunks of images, not over terms
        p = im2col(x[start : start + step], (kh, kw), stride, padding)
        gram += p.T @ p
        rows += p.shape[0]
    gram /= rows
    symmetrise_in_place(gram, check=False)
    gram.flags.writeable = False
    return gram, rows


class Conv2dRounding(LinearRounding):
    """Round a ``Conv2d`` kernel ``(out, in, kh, kw)`` up or down per weight (AdaRound).

    The calibration inputs ``(N, in, H, W)`` become im2col patches; channel ``o``'s energy is
    ``(w_o - ŵ_o)ᵀ G (w_o - ŵ_o)`` over the flattened kernel with ``G = PᵀP / (N·Ho·Wo)``, i.e.
    the mean over every output position of the squared output error of that channel. Grid,
    clipping and baseline are those of :class:`~qevo_ir.blocks.linear.LinearRounding`; weights
    and decoded samples keep the 4-D kernel shape, and variable ``(o, c, i, j)`` is kernel
    entry ``[o, c, i, j]``. Only ``groups = 1``, ``dilation = 1`` and zero padding are modelled.
    """

    kind = "conv2d_rounding"

    def __init__(
        self,
        weight: npt.ArrayLike,
        inputs: npt.ArrayLike,
        bits: int,
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
        *,
        scale: float | npt.ArrayLike | None = None,
        scheme: str = "symmetric",
    ) -> None:
        k = np.array(weight, dtype=np.float64)
        if k.ndim != 4:
            raise ValidationError(f"weight must be (out, in, kh, kw), got shape {k.shape}")
        x = np.asarray(inputs, dtype=np.float64)
        if x.ndim != 4 or x.shape[1] != k.shape[1]:
            raise ValidationError(
                f"inputs must be (N, {k.shape[1]}, H, W) to match the kernel, got {x.shape}"
            )
        self._kernel_shape = (int(k.shape[2]), int(k.shape[3]))
        self._stride = _pair(stride, "stride", 1)
        self._padding = _pair(padding, "padding", 0)
        gram, rows = conv2d_gram(x, self._kernel_shape, self._stride, self._padding)
        self._rows = rows
        w2 = as_weight(k.reshape(k.shape[0], -1))
        self._build(w2, gram, bits, scale, scheme, tuple(k.shape))

    @property
    def stride(self) -> tuple[int, int]:
        return self._stride

    @property
    def padding(self) -> tuple[int, int]:
        return self._padding

    @property
    def num_rows(self) -> int:
        """Calibration rows: images times output positions."""
        return self._rows

    def _labels(self, channel: IntArray, slot: IntArray) -> list[Label]:
        _, _c, kh, kw = self.param_shape
        ci, rest = np.divmod(slot, kh * kw)
        ii, jj = np.divmod(rest, kw)
        return list(zip(channel.tolist(), ci.tolist(), ii.tolist(), jj.tolist(), strict=True))
