"""Integer codes, scales and zero points of a quantized model, in a file that never unpickles.

:func:`save_quantized` writes each rounded layer of a
:class:`~qevo_ir.blocks.quantize_model.QuantizationReport` as three arrays (integer ``codes``
in the smallest integer type that holds the grid, ``float64`` ``scale`` and ``int64``
``zero_point``) plus a JSON header, to ``.npz`` (numpy only) or ``.safetensors`` (when the
optional ``safetensors`` package is installed), atomically. :func:`load_quantized` reads it
back with ``allow_pickle=False`` and checks every array against the header before use. The
layout is in ``specs/models.md``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.atomic import atomic_write_bytes
from qevo_ir.blocks.linear import MAX_BITS, SCHEMES
from qevo_ir.blocks.quantize_model import (
    QuantizationReport,
    QuantizedModel,
    code_dtype,
    dequantize,
)
from qevo_ir.errors import FormatError, ValidationError
from qevo_ir.plugins import require

__all__ = ["FORMAT", "QuantizedLayer", "load_quantized", "save_quantized"]

FORMAT = "qevo-quantized"
VERSION = 1
_HEADER = "__header__"
_MAX_HEADER_BYTES = 16 * 1024 * 1024

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class QuantizedLayer:
    """One layer read back: ``weight = scale[o] * (codes[o, ...] - zero_point[o])``."""

    name: str
    kind: str
    bits: int
    scheme: str
    codes: npt.NDArray[np.integer[Any]]
    scale: FloatArray
    zero_point: IntArray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.codes.shape)

    def dequantize(self) -> FloatArray:
        """The float64 weight, shaped like the layer's weight."""
        return dequantize(self.codes, self.scale, self.zero_point)


def _layers(source: Any) -> list[QuantizedLayer]:
    if isinstance(source, QuantizedModel):
        source = source.report
    if not isinstance(source, QuantizationReport | Mapping):
        raise ValidationError(
            "save_quantized takes a QuantizedModel, a QuantizationReport or a mapping of "
            f"layer reports, got {type(source).__name__}"
        )
    out = []
    for name, r in source.items():
        if isinstance(r, QuantizedLayer):
            out.append(r)
            continue
        try:
            codes, scale, zp = r.codes, r.scale, r.zero_point
            kind, bits, scheme = r.kind, int(r.bits), r.scheme
        except AttributeError as exc:
            raise ValidationError(f"layer {name!r}: not a layer report ({exc})") from None
        out.append(
            QuantizedLayer(
                str(name),
                str(kind),
                bits,
                str(scheme),
                np.asarray(codes),
                np.asarray(scale, np.float64),
                np.asarray(zp, np.int64),
            )
        )
    return out


def save_quantized(source: Any, path: str | os.PathLike[str]) -> Path:
    """Write every rounded layer of ``source`` to ``path`` atomically; returns the path.

    ``source``: a :class:`~qevo_ir.blocks.quantize_model.QuantizedModel`, its ``report``, or a
    mapping of name to layer report (or :class:`QuantizedLayer`). The format follows the
    suffix: ``.npz`` (default for any other suffix) or ``.safetensors`` (needs the
    ``safetensors`` package). Codes are stored as ``int8`` / ``int16`` (symmetric) or
    ``uint8`` / ``uint16`` (asymmetric).
    """
    layers = _layers(source)
    header: dict[str, Any] = {"format": FORMAT, "version": VERSION, "layers": []}
    arrays: dict[str, npt.NDArray[Any]] = {}
    for k, layer in enumerate(layers):
        if layer.scheme not in SCHEMES or not 1 <= layer.bits <= MAX_BITS:
            raise ValidationError(f"layer {layer.name!r}: bits/scheme out of range")
        dtype = code_dtype(layer.bits, layer.scheme)
        codes = np.asarray(layer.codes)
        info = np.iinfo(dtype)
        if codes.size and (codes.min() < info.min or codes.max() > info.max):
            raise ValidationError(f"layer {layer.name!r}: codes do not fit {dtype}")
        out = codes.shape[0] if codes.ndim else 0
        if codes.ndim < 2 or layer.scale.shape != (out,) or layer.zero_point.shape != (out,):
            raise ValidationError(
                f"layer {layer.name!r}: codes must be (out, ...) with one scale and zero point "
                "per output channel"
            )
        arrays[f"{k}.codes"] = np.ascontiguousarray(codes.astype(dtype))
        arrays[f"{k}.scale"] = np.ascontiguousarray(layer.scale, dtype=np.float64)
        arrays[f"{k}.zero_point"] = np.ascontiguousarray(layer.zero_point, dtype=np.int64)
        header["layers"].append(
            {
                "name": layer.name,
                "kind": layer.kind,
                "bits": layer.bits,
                "scheme": layer.scheme,
                "shape": list(codes.shape),
            }
        )
    text = json.dumps(header, sort_keys=True)
    target = Path(path)
    if target.suffix == ".safetensors":
        st = require("safetensors.numpy", "torch")  # the torch extra carries safetensors
        data: bytes = st.save(arrays, metadata={_HEADER: text})
    else:
        buf = io.BytesIO()
        arrays[_HEADER] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:  # the layout np.savez writes
            for key, arr in arrays.items():
                with zf.open(f"{key}.npy", "w") as member:
                    np.lib.format.write_array(member, arr, allow_pickle=False)
        data = buf.getvalue()
    atomic_write_bytes(target, data)
    return target


def load_quantized(path: str | os.PathLike[str]) -> dict[str, QuantizedLayer]:
    """Read a file written by :func:`save_quantized`: layer name to :class:`QuantizedLayer`.

    ``.safetensors`` files are read with ``safetensors`` (no pickle); anything else as ``.npz``
    with ``allow_pickle=False``. A malformed file raises :class:`~qevo_ir.errors.FormatError`
    naming the file.
    """
    p = Path(path)
    name = p.name
    if p.suffix == ".safetensors":
        arrays, text = _read_safetensors(p)
    else:
        with _open_npz(p) as npz:
            keys = set(npz.files)
            if _HEADER not in keys:
                raise FormatError(f"{name}: no {_HEADER} array; not a qevo quantized export")
            arrays = {k: npz[k] for k in keys}
        raw = arrays.pop(_HEADER)
        if raw.dtype != np.uint8 or raw.ndim != 1 or raw.size > _MAX_HEADER_BYTES:
            raise FormatError(f"{name}: the header must be a 1-D uint8 array of JSON")
        text = raw.tobytes().decode("utf-8", errors="replace")
    return _decode(name, text, arrays)


@contextlib.contextmanager
def _open_npz(path: Path) -> Iterator[Any]:
    try:
        npz = np.load(path, allow_pickle=False)  # noqa: TID251 (reviewed reader)
    except FileNotFoundError:
        raise FormatError(f"{path.name}: no such file") from None
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise FormatError(f"{path.name}: not a readable .npz archive ({exc})") from None
    if not hasattr(npz, "files"):
        raise FormatError(f"{path.name}: a single .npy array, not a .npz archive")
    try:
        yield npz
    except ValueError as exc:  # e.g. an object array, which allow_pickle=False refuses
        raise FormatError(f"{path.name}: unreadable member ({exc})") from None
    finally:
        npz.close()


def _read_safetensors(path: Path) -> tuple[dict[str, npt.NDArray[Any]], str]:
    st = require("safetensors", "torch")
    stn = require("safetensors.numpy", "torch")
    try:
        with st.safe_open(str(path), framework="numpy") as fh:
            meta = fh.metadata() or {}
        arrays: dict[str, npt.NDArray[Any]] = stn.load_file(str(path))
    except FileNotFoundError:
        raise FormatError(f"{path.name}: no such file") from None
    except Exception as exc:  # safetensors raises its own SafetensorError
        raise FormatError(f"{path.name}: not a readable safetensors file ({exc})") from None
    if _HEADER not in meta:
        raise FormatError(f"{path.name}: no {_HEADER} metadata; not a qevo quantized export")
    return arrays, str(meta[_HEADER])


def _decode(name: str, text: str, arrays: dict[str, npt.NDArray[Any]]) -> dict[str, QuantizedLayer]:
    try:
        header = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{name}: the header is not JSON ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise FormatError(f"{name}: not a {FORMAT} file")
    if header.get("version") != VERSION:
        raise FormatError(f"{name}: version {header.get('version')!r}; this reader knows {VERSION}")
    entries = header.get("layers")
    if not isinstance(entries, list):
        raise FormatError(f"{name}: the header has no layer list")
    expected = {f"{k}.{part}" for k in range(len(entries)) for part in _PARTS}
    if set(arrays) != expected:
        extra = sorted(set(arrays) ^ expected)[:3]
        raise FormatError(f"{name}: arrays do not match the header (e.g. {', '.join(extra)})")
    out: dict[str, QuantizedLayer] = {}
    for k, e in enumerate(entries):
        layer = _layer(name, k, e, arrays)
        if layer.name in out:
            raise FormatError(f"{name}: layer {layer.name!r} appears twice")
        out[layer.name] = layer
    return out


_PARTS = ("codes", "scale", "zero_point")


def _layer(name: str, k: int, e: Any, arrays: dict[str, npt.NDArray[Any]]) -> QuantizedLayer:
    if not isinstance(e, dict):
        raise FormatError(f"{name}: layer entry {k} is not an object")
    lname, kind, bits, scheme, shape = (
        e.get("name"),
        e.get("kind"),
        e.get("bits"),
        e.get("scheme"),
        e.get("shape"),
    )
    if not (
        isinstance(lname, str)
        and isinstance(kind, str)
        and isinstance(bits, int)
        and not isinstance(bits, bool)
        and scheme in SCHEMES
        and 1 <= bits <= MAX_BITS
        and isinstance(shape, list)
        and len(shape) >= 2
        and all(isinstance(v, int) and v > 0 for v in shape)
    ):
        raise FormatError(f"{name}: layer entry {k} has a bad name, kind, bits, scheme or shape")
    codes, scale, zp = (arrays[f"{k}.{part}"] for part in _PARTS)
    dtype = code_dtype(bits, str(scheme))
    out = shape[0]
    if codes.dtype != dtype or list(codes.shape) != shape:
        raise FormatError(f"{name}: layer {lname!r}: codes must be {dtype} of shape {shape}")
    if scale.dtype != np.float64 or scale.shape != (out,) or not np.isfinite(scale).all():
        raise FormatError(f"{name}: layer {lname!r}: scale must be {out} finite float64 values")
    if zp.dtype != np.int64 or zp.shape != (out,):
        raise FormatError(f"{name}: layer {lname!r}: zero_point must be {out} int64 values")
    return QuantizedLayer(lname, kind, bits, str(scheme), codes, scale, zp)
