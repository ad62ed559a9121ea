"""The qevo-ir ``.npz`` encoding (version 1): large problems, lossless, with labels and provenance.

A zip archive of ``.npy`` arrays (``linear``, ``row``, ``col``, ``quad``, ``offset``,
``vartype``, optional ``provenance_*``) plus a JSON ``header`` string. Every member's ``.npy``
header (dtype, shape) is checked against the member's size and the ``max_bytes`` budget before
any array is read, so a file cannot make the reader allocate more than it holds. See
``specs/format.md``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.atomic import atomic_open
from qevo_ir.errors import FormatError
from qevo_ir.formats._common import (
    DEFAULT_MAX_BYTES,
    FileTooLarge,
    PathLike,
    build_hamiltonian,
    check_budget,
    check_indices,
    check_regular,
    fail,
    labels_from_json,
    labels_to_json,
    load_json,
    make_table,
    open_regular,
    path_name,
    prepare_output,
    strict_int,
    vartype_from_name,
)
from qevo_ir.formats._document import (
    FORMAT_NAME,
    VERSION,
    QevoDocument,
    build_provenance,
    check_format_and_version,
    check_metadata,
    validate_metadata,
)
from qevo_ir.hamiltonian import Hamiltonian

__all__ = ["read", "read_document", "write"]

# Member name -> (dtype kinds accepted, ndim). Floats may be any IEEE width; they are widened.
_FLOAT = "f"
_INT = "iu"
_CORE: dict[str, tuple[str, int]] = {
    "linear": (_FLOAT, 1),
    "row": (_INT, 1),
    "col": (_INT, 1),
    "quad": (_FLOAT, 1),
    "offset": (_FLOAT, 0),
    "vartype": ("U", 0),
    "header": ("U", 0),
}
_PROVENANCE: dict[str, tuple[str, int]] = {
    "provenance_block": (_INT, 1),
    "provenance_parameter": (_INT, 1),
    "provenance_bit": (_INT, 1),
    "provenance_weight": (_FLOAT, 1),
    "provenance_base": (_FLOAT, 1),
}
_MEMBERS = {**_CORE, **_PROVENANCE}
_HEADER_REQUIRED = ("format", "version", "num_variables", "num_interactions")
_HEADER_ALLOWED = frozenset((*_HEADER_REQUIRED, "labels", "provenance", "metadata"))

# What zipfile and zlib raise on damaged or unsupported archives (NotImplementedError: an unknown
# zip version or flag; RuntimeError: an encrypted member).
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    EOFError,
    OSError,
    NotImplementedError,
    RuntimeError,
)

# A fixed timestamp and host system make the archive's bytes depend on its content only.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_ZIP_UNIX = 3


# ----------------------------------------------------------------------------- writing
def write(
    ham: Hamiltonian,
    path: PathLike,
    *,
    metadata: Mapping[str, str] | None = None,
    compress: bool = False,
    force: bool = True,
) -> Hamiltonian:
    """Write ``ham`` to ``path`` atomically; returns ``ham`` (what :func:`read` gives back).

    ``compress`` deflates the members (smaller, slower); the default stores them, which is
    fastest to write and read. The bytes depend only on the content (fixed zip timestamps).
    """
    name = path_name(path)
    meta = validate_metadata(metadata, name)
    prov = ham.variables.provenance
    header = {
        "format": FORMAT_NAME,
        "version": VERSION,
        "num_variables": ham.num_variables,
        "num_interactions": ham.num_interactions,
        "labels": labels_to_json(ham.variables),
        "provenance": None if prov is None else {"parameter_names": list(prov.parameter_names)},
        "metadata": meta,
    }
    arrays: dict[str, npt.NDArray[Any]] = {
        "linear": np.asarray(ham.linear, dtype="<f8"),
        "row": np.asarray(ham.row, dtype="<i8"),
        "col": np.asarray(ham.col, dtype="<i8"),
        "quad": np.asarray(ham.quad, dtype="<f8"),
        "offset": np.asarray(ham.offset, dtype="<f8"),
        "vartype": np.asarray(ham.vartype.value, dtype="<U"),
        "header": np.asarray(
            json.dumps(header, allow_nan=False, ensure_ascii=True, separators=(",", ":")),
            dtype="<U",
        ),
    }
    if prov is not None:
        arrays.update(
            provenance_block=np.asarray(prov.block, dtype="<i8"),
            provenance_parameter=np.asarray(prov.parameter, dtype="<i8"),
            provenance_bit=np.asarray(prov.bit, dtype="<i8"),
            provenance_weight=np.asarray(prov.weight, dtype="<f8"),
            provenance_base=np.asarray(prov.base, dtype="<f8"),
        )
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    prepare_output(path, force)
    with (
        atomic_open(path, "wb") as fh,
        zipfile.ZipFile(fh, mode="w", compression=method, allowZip64=True) as zf,
    ):
        for member, arr in arrays.items():
            info = zipfile.ZipInfo(f"{member}.npy", date_time=_ZIP_DATE)
            info.compress_type = method
            info.create_system = _ZIP_UNIX
            info.external_attr = 0o644 << 16
            with zf.open(info, mode="w", force_zip64=True) as out:
                np.lib.format.write_array(out, arr, allow_pickle=False)
    return ham


# ----------------------------------------------------------------------------- reading
def read(path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Hamiltonian:
    """Read a qevo-ir ``.npz`` file (see :func:`read_document`)."""
    return read_document(path, max_bytes=max_bytes).hamiltonian


def read_document(path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> QevoDocument:
    """Read a qevo-ir ``.npz`` file: the Hamiltonian and the metadata.

    The file and the sum of its members' uncompressed sizes must each be at most ``max_bytes``.
    """
    name = path_name(path)
    _check_file(path, name, max_bytes)
    try:
        with _open_npz(path, name) as npz:
            return _read_npz(npz, name, max_bytes)
    except _ZIP_ERRORS as exc:
        fail(name, f"the .npz archive is damaged or unsupported ({exc})")


def _check_file(path: PathLike, name: str, max_bytes: int) -> None:
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        fail(name, f"cannot read the file ({getattr(exc, 'strerror', None) or exc})")
    check_regular(name, st.st_mode)
    if st.st_size > max_bytes:
        raise FileTooLarge(
            f"{name}: the file has {st.st_size} bytes, over the {max_bytes}-byte limit; pass a "
            "larger max_bytes if it is trusted"
        )
    try:
        with open_regular(path, name) as fh:
            magic = fh.read(4)
    except OSError as exc:
        fail(name, f"cannot read the file ({exc.strerror or exc})")
    if magic not in (b"PK\x03\x04", b"PK\x05\x06"):
        fail(name, "is not a .npz file (a zip archive starts with the bytes 'PK\\x03\\x04')")


@contextlib.contextmanager
def _open_npz(path: PathLike, name: str) -> Iterator[Any]:
    try:
        npz = np.load(path, allow_pickle=False)  # noqa: TID251 (reviewed reader)
    except (ValueError, *_ZIP_ERRORS) as exc:
        fail(name, f"not a readable .npz archive ({exc})")
    if not hasattr(npz, "zip"):  # np.load found an .npy file, not an archive
        fail(name, "is a single .npy array, not a qevo-ir .npz archive")
    try:
        yield npz
    finally:
        npz.close()


def _read_npz(npz: Any, name: str, max_bytes: int) -> QevoDocument:
    zf: zipfile.ZipFile = npz.zip
    infos = zf.infolist()
    names = [info.filename for info in infos]
    if len(set(names)) != len(names):
        fail(name, "the archive holds two members with the same name")
    members = {}
    for info in infos:
        key = info.filename.removesuffix(".npy")
        if not info.filename.endswith(".npy") or key not in _MEMBERS:
            fail(
                name,
                f"unexpected archive member {info.filename!r}; a qevo-ir .npz holds "
                f"{', '.join(k + '.npy' for k in _MEMBERS)}",
            )
        members[key] = info
    missing = [k for k in _CORE if k not in members]
    if missing:
        fail(name, f"missing array {', '.join(k + '.npy' for k in missing)}")
    total = sum(info.file_size for info in infos)
    if total > max_bytes:
        raise FileTooLarge(
            f"{name}: the archive's members unpack to {total} bytes, over the {max_bytes}-byte "
            "limit; pass a larger max_bytes if it is trusted"
        )
    for info in infos:
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            fail(name, f"{info.filename}: unsupported zip compression {info.compress_type}")
        if info.flag_bits & 0x1:
            fail(name, f"{info.filename}: encrypted archive members are not supported")

    # Shapes and dtypes from the .npy headers, checked against member sizes before any read.
    shapes = {key: _npy_header(zf, info, name, *_MEMBERS[key]) for key, info in members.items()}
    n = shapes["linear"][0]
    m = shapes["row"][0]
    check_budget(name, n, m, max_bytes)  # before any member is inflated
    for key in ("col", "quad"):
        if shapes[key][0] != m:
            fail(name, f"{key}.npy has {shapes[key][0]} entries, row.npy has {m}")

    header = _read_header(npz, name)
    if header["num_variables"] != n:
        fail(name, f"header num_variables = {header['num_variables']}, linear.npy has {n}")
    if header["num_interactions"] != m:
        fail(name, f"header num_interactions = {header['num_interactions']}, row.npy has {m}")
    labels = labels_from_json(header.get("labels"), name, "header labels", n)
    metadata = check_metadata(header.get("metadata"), name, "header metadata")
    prov_info = header.get("provenance")
    has_prov = any(k in members for k in _PROVENANCE)
    if prov_info is None and has_prov:
        fail(name, "provenance arrays are present but the header has no provenance entry")
    if prov_info is not None and not all(k in members for k in _PROVENANCE):
        fail(name, f"the header declares provenance; the archive needs {', '.join(_PROVENANCE)}")

    vartype = vartype_from_name(_load(npz, "vartype", name).item(), name, "vartype.npy")
    linear = _floats(_load(npz, "linear", name), name, "linear.npy")
    row_raw = _load(npz, "row", name)
    check_indices(row_raw, name, "row.npy", n)
    col_raw = _load(npz, "col", name)
    check_indices(col_raw, name, "col.npy", n)
    quad = _floats(_load(npz, "quad", name), name, "quad.npy")
    offset = float(_floats(_load(npz, "offset", name).reshape(1), name, "offset.npy")[0])

    provenance = None
    if prov_info is not None:
        provenance = _read_provenance(npz, name, prov_info, n, shapes)
    table = make_table(labels, n, name, "header labels").with_provenance(provenance)
    ham = build_hamiltonian(
        name, vartype, linear,
        row_raw.astype(np.int64), col_raw.astype(np.int64), quad, offset, table,
        duplicates="refuse", self_loops="refuse", field="couplings (row.npy, col.npy)",
    )  # fmt: skip
    return QevoDocument(ham, MappingProxyType(metadata))


def member_header(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str
) -> tuple[tuple[int, ...], np.dtype[Any], int]:
    """``(shape, dtype, header bytes)`` of an archive member's ``.npy`` header, read without
    loading the array (``.npy`` versions 1.0 and 2.0); damage is a :class:`FormatError`."""
    what = info.filename
    try:
        with zf.open(info) as fp:
            version = np.lib.format.read_magic(fp)
            if version == (1, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fp)
            elif version == (2, 0):
                shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fp)
            else:
                fail(name, f"{what}: .npy format version {version} is not supported")
            return tuple(shape), dtype, fp.tell()
    except FormatError:
        raise
    except (ValueError, SyntaxError) as exc:
        fail(name, f"{what}: not a valid .npy array ({exc})")


def _npy_header(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, kinds: str, ndim: int
) -> tuple[int, ...]:
    """The shape in a member's ``.npy`` header, after checking dtype, ndim and exact size."""
    what = info.filename
    shape, dtype, header_len = member_header(zf, info, name)
    if dtype.hasobject or dtype.names is not None or dtype.subdtype is not None:
        fail(name, f"{what}: dtype {dtype} is refused (object and structured arrays)")
    if dtype.kind not in kinds:
        expected = {"f": "floating-point", "iu": "integer", "U": "unicode string"}[kinds]
        fail(name, f"{what}: dtype {dtype} is not {expected}")
    if len(shape) != ndim:
        fail(name, f"{what}: expected a {ndim}-d array, got shape {shape}")
    expected_bytes = header_len + math.prod(shape) * dtype.itemsize
    if expected_bytes != info.file_size:
        fail(
            name,
            f"{what}: the .npy header declares shape {shape} of {dtype} ({expected_bytes} bytes "
            f"with its header), but the member holds {info.file_size} bytes (truncated or forged)",
        )
    return tuple(int(x) for x in shape)


def _load(npz: Any, key: str, name: str) -> npt.NDArray[Any]:
    try:
        arr = npz[key]
    except (ValueError, *_ZIP_ERRORS) as exc:
        fail(name, f"{key}.npy: cannot read the array ({exc})")
    if not isinstance(arr, np.ndarray):
        fail(name, f"{key}.npy: not an .npy array")
    return arr


def _floats(arr: npt.NDArray[Any], name: str, what: str) -> npt.NDArray[np.float64]:
    out = np.asarray(arr, dtype=np.float64).reshape(-1)
    if out.size and not np.isfinite(out).all():
        k = int(np.flatnonzero(~np.isfinite(out))[0])
        fail(name, f"{what}[{k}] = {float(out[k])!r} is not finite")
    return out


def _read_header(npz: Any, name: str) -> dict[str, Any]:
    try:
        text = _load(npz, "header", name).item()
    except FormatError:
        raise
    except (ValueError, UnicodeError) as exc:
        fail(name, f"header.npy: not a valid string ({exc})")
    if not isinstance(text, str):
        fail(name, "header.npy must hold one JSON string")
    doc = load_json(text, name, "header.npy")
    if not isinstance(doc, dict):
        fail(name, "header.npy must hold a JSON object")
    check_format_and_version(doc, name)
    missing = [k for k in _HEADER_REQUIRED if k not in doc]
    if missing:
        fail(name, f"header.npy is missing {', '.join(repr(k) for k in missing)}")
    unknown = sorted(doc.keys() - _HEADER_ALLOWED)
    if unknown:
        fail(name, f"header.npy has unknown key {', '.join(repr(k) for k in unknown)}")
    strict_int(doc["num_variables"], name, "header num_variables")
    strict_int(doc["num_interactions"], name, "header num_interactions")
    prov = doc.get("provenance")
    if prov is not None:
        names = prov.get("parameter_names") if isinstance(prov, dict) else None
        if (
            not isinstance(prov, dict)
            or prov.keys() != {"parameter_names"}
            or not isinstance(names, list)
            or not all(isinstance(x, str) for x in names)
        ):
            fail(name, 'header provenance must be {"parameter_names": [strings]} or null')
    return doc


def _read_provenance(
    npz: Any, name: str, info: dict[str, Any], n: int, shapes: dict[str, tuple[int, ...]]
) -> Any:
    for key in ("provenance_block", "provenance_parameter", "provenance_bit", "provenance_weight"):
        if shapes[key][0] != n:
            fail(name, f"{key}.npy has {shapes[key][0]} entries for {n} variables")
    ints = {}
    for key in ("provenance_block", "provenance_parameter", "provenance_bit"):
        arr = _load(npz, key, name)
        if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
            fail(name, f"{key}.npy holds values outside int64")
        ints[key] = arr.astype(np.int64)
    weight = _floats(_load(npz, "provenance_weight", name), name, "provenance_weight.npy")
    base = _floats(_load(npz, "provenance_base", name), name, "provenance_base.npy")
    return build_provenance(
        name,
        ints["provenance_block"],
        ints["provenance_parameter"],
        ints["provenance_bit"],
        weight,
        base,
        tuple(info["parameter_names"]),
    )
