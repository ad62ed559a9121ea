"""The qevo-ir JSON encoding (version 1): small, human-readable, lossless, labels and provenance
included.

Layout and guarantees: ``specs/format.md``. Floats are written with Python's shortest round-trip
``repr``, so ``read(write(H)) == H`` bit for bit; NaN and Infinity are refused both ways.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from qevo_ir.atomic import atomic_open
from qevo_ir.formats._common import (
    DEFAULT_MAX_BYTES,
    PathLike,
    build_hamiltonian,
    decode_text,
    fail,
    float_list,
    index_list,
    labels_from_json,
    labels_to_json,
    load_json,
    make_table,
    path_name,
    prepare_output,
    read_bounded,
    strict_int,
    strict_number,
    vartype_from_name,
)
from qevo_ir.formats._document import (
    FORMAT_NAME,
    VERSION,
    QevoDocument,
    check_format_and_version,
    check_metadata,
    provenance_from_json,
    validate_metadata,
)
from qevo_ir.hamiltonian import Hamiltonian

__all__ = [
    "dumps",
    "from_document",
    "loads",
    "loads_document",
    "read",
    "read_document",
    "to_document",
    "write",
]

_REQUIRED = ("format", "version", "vartype", "num_variables", "linear", "quadratic", "offset")
_ALLOWED = frozenset((*_REQUIRED, "labels", "provenance", "metadata"))
_QUADRATIC_KEYS = frozenset(("row", "col", "bias"))


def _document(ham: Hamiltonian, metadata: Mapping[str, str] | None) -> dict[str, Any]:
    """The document with its number arrays still as numpy arrays (keys in written order)."""
    doc: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": VERSION,
        "vartype": ham.vartype.value,
        "num_variables": ham.num_variables,
        "labels": labels_to_json(ham.variables),
        "linear": ham.linear,
        "quadratic": {"row": ham.row, "col": ham.col, "bias": ham.quad},
        "offset": float(ham.offset),
    }
    prov = ham.variables.provenance
    if prov is not None:
        doc["provenance"] = prov.to_dict()
    meta = validate_metadata(metadata, "<metadata>")
    if meta:
        doc["metadata"] = meta
    return doc


def to_document(ham: Hamiltonian, metadata: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The JSON-ready document of ``ham`` (keys in their written order)."""
    doc = _document(ham, metadata)
    doc["linear"] = ham.linear.tolist()
    doc["quadratic"] = {k: v.tolist() for k, v in doc["quadratic"].items()}
    return doc


#: Numbers encoded per piece: the text is produced (and written) a slice at a time, so a
#: problem of 5·10⁷ variables never holds 5·10⁷ Python floats at once.
_CHUNK = 1 << 16


def _encode(value: Any) -> Iterator[str]:
    """``json.dumps(value, allow_nan=False, ensure_ascii=True)``, piece by piece: the same
    text, with number arrays and long lists encoded a slice at a time."""
    if isinstance(value, np.ndarray | list) and len(value) > _CHUNK:
        yield "["
        for start in range(0, len(value), _CHUNK):
            part = value[start : start + _CHUNK]
            items = part.tolist() if isinstance(part, np.ndarray) else part
            text = json.dumps(items, allow_nan=False, ensure_ascii=True)[1:-1]
            yield text if start == 0 else ", " + text
        yield "]"
    elif isinstance(value, np.ndarray):
        yield json.dumps(value.tolist(), allow_nan=False, ensure_ascii=True)
    elif isinstance(value, dict):
        yield "{"
        for k, (key, item) in enumerate(value.items()):
            yield ("" if k == 0 else ", ") + json.dumps(key, ensure_ascii=True) + ": "
            yield from _encode(item)
        yield "}"
    else:
        yield json.dumps(value, allow_nan=False, ensure_ascii=True)


def _pieces(ham: Hamiltonian, metadata: Mapping[str, str] | None) -> Iterator[str]:
    """The file's text in pieces: one top-level key per line, arrays inline, ASCII only."""
    yield "{\n"
    for k, (key, value) in enumerate(_document(ham, metadata).items()):
        yield ("" if k == 0 else ",\n") + f"  {json.dumps(key)}: "
        yield from _encode(value)
    yield "\n}\n"


def dumps(ham: Hamiltonian, metadata: Mapping[str, str] | None = None) -> str:
    """``ham`` as qevo-ir JSON text: one top-level key per line, arrays inline, ASCII only."""
    return "".join(_pieces(ham, metadata))


def write(
    ham: Hamiltonian,
    path: PathLike,
    *,
    metadata: Mapping[str, str] | None = None,
    force: bool = True,
) -> Hamiltonian:
    """Write ``ham`` to ``path`` atomically, a slice of the arrays at a time; returns ``ham``
    (what :func:`read` gives back)."""
    prepare_output(path, force)
    meta = validate_metadata(metadata, path_name(path))
    with atomic_open(path, "w") as fh:
        for piece in _pieces(ham, meta):
            fh.write(piece)
    return ham


def from_document(doc: object, name: str = "<document>") -> QevoDocument:
    """Validate a parsed qevo-ir JSON document and build its :class:`QevoDocument`."""
    if not isinstance(doc, dict):
        fail(name, "a qevo-ir JSON document must be an object")
    check_format_and_version(doc, name)
    missing = [k for k in _REQUIRED if k not in doc]
    if missing:
        fail(name, f"missing key {', '.join(repr(k) for k in missing)}")
    unknown = sorted(doc.keys() - _ALLOWED)
    if unknown:
        fail(
            name,
            f"unknown key {', '.join(repr(k) for k in unknown)} for qevo-ir version {VERSION}",
        )
    vartype = vartype_from_name(doc["vartype"], name, "vartype")
    n = strict_int(doc["num_variables"], name, "num_variables")
    linear = float_list(doc["linear"], name, "linear", n)
    quadratic = doc["quadratic"]
    if not isinstance(quadratic, dict):
        fail(name, "quadratic must be an object with lists row, col and bias")
    if quadratic.keys() != _QUADRATIC_KEYS:
        fail(
            name,
            "quadratic must have exactly the keys 'row', 'col' and 'bias', got "
            f"{sorted(quadratic.keys())}",
        )
    rows, cols, biases = quadratic["row"], quadratic["col"], quadratic["bias"]
    m = len(rows) if isinstance(rows, list) else 0
    row = index_list(rows, name, "quadratic.row", n)
    col = index_list(cols, name, "quadratic.col", n, m)
    quad = float_list(biases, name, "quadratic.bias", m)
    offset = strict_number(doc["offset"], name, "offset")
    labels = labels_from_json(doc.get("labels"), name, "labels", n)
    provenance = provenance_from_json(doc.get("provenance"), name, n)
    metadata = check_metadata(doc.get("metadata"), name)
    table = make_table(labels, n, name, "labels").with_provenance(provenance)
    ham = build_hamiltonian(
        name, vartype, linear, row, col, quad, offset, table,
        duplicates="refuse", self_loops="refuse", field="quadratic",
    )  # fmt: skip
    return QevoDocument(ham, MappingProxyType(metadata))


def loads_document(text: str, *, name: str = "<string>") -> QevoDocument:
    """The Hamiltonian and metadata in qevo-ir JSON ``text`` (``name`` labels error messages)."""
    return from_document(load_json(text, name), name)


def loads(text: str, *, name: str = "<string>") -> Hamiltonian:
    """The Hamiltonian in qevo-ir JSON ``text`` (``name`` labels error messages)."""
    return loads_document(text, name=name).hamiltonian


def read_document(path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> QevoDocument:
    """Read a qevo-ir JSON file: the Hamiltonian and the metadata."""
    name = path_name(path)
    text = decode_text(read_bounded(path, max_bytes), name)
    return from_document(load_json(text, name), name)


def read(path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Hamiltonian:
    """Read a qevo-ir JSON file (files over ``max_bytes`` are refused before reading)."""
    return read_document(path, max_bytes=max_bytes).hamiltonian
