"""The qevo polynomial JSON encoding (``"format": "qevo-poly"``, version 1): a k-local
:class:`~qevo_ir.polynomial.PolynomialHamiltonian`, lossless, labels included.

It is the compiled IR of a compile whose circuit targets run the polynomial's k-local phase
separator directly (``compile(poly, target="qiskit,cirq")``), so ``qevo verify`` can check those
circuits against it. Layout: ``specs/format.md``. Floats use Python's shortest round-trip
``repr``: ``read(write(P)) == P`` with the same content hash; NaN and Infinity are refused.
"""

from __future__ import annotations

import json
from typing import Any

from qevo_ir.atomic import atomic_write_text
from qevo_ir.errors import QevoError
from qevo_ir.formats._common import (
    DEFAULT_MAX_BYTES,
    PathLike,
    check_budget,
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
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.polynomial import PolynomialHamiltonian

__all__ = [
    "FORMAT_NAME",
    "VERSION",
    "dumps",
    "from_document",
    "is_document",
    "read",
    "read_ir",
    "write",
]

FORMAT_NAME = "qevo-poly"
VERSION = 1
_KEYS = frozenset(("format", "version", "vartype", "num_variables", "labels", "terms", "offset"))
_TERM_KEYS = frozenset(("ptr", "vars", "coeff"))


def to_document(poly: PolynomialHamiltonian) -> dict[str, Any]:
    """The JSON-ready document of ``poly`` (canonical terms: ``ptr`` offsets into ``vars``)."""
    return {
        "format": FORMAT_NAME,
        "version": VERSION,
        "vartype": poly.vartype.value,
        "num_variables": poly.num_variables,
        "labels": labels_to_json(poly.variables),
        "terms": {
            "ptr": poly.term_ptr.tolist(),
            "vars": poly.term_vars.tolist(),
            "coeff": poly.coeffs.tolist(),
        },
        "offset": float(poly.offset),
    }


def dumps(poly: PolynomialHamiltonian) -> str:
    """``poly`` as qevo-poly JSON text: one top-level key per line, ASCII only."""
    doc = to_document(poly)
    lines = [
        f"  {json.dumps(k)}: {json.dumps(v, allow_nan=False, ensure_ascii=True)}"
        for k, v in doc.items()
    ]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def write(poly: PolynomialHamiltonian, path: PathLike, *, force: bool = True) -> None:
    """Write ``poly`` to ``path`` atomically."""
    prepare_output(path, force)
    atomic_write_text(path, dumps(poly))


def is_document(doc: object) -> bool:
    """Whether a parsed JSON value claims to be a qevo-poly document."""
    return isinstance(doc, dict) and doc.get("format") == FORMAT_NAME


def from_document(doc: object, name: str = "<document>") -> PolynomialHamiltonian:
    """Validate a parsed qevo-poly document and build its polynomial."""
    if not is_document(doc):
        fail(name, f'not a qevo polynomial: expected "format": "{FORMAT_NAME}"')
    assert isinstance(doc, dict)
    version = doc.get("version")
    if version != VERSION or isinstance(version, bool):
        fail(name, f"qevo-poly version {version!r} is not supported (this reader reads 1)")
    if doc.keys() != _KEYS:
        missing = sorted(_KEYS - doc.keys())
        extra = sorted(doc.keys() - _KEYS)
        fail(name, f"qevo-poly keys: missing {missing}, unknown {extra}")
    vartype = vartype_from_name(doc["vartype"], name, "vartype")
    n = strict_int(doc["num_variables"], name, "num_variables")
    terms = doc["terms"]
    if not isinstance(terms, dict) or terms.keys() != _TERM_KEYS:
        fail(name, "terms must be an object with exactly the lists ptr, vars and coeff")
    raw_vars = terms["vars"]
    m = len(raw_vars) if isinstance(raw_vars, list) else 0
    check_budget(name, n, m, DEFAULT_MAX_BYTES)
    idx = index_list(raw_vars, name, "terms.vars", n)
    raw_ptr = terms["ptr"]
    if not isinstance(raw_ptr, list) or not raw_ptr:
        fail(name, "terms.ptr must be a non-empty list of offsets starting at 0")
    ptr = index_list(raw_ptr, name, "terms.ptr", m + 1)
    coef = float_list(terms["coeff"], name, "terms.coeff", len(ptr) - 1)
    offset = strict_number(doc["offset"], name, "offset")
    labels = labels_from_json(doc["labels"], name, "labels", n)
    table = make_table(labels, n, name, "labels")
    try:
        return PolynomialHamiltonian(
            ptr, idx, coef, offset, num_variables=n, vartype=vartype, variables=table
        )
    except QevoError as exc:
        fail(name, str(exc))


def read(path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> PolynomialHamiltonian:
    """Read a qevo-poly JSON file (files over ``max_bytes`` are refused before reading)."""
    name = path_name(path)
    text = decode_text(read_bounded(path, max_bytes), name)
    return from_document(load_json(text, name), name)


def read_ir(
    path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Hamiltonian | PolynomialHamiltonian:
    """A compile folder's IR file: qevo-ir JSON (a Hamiltonian) or qevo-poly JSON (the k-local
    polynomial of a circuits-only compile), told apart by its ``format`` key; parsed once."""
    from qevo_ir.formats import qevo_json

    name = path_name(path)
    doc = load_json(decode_text(read_bounded(path, max_bytes), name), name)
    if is_document(doc):
        return from_document(doc, name)
    return qevo_json.from_document(doc, name).hamiltonian
