"""Build blocks from PyTorch modules (optional extra ``torch``; imported only when called).

The adapters copy a module's weight to numpy (float64, CPU) and reuse the numpy blocks; nothing
here runs the module, so calibration inputs are the tensors that reach it (collect them with a
forward hook).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.conv import Conv2dRounding
from qevo_ir.blocks.linear import LinearRounding
from qevo_ir.errors import ValidationError
from qevo_ir.plugins import require

if TYPE_CHECKING:
    from qevo_ir.blocks.solve import BlockSolution

__all__ = [
    "apply_solution",
    "conv2d_support",
    "from_torch_conv2d",
    "from_torch_linear",
    "to_numpy",
    "write_weight",
]


def to_numpy(value: Any, what: str = "tensor") -> npt.NDArray[np.float64]:
    """A float64 numpy copy of a tensor (detached, on the CPU) or of an array-like."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().double().numpy()
    try:
        return np.array(value, dtype=np.float64, order="C")
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{what}: cannot be read as a numeric array ({exc})") from None


def from_torch_linear(
    module: Any,
    inputs: Any = None,
    bits: int = 4,
    *,
    scale: float | npt.ArrayLike | None = None,
    scheme: str = "symmetric",
    gram: npt.ArrayLike | None = None,
) -> LinearRounding:
    """A :class:`~qevo_ir.blocks.linear.LinearRounding` for a ``torch.nn.Linear``.

    ``inputs``: the calibration inputs that reach the layer, ``(..., in_features)`` (tensor or
    array). Or, instead of ``inputs``, ``gram``: a precomputed ``XᵀX / N``
    ``(in_features, in_features)`` (what :func:`~qevo_ir.blocks.quantize_model` accumulates, so
    the inputs themselves are never held). The bias does not enter the reconstruction error and
    is left as it is.
    """
    torch = require("torch", "torch")
    if not isinstance(module, torch.nn.Linear):
        raise ValidationError(f"expected a torch.nn.Linear, got {type(module).__name__}")
    weight = to_numpy(module.weight, "module.weight")
    if (inputs is None) == (gram is None):
        raise ValidationError("from_torch_linear takes exactly one of inputs and gram")
    if gram is not None:
        # to_numpy made a fresh copy: the block adopts it rather than copying it again
        own = to_numpy(gram, "gram")
        return LinearRounding.from_gram(weight, own, bits, scale, scheme=scheme, copy=False)
    return LinearRounding(weight, to_numpy(inputs, "inputs"), bits, scale, scheme=scheme)


def from_torch_conv2d(
    module: Any,
    inputs: Any,
    bits: int = 4,
    *,
    scale: float | npt.ArrayLike | None = None,
    scheme: str = "symmetric",
) -> Conv2dRounding:
    """A :class:`~qevo_ir.blocks.conv.Conv2dRounding` for a ``torch.nn.Conv2d``.

    Supported: ``groups = 1``, ``dilation = 1``, ``padding_mode = "zeros"``, integer or pair
    padding (``"valid"`` too); other settings raise :class:`~qevo_ir.errors.ValidationError`.
    ``inputs`` is ``(N, in_channels, H, W)``.
    """
    torch = require("torch", "torch")
    if not isinstance(module, torch.nn.Conv2d):
        raise ValidationError(f"expected a torch.nn.Conv2d, got {type(module).__name__}")
    why = conv2d_support(module)
    if why is not None:
        raise ValidationError(why)
    padding: Any = (0, 0) if module.padding == "valid" else module.padding
    weight = to_numpy(module.weight, "module.weight")
    return Conv2dRounding(
        weight,
        to_numpy(inputs, "inputs"),
        bits,
        stride=(int(module.stride[0]), int(module.stride[1])),
        padding=(int(padding[0]), int(padding[1])),
        scale=scale,
        scheme=scheme,
    )


def conv2d_support(module: Any) -> str | None:
    """``None`` if :func:`from_torch_conv2d` models this ``Conv2d``, else the reason it does not."""
    if module.groups != 1:
        return f"Conv2d with groups={module.groups} is not supported (only 1)"
    if tuple(module.dilation) != (1, 1):
        return f"Conv2d with dilation={module.dilation} is not supported"
    if module.padding_mode != "zeros":
        return f"Conv2d padding_mode={module.padding_mode!r} is not supported"
    if isinstance(module.padding, str) and module.padding != "valid":
        return f"Conv2d padding={module.padding!r} is not supported; use integers"
    return None


def write_weight(module: Any, weight: npt.ArrayLike, what: str = "weight") -> Any:
    """Copy ``weight`` into ``module.weight`` in place (its dtype and device kept); the module.

    ``weight`` must have as many entries as ``module.weight`` (it is reshaped to its shape) and
    be finite; the bias and every other parameter are left alone.
    """
    torch = require("torch", "torch")
    target = getattr(module, "weight", None)
    if not isinstance(target, torch.Tensor):
        raise ValidationError(f"{type(module).__name__} has no weight tensor to write {what} to")
    w = np.asarray(weight, dtype=np.float64)
    if w.size != target.numel():
        raise ValidationError(
            f"{what} has {w.size} entries; the module's weight has shape {tuple(target.shape)}"
        )
    if not np.isfinite(w).all():
        raise ValidationError(f"{what} has non-finite entries")
    new = torch.from_numpy(np.ascontiguousarray(w.reshape(tuple(target.shape))))
    with torch.no_grad():
        target.copy_(new.to(dtype=target.dtype, device=target.device))
    return module


def apply_solution(solution: BlockSolution, module: Any) -> Any:
    """Write one layer's rounded weights (``solution.weights``) into ``module`` in place.

    The body of ``BlockSolution.apply_to``: ``module`` is the ``torch.nn.Linear`` or ``Conv2d``
    the block was built from (any module with a ``weight`` of the same size works); its bias,
    dtype and device are kept. Returns ``module``.
    """
    return write_weight(module, solution.weights, f"the {solution.method} solution")
