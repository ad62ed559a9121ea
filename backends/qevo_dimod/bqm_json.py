"""The ``bqm.json`` format: dimod's ``to_serializable(use_bytes=False)`` document, read safely.

dimod's ``from_serializable`` trusts its input (an index of 2**31 crashes the interpreter), so the
document is validated here first — types, lengths, index ranges, finite biases, labels — and only
validated numpy arrays are handed to dimod.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import FormatError, LabelError
from qevo_ir.formats import load_json, read_text_file
from qevo_ir.plugins import require
from qevo_ir.variables import Label, VariableTable, check_label

if TYPE_CHECKING:
    import dimod

__all__ = [
    "JSON_MAX_BYTES",
    "dumps_bqm_json",
    "loads_bqm_json",
    "read_bqm_json",
    "validate_bqm_json",
]

#: Files larger than this are refused before they are parsed.
JSON_MAX_BYTES = 1 << 30

_SCHEMA = re.compile(r"^[23]\.\d+\.\d+$")  # the versions dimod 0.12 reads with use_bytes=False
_INT32_MAX = (1 << 31) - 1


def dumps_bqm_json(bqm: dimod.BinaryQuadraticModel) -> str:
    """The BQM as dimod's ``to_serializable(use_bytes=False)`` JSON, in the BQM's variable order.

    ``to_serializable`` sorts sortable labels, which would permute the IR's variable order; this
    writes the same schema with the variables in ``bqm.variables`` order instead (dimod's
    ``from_serializable`` keeps that order). Floats are written at full precision.
    """
    doc = bqm_document(bqm)
    try:
        return json.dumps(doc, allow_nan=False, default=_json_default) + "\n"
    except ValueError as exc:
        raise FormatError(f"the BQM cannot be written as JSON: {exc}") from None


def bqm_document(bqm: dimod.BinaryQuadraticModel) -> dict[str, Any]:
    """The ``to_serializable(use_bytes=False)`` document of ``bqm`` with its variable order kept."""
    dimod_ = require("dimod", "dimod")
    # The header fields (type, schema version, dtypes) exactly as this dimod writes them.
    doc: dict[str, Any] = dimod_.BinaryQuadraticModel.empty(bqm.vartype).to_serializable(
        use_bytes=False
    )
    labels = list(bqm.variables)
    vectors = bqm.to_numpy_vectors(variable_order=labels, sort_indices=True)
    quadratic = vectors.quadratic
    doc.update(
        num_variables=len(labels),
        num_interactions=len(quadratic.biases),
        variable_labels=[_json_label(x) for x in labels],
        offset=float(vectors.offset),
        linear_biases=np.asarray(vectors.linear_biases, dtype=np.float64).tolist(),
        quadratic_biases=np.asarray(quadratic.biases, dtype=np.float64).tolist(),
        quadratic_head=np.asarray(quadratic.row_indices, dtype=np.int64).tolist(),
        quadratic_tail=np.asarray(quadratic.col_indices, dtype=np.int64).tolist(),
    )
    return doc


def _json_label(label: object) -> Any:
    return [_json_label(x) for x in label] if isinstance(label, tuple) else label


def _json_default(value: object) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def read_bqm_json(
    path: str | os.PathLike[str], *, max_bytes: int = JSON_MAX_BYTES
) -> dimod.BinaryQuadraticModel:
    """Read ``bqm.json`` into a BQM, validating the document before dimod sees it."""
    text = read_text_file(path, max_bytes=max_bytes)
    return loads_bqm_json(text, source=os.fspath(path))


def loads_bqm_json(text: str, *, source: str = "<string>") -> dimod.BinaryQuadraticModel:
    """Parse ``bqm.json`` text into a BQM (see :func:`validate_bqm_json`)."""
    doc = load_json(text, source)
    clean = validate_bqm_json(doc, source=source)
    dimod_ = require("dimod", "dimod")
    bqm: dimod.BinaryQuadraticModel = dimod_.BinaryQuadraticModel.from_serializable(clean)
    return bqm


def validate_bqm_json(doc: object, *, source: str = "<string>") -> dict[str, Any]:
    """Check a ``to_serializable(use_bytes=False)`` document; return it with validated arrays.

    Checked: ``type``, ``version.bqm_schema`` (2.x or 3.x), ``use_bytes`` false, the vartype,
    ``num_variables``/``num_interactions`` against the array lengths, labels (int, str, tuples;
    unique), every bias a finite number, every head/tail an int in ``[0, num_variables)`` with
    head ≠ tail. Raises :class:`FormatError` naming ``source`` and the field.
    """
    if not isinstance(doc, Mapping):
        raise FormatError(f"{source}: expected a JSON object, got {type(doc).__name__}")
    if doc.get("type") != "BinaryQuadraticModel":
        raise FormatError(f"{source}: field 'type' must be 'BinaryQuadraticModel'")
    version = doc.get("version")
    schema = version.get("bqm_schema") if isinstance(version, Mapping) else None
    if not isinstance(schema, str) or not _SCHEMA.match(schema):
        raise FormatError(
            f"{source}: field 'version.bqm_schema' must be a 2.x or 3.x version string, "
            f"got {schema!r}"
        )
    if doc.get("use_bytes") is not False:
        raise FormatError(
            f"{source}: field 'use_bytes' must be false "
            "(write it with to_serializable(use_bytes=False))"
        )
    vartype = doc.get("variable_type")
    if vartype not in ("SPIN", "BINARY"):
        raise FormatError(f"{source}: field 'variable_type' must be 'SPIN' or 'BINARY'")
    n = _count(doc, "num_variables", source)
    m = _count(doc, "num_interactions", source)
    raw_labels = doc.get("variable_labels")
    if not isinstance(raw_labels, list) or len(raw_labels) != n:
        raise FormatError(f"{source}: field 'variable_labels' must be a list of {n} labels")
    try:
        labels: list[Label] = [check_label(x) for x in raw_labels]
        VariableTable(labels)  # refuses duplicates
    except LabelError as exc:
        raise FormatError(f"{source}: field 'variable_labels': {exc}") from None
    linear = _floats(doc, "linear_biases", n, source)
    quad = _floats(doc, "quadratic_biases", m, source)
    head = _indices(doc, "quadratic_head", m, n, source)
    tail = _indices(doc, "quadratic_tail", m, n, source)
    if np.any(head == tail):
        k = int(np.flatnonzero(head == tail)[0])
        raise FormatError(f"{source}: interaction {k} couples variable {int(head[k])} to itself")
    offset = doc.get("offset")
    if isinstance(offset, bool) or not isinstance(offset, int | float) or not np.isfinite(offset):
        raise FormatError(f"{source}: field 'offset' must be a finite number")
    return {
        "type": "BinaryQuadraticModel",
        "version": {"bqm_schema": schema},
        "use_bytes": False,
        "index_type": "int64",
        "bias_type": "float64",
        "num_variables": n,
        "num_interactions": m,
        "variable_labels": labels,
        "variable_type": vartype,
        "offset": float(offset),
        "info": {},
        "linear_biases": linear,
        "quadratic_biases": quad,
        "quadratic_head": head,
        "quadratic_tail": tail,
    }


def _count(doc: Mapping[str, Any], field: str, source: str) -> int:
    value = doc.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _INT32_MAX:
        raise FormatError(f"{source}: field {field!r} must be an integer in [0, 2**31)")
    return value


def _numbers(doc: Mapping[str, Any], field: str, length: int, source: str) -> npt.NDArray[Any]:
    value = doc.get(field)
    if not isinstance(value, list) or len(value) != length:
        raise FormatError(f"{source}: field {field!r} must be a list of {length} numbers")
    if length == 0:
        return np.zeros(0)
    # No dtype given: numpy would otherwise turn the string "1.5" into a number.
    try:
        arr = np.asarray(value)
    except ValueError:
        raise FormatError(f"{source}: field {field!r} must be a flat list of numbers") from None
    if arr.ndim != 1 or arr.dtype.kind not in "iuf":
        raise FormatError(f"{source}: field {field!r} must be a flat list of numbers")
    return arr


def _floats(
    doc: Mapping[str, Any], field: str, length: int, source: str
) -> npt.NDArray[np.float64]:
    arr = _numbers(doc, field, length, source).astype(np.float64)
    if not np.all(np.isfinite(arr)):
        k = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise FormatError(f"{source}: field {field!r}[{k}] is not a finite number")
    return arr


def _indices(
    doc: Mapping[str, Any], field: str, length: int, n: int, source: str
) -> npt.NDArray[np.int64]:
    arr = _numbers(doc, field, length, source)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise FormatError(f"{source}: field {field!r} must hold integers")
    bad = np.flatnonzero((arr < 0) | (arr >= n))
    if bad.size:
        k = int(bad[0])
        raise FormatError(
            f"{source}: field {field!r}[{k}] = {int(arr[k])} is out of range for {n} variables"
        )
    return arr.astype(np.int64)
