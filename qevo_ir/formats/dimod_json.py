"""dimod's serialisable BQM (``BinaryQuadraticModel.to_serializable()``, ``bqm_schema`` 3), read and
written without dimod.

Labels and the offset are kept; provenance is not (dimod has no place for it). Indices are checked
before anything is built: dimod's own loader crashes the interpreter on out-of-range ones. See
``specs/format.md``.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.atomic import atomic_write_text
from qevo_ir.formats._common import (
    DEFAULT_MAX_BYTES,
    PathLike,
    build_hamiltonian,
    check_indices,
    decode_text,
    fail,
    float_list,
    index_list,
    labels_from_json,
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
from qevo_ir.variables import Label, VariableTable

__all__ = [
    "SCHEMA_VERSION",
    "dumps",
    "from_document",
    "loads",
    "read",
    "to_document",
    "write",
    "written",
]

#: The ``bqm_schema`` this module writes; any ``3.x.y`` is read.
SCHEMA_VERSION = "3.0.0"

# Names ``to_serializable`` writes as "type" (``type(bqm).__name__``) for BQM classes.
_TYPE_NAMES = frozenset(("BinaryQuadraticModel", "BQM", "Float64BQM", "Float32BQM"))
_BIAS_TYPES = frozenset(("float32", "float64"))
_INDEX_TYPES = frozenset(("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"))
_REQUIRED = (
    "type", "version", "variable_labels", "variable_type", "offset",
    "linear_biases", "quadratic_head", "quadratic_tail", "quadratic_biases",
)  # fmt: skip


def to_document(ham: Hamiltonian, *, drop_labels: bool = False) -> dict[str, Any]:
    """The dict ``to_serializable()`` would give for ``ham`` (``use_bytes=False``).

    Keys are in dimod's order. Labels are written in the Hamiltonian's order (dimod sorts them
    when it can; ``from_serializable`` accepts any order).
    """
    n = ham.num_variables
    labels: list[Any]
    if ham.variables.is_range or drop_labels:
        labels = list(range(n))
    else:
        labels = [_label_to_json(x) for x in ham.labels]
    return {
        "type": "BinaryQuadraticModel",
        "version": {"bqm_schema": SCHEMA_VERSION},
        "use_bytes": False,
        "index_type": "int32" if n < 2**31 else "int64",
        "bias_type": "float64",
        "num_variables": n,
        "num_interactions": ham.num_interactions,
        "variable_labels": labels,
        "variable_type": ham.vartype.value,
        "offset": float(ham.offset),
        "info": {},
        "linear_biases": ham.linear.tolist(),
        "quadratic_biases": ham.quad.tolist(),
        "quadratic_head": ham.row.tolist(),
        "quadratic_tail": ham.col.tolist(),
    }


def _label_to_json(label: Label) -> Any:
    if isinstance(label, tuple):
        return [_label_to_json(x) for x in label]
    return label


def dumps(ham: Hamiltonian, *, drop_labels: bool = False) -> str:
    """``ham`` as the JSON text of ``json.dumps(bqm.to_serializable())``, plus a newline."""
    return json.dumps(to_document(ham, drop_labels=drop_labels), allow_nan=False) + "\n"


def written(ham: Hamiltonian, *, drop_labels: bool = False) -> Hamiltonian:
    """What reading back a file written from ``ham`` gives: labels kept, provenance dropped."""
    if drop_labels or ham.variables.provenance is not None:
        table = (
            VariableTable.range(ham.num_variables)
            if drop_labels or ham.variables.is_range
            else VariableTable(ham.labels)
        )
        return ham.with_variables(table)
    return ham


def write(
    ham: Hamiltonian, path: PathLike, *, drop_labels: bool = False, force: bool = True
) -> Hamiltonian:
    """Write ``ham`` to ``path`` atomically; returns what :func:`read` gives back."""
    prepare_output(path, force)
    atomic_write_text(path, dumps(ham, drop_labels=drop_labels))
    return written(ham, drop_labels=drop_labels)


def from_document(doc: object, name: str = "<document>") -> Hamiltonian:
    """Validate a parsed serialisable BQM (a dict, as from ``json.load``) and build it.

    A dict straight from ``to_serializable(use_bytes=True)`` (bytes values) is accepted too, as
    are base64 strings in place of those bytes.
    """
    if not isinstance(doc, dict):
        fail(name, "a dimod BQM document must be a JSON object")
    kind = doc.get("type")
    if not isinstance(kind, str) or kind not in _TYPE_NAMES:
        fail(name, f'not a dimod BQM: expected "type": "BinaryQuadraticModel", got {kind!r}')
    _check_version(doc.get("version"), name)
    missing = [k for k in _REQUIRED if k not in doc]
    if missing:
        fail(name, f"missing key {', '.join(repr(k) for k in missing)}")
    use_bytes = doc.get("use_bytes", False)
    if not isinstance(use_bytes, bool):
        fail(name, "use_bytes must be true or false")
    raw_labels = doc["variable_labels"]
    if not isinstance(raw_labels, list):
        fail(name, "variable_labels must be a list")
    n = len(raw_labels)
    if "num_variables" in doc and strict_int(doc["num_variables"], name, "num_variables") != n:
        fail(name, f"num_variables = {doc['num_variables']}, but variable_labels has {n} entries")
    vartype = vartype_from_name(doc["variable_type"], name, "variable_type")
    offset = strict_number(doc["offset"], name, "offset")
    _check_types(doc, name, required=use_bytes)
    if use_bytes:
        linear, row, col, quad = _byte_arrays(doc, name, n)
    else:
        heads = doc["quadratic_head"]
        m = len(heads) if isinstance(heads, list) else 0
        row = index_list(heads, name, "quadratic_head", n)
        col = index_list(doc["quadratic_tail"], name, "quadratic_tail", n, m)
        linear = float_list(doc["linear_biases"], name, "linear_biases", n)
        quad = float_list(doc["quadratic_biases"], name, "quadratic_biases", m)
    m = len(quad)
    if "num_interactions" in doc:
        declared = strict_int(doc["num_interactions"], name, "num_interactions")
        if declared != m:
            fail(name, f"num_interactions = {declared}, but quadratic_head has {m} entries")
    labels = labels_from_json(raw_labels, name, "variable_labels", n)
    table = make_table(labels, n, name, "variable_labels")
    # dimod's own rules for vectors: repeated pairs add up; a self-loop folds (x² = x, s² = 1).
    return build_hamiltonian(
        name, vartype, linear, row, col, quad, offset, table,
        duplicates="sum", self_loops="fold", field="quadratic_head/tail",
    )  # fmt: skip


def _check_version(version: object, name: str) -> None:
    schema = version.get("bqm_schema") if isinstance(version, dict) else None
    if not isinstance(schema, str):
        fail(name, 'missing "version": {"bqm_schema": "3.0.0"}')
    major = schema.split(".")[0]
    if major != "3":
        fail(
            name,
            f"bqm_schema {schema!r} is not supported; this reader reads schema 3.x (dimod >= "
            "0.10); load it with that dimod and save it again",
        )


def _check_types(doc: dict[str, Any], name: str, *, required: bool) -> None:
    """``bias_type`` and ``index_type`` name dtypes dimod writes. ``use_bytes`` needs both to
    decode the arrays; JSON lists do not (dimod reads them as float64 whatever the keys say), but a
    value that is present must still be one dimod writes: anything else is a damaged file."""
    for key, allowed in (("bias_type", _BIAS_TYPES), ("index_type", _INDEX_TYPES)):
        value = doc.get(key)
        if value is None and not required:
            continue
        if not (isinstance(value, str) and value in allowed):
            if value is None:
                fail(name, f"use_bytes needs {key}, one of {sorted(allowed)}")
            fail(name, f"{key} must be one of {sorted(allowed)}, got {value!r}")


def _byte_arrays(
    doc: dict[str, Any], name: str, n: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64],
           npt.NDArray[np.float64]]:  # fmt: skip
    """Decode ``use_bytes=True`` arrays (bytes, or base64 text), indices checked first."""
    bias_type, index_type = doc["bias_type"], doc["index_type"]
    # dimod writes these with tobytes() in native order; every platform it ships on is
    # little-endian, so that is the order read here.
    bias_dtype = np.dtype(str(bias_type)).newbyteorder("<")
    index_dtype = np.dtype(str(index_type)).newbyteorder("<")
    head = _buffer(doc["quadratic_head"], name, "quadratic_head", index_dtype)
    tail = _buffer(doc["quadratic_tail"], name, "quadratic_tail", index_dtype)
    m = len(head)
    if len(tail) != m:
        fail(name, f"quadratic_tail has {len(tail)} entries, quadratic_head has {m}")
    check_indices(head, name, "quadratic_head", n)
    check_indices(tail, name, "quadratic_tail", n)
    linear = _buffer(doc["linear_biases"], name, "linear_biases", bias_dtype)
    quad = _buffer(doc["quadratic_biases"], name, "quadratic_biases", bias_dtype)
    if len(linear) != n:
        fail(name, f"linear_biases has {len(linear)} entries for {n} variables")
    if len(quad) != m:
        fail(name, f"quadratic_biases has {len(quad)} entries, quadratic_head has {m}")
    lin64 = linear.astype(np.float64)
    quad64 = quad.astype(np.float64)
    for what, arr in (("linear_biases", lin64), ("quadratic_biases", quad64)):
        if arr.size and not np.isfinite(arr).all():
            k = int(np.flatnonzero(~np.isfinite(arr))[0])
            fail(name, f"{what}[{k}] is not finite")
    return lin64, head.astype(np.int64), tail.astype(np.int64), quad64


def _buffer(value: object, name: str, field: str, dtype: np.dtype[Any]) -> npt.NDArray[Any]:
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
    elif isinstance(value, str):
        try:
            data = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            fail(
                name,
                f"{field}: use_bytes is true but the value is not base64; save the BQM with "
                "to_serializable(use_bytes=False) for JSON",
            )
    else:
        fail(
            name,
            f"{field}: use_bytes is true but the value is not bytes; save the BQM with "
            "to_serializable(use_bytes=False) for JSON",
        )
    if len(data) % dtype.itemsize:
        fail(name, f"{field}: {len(data)} bytes is not a whole number of {dtype.name} values")
    return np.frombuffer(data, dtype=dtype)


def loads(text: str, *, name: str = "<string>") -> Hamiltonian:
    """The Hamiltonian in the dimod BQM JSON ``text``."""
    return from_document(load_json(text, name), name)


def read(path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Hamiltonian:
    """Read a dimod BQM JSON file (files over ``max_bytes`` are refused before reading)."""
    name = path_name(path)
    return loads(decode_text(read_bounded(path, max_bytes), name), name=name)
