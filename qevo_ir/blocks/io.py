"""Reading a model block from an ``.npz`` file (``qevo compile-block``), without pickle.

The file holds the arrays ``weight`` and ``inputs`` and optional 0-d option arrays: ``kind``
(``linear`` (default), ``integer``, ``conv2d``, ``prune``), ``bits``, ``scheme``, ``encoding``,
``stride``, ``padding``, ``keep``, ``scale``. See ``specs/blocks.md``.
"""

from __future__ import annotations

import math
import os
import zipfile
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.blocks.base import GramBlock
from qevo_ir.errors import FormatError

__all__ = ["BLOCK_KINDS", "MAX_BLOCK_FILE_BYTES", "read_block_npz"]

BLOCK_KINDS = ("linear", "integer", "conv2d", "prune")
MAX_BLOCK_FILE_BYTES = 2 << 30
_ARRAYS = {"weight", "inputs", "scale"}
_OPTIONS = {"kind", "bits", "scheme", "encoding", "stride", "padding", "keep"}


def _option(
    data: dict[str, npt.NDArray[Any]], key: str, name: str, kind: type, default: Any
) -> Any:
    if key not in data:
        return default
    arr = data[key]
    if arr.shape != ():
        raise FormatError(f"{name}: option {key!r} must be a scalar, got shape {arr.shape}")
    value = arr.item()
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise FormatError(f"{name}: option {key!r} must be an integer, got {value!r}")
        return value
    if not isinstance(value, str):
        raise FormatError(f"{name}: option {key!r} must be a string, got {value!r}")
    return value


def _check_members(path: Any, name: str) -> None:
    """Every member's ``.npy`` header against the bytes the member holds, and the arrays'
    declared size against the memory budget, before numpy allocates any of them (a header
    may claim shape ``(3, 6·10¹⁴)`` over a few bytes of data)."""
    from qevo_ir.budget import check_memory
    from qevo_ir.formats.qevo_npz import member_header

    total = 0
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            shape, dtype, header = member_header(zf, info, name)
            declared = math.prod(shape) * dtype.itemsize
            if not dtype.hasobject and header + declared != info.file_size:
                raise FormatError(
                    f"{name}: {info.filename}: the .npy header declares shape {shape} of "
                    f"{dtype} ({header + declared} bytes), but the member holds "
                    f"{info.file_size} bytes (truncated or forged)"
                )
            total += declared
    check_memory(total, f"{name}: the block's arrays")


def _is_zip(path: Any) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False


def read_block_npz(path: str | os.PathLike[str]) -> tuple[GramBlock, dict[str, Any]]:
    """The block described by ``path`` and the options it was built with.

    Object arrays (pickles) are refused, sizes are checked, and every failure is a
    :class:`FormatError` naming the file and the field.
    """
    from qevo_ir.blocks.conv import Conv2dRounding
    from qevo_ir.blocks.integer import IntegerWeights
    from qevo_ir.blocks.linear import LinearRounding
    from qevo_ir.blocks.prune import PruneMask

    name = os.fspath(path)
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise FormatError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    if size > MAX_BLOCK_FILE_BYTES:
        raise FormatError(f"{name}: {size} bytes is over the {MAX_BLOCK_FILE_BYTES}-byte limit")
    data: dict[str, npt.NDArray[Any]] = {}
    try:
        if _is_zip(path):
            _check_members(path, name)
        with np.load(path, allow_pickle=False) as npz:  # noqa: TID251 (reviewed reader)
            unknown = set(npz.files) - _ARRAYS - _OPTIONS
            if unknown:
                raise FormatError(
                    f"{name}: unknown entries {sorted(unknown)}; expected weight, inputs and "
                    f"options {sorted(_OPTIONS | {'scale'})}"
                )
            for key in npz.files:
                data[key] = npz[key]
    except FormatError:
        raise
    except (ValueError, SyntaxError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        if isinstance(exc, zipfile.BadZipFile | EOFError) or not _is_zip(path):
            why: object = "it is not a zip archive (np.savez writes one)"
        elif "pickle" in str(exc):
            why = "it holds object arrays (pickles), which are refused"
        else:
            why = exc
        raise FormatError(f"{name}: not a readable block .npz ({why})") from None
    for key in ("weight", "inputs"):
        if key not in data:
            raise FormatError(f"{name}: missing array {key!r}")
        if data[key].dtype.kind not in "iuf":
            raise FormatError(f"{name}: {key!r} must be numeric, got dtype {data[key].dtype}")
    kind = _option(data, "kind", name, str, "linear")
    if kind not in BLOCK_KINDS:
        raise FormatError(f"{name}: kind {kind!r} is not one of {', '.join(BLOCK_KINDS)}")
    bits = _option(data, "bits", name, int, 4)
    scheme = _option(data, "scheme", name, str, "symmetric")
    scale = data["scale"].astype(np.float64) if "scale" in data else None
    weight = data["weight"].astype(np.float64)
    inputs = data["inputs"].astype(np.float64)
    options: dict[str, Any] = {"kind": kind}
    try:
        block: GramBlock
        if kind == "linear":
            block = LinearRounding(weight, inputs, bits, scale, scheme=scheme)
            options.update(bits=bits, scheme=scheme)
        elif kind == "integer":
            encoding = _option(data, "encoding", name, str, "uniform")
            block = IntegerWeights(weight, inputs, bits, encoding, scale=scale, scheme=scheme)
            options.update(bits=bits, scheme=scheme, encoding=encoding)
        elif kind == "conv2d":
            stride = _option(data, "stride", name, int, 1)
            padding = _option(data, "padding", name, int, 0)
            block = Conv2dRounding(
                weight, inputs, bits, stride, padding, scale=scale, scheme=scheme
            )
            options.update(bits=bits, scheme=scheme, stride=stride, padding=padding)
        else:
            keep = _option(data, "keep", name, int, None)
            if keep is None:
                raise FormatError(f"{name}: a prune block needs the option 'keep'")
            block = PruneMask(weight, inputs, keep)
            options.update(keep=keep)
    except FormatError:
        raise
    except ValueError as exc:  # ValidationError and LimitExceeded are ValueErrors too
        raise FormatError(f"{name}: {exc}") from None
    return block, options
