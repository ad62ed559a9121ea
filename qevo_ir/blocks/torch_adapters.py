"""Build blocks from PyTorch modules (optional extra ``torch``; imported only when called).

The adapters copy a module's weight to numpy (float64, CPU) and reuse the numpy blocks; nothing
here runs the module, so calibration inputs are the tensors that reach it (collect them with a
forward hook).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.conv import Conv2dRounding
from qevo_ir.blocks.linear import LinearRounding
from qevo_ir.errors import ValidationError
from qevo_ir.plugins import require

__all__ = ["from_torch_conv2d", "from_torch_linear", "to_numpy"]


def to_numpy(value: Any, what: str = "tensor") -> npt.NDArray[np.float64]:
    """A float64 numpy copy of a tensor (detached, on the CPU) or of an array-like."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().double().numpy()
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{what}: cannot be read as a numeric array ({exc})") from None


def from_torch_linear(
    module: Any,
    inputs: Any,
    bits: int = 4,
    *,
    scale: float | npt.ArrayLike | None = None,
    scheme: str = "symmetric",
) -> LinearRounding:
    """A :class:`~qevo_ir.blocks.linear.LinearRounding` for a ``torch.nn.Linear``.

    ``inputs``: the calibration inputs that reach the layer, ``(..., in_features)`` (tensor or
    array). The bias does not enter the reconstruction error and is left as it is.
    """
    torch = require("torch", "torch")
    if not isinstance(module, torch.nn.Linear):
        raise ValidationError(f"expected a torch.nn.Linear, got {type(module).__name__}")
    weight = to_numpy(module.weight, "module.weight")
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
    if module.groups != 1:
        raise ValidationError(f"Conv2d with groups={module.groups} is not supported (only 1)")
    if tuple(module.dilation) != (1, 1):
        raise ValidationError(f"Conv2d with dilation={module.dilation} is not supported")
    if module.padding_mode != "zeros":
        raise ValidationError(f"Conv2d padding_mode={module.padding_mode!r} is not supported")
    padding: Any = module.padding
    if padding == "valid":
        padding = (0, 0)
    elif isinstance(padding, str):
        raise ValidationError(f"Conv2d padding={padding!r} is not supported; use integers")
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
