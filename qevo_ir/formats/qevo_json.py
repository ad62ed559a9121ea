"""The qevo-ir JSON encoding (version 1): small, human-readable, lossless, labels and provenance
included.

Layout and guarantees: ``specs/format.md``. Floats are written with Python's shortest round-trip
``repr``, so ``read(write(H)) == H`` bit for bit; NaN and Infinity are refused both ways.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from qevo_ir.atomic import atomic_write_text
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


def to_document(ham: Hamiltonian, metadata: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The JSON-ready document of ``ham`` (keys in their written order)."""
    doc: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": VERSION,
        "vartype": ham.vartype.value,
        "num_variables": ham.num_variables,
        "labels": labels_to_json(ham.variables),
        "linear": ham.linear.tolist(),
        "quadratic": {
            "row": ham.row.tolist(),
            "col": ham.col.tolist(),
            "bias": ham.quad.tolist(),
        },
        "offset": float(ham.offset),
    }
    prov = ham.variables.provenance
    if prov is not None:
        doc["provenance"] = prov.to_dict()
    meta = validate_metadata(metadata, "<metadata>")
    if meta:
        doc["metadata"] = meta
    return doc


def dumps(ham: Hamiltonian, metadata: Mapping[str, str] | None = None) -> str:
    """``ham`` as qevo-ir JSON text: one top-level key per line, arrays inline, ASCII only."""
    doc = to_document(ham, metadata)
    lines = [
        f"  {json.dumps(key)}: {json.dumps(value, allow_nan=False, ensure_ascii=True)}"
        for key, value in doc.items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write(
    ham: Hamiltonian,
    path: PathLike,
    *,
    metadata: Mapping[str, str] | None = None,
    force: bool = True,
) -> Hamiltonian:
    """Write ``ham`` to ``path`` atomically; returns ``ham`` (what :func:`read` gives back)."""
    prepare_output(path, force)
    atomic_write_text(path, dumps(ham, validate_metadata(metadata, path_name(path))))
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
