"""OMMX (``ommx.v1.Instance``) import and export for :class:`ConstrainedModel`, and results as an
OMMX ``SampleSet`` so they feed any OMMX tool.

OMMX files are protobuf: they are size-capped before reading and parsed only by the ``ommx``
package's own parser (``Instance.from_bytes``), never executed. Binary and bounded integer
decision variables are read; any other kind (continuous, semi-continuous, semi-integer, or a kind
this version does not know) is refused with :class:`ValidationError`. Constraints must be linear.
Variable labels are the OMMX decision-variable ids; constraint names are the OMMX names, or
``"c<id>"``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from qevo_ir.constrained import (
    BINARY_KIND,
    INTEGER_KIND,
    SPIN_KIND,
    ConstrainedModel,
)
from qevo_ir.errors import FormatError, LimitExceeded, ValidationError
from qevo_ir.plugins import require
from qevo_ir.variables import VariableTable

__all__ = [
    "MAX_OMMX_BYTES",
    "from_ommx",
    "read_ommx",
    "read_qplib",
    "to_ommx",
    "to_ommx_sample_set",
    "to_ommx_solution",
]

#: The largest OMMX file :func:`read_ommx` reads (override with ``max_bytes``).
MAX_OMMX_BYTES = 256 * 1024 * 1024


def read_ommx(path: str | os.PathLike[str], *, max_bytes: int = MAX_OMMX_BYTES) -> ConstrainedModel:
    """Read an OMMX ``Instance`` file (protobuf bytes), size-capped, with OMMX's own parser."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise FormatError(f"{p}: cannot read ({exc.strerror})") from None
    if size > max_bytes:
        raise LimitExceeded(f"{p}: {size} bytes is over the OMMX size limit of {max_bytes} bytes")
    with open(p, "rb") as fh:
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise LimitExceeded(f"{p}: over the OMMX size limit of {max_bytes} bytes")
    return from_ommx(data, name=str(p))


def read_qplib(
    path: str | os.PathLike[str], *, max_bytes: int = MAX_OMMX_BYTES
) -> ConstrainedModel:
    """Read a QPLIB file (binary / integer problems) through OMMX's QPLIB reader, size-capped."""
    ommx = require("ommx.v1", "ommx")
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise FormatError(f"{p}: cannot read ({exc.strerror})") from None
    if size > max_bytes:
        raise LimitExceeded(f"{p}: {size} bytes is over the QPLIB size limit of {max_bytes} bytes")
    try:
        with _quiet_ommx():
            instance = ommx.Instance.load_qplib(str(p))
    except BaseException as exc:  # the Rust parser raises its own types (even PanicException)
        if isinstance(exc, KeyboardInterrupt | SystemExit | MemoryError):
            raise
        raise FormatError(f"{p}: not a QPLIB file OMMX reads ({_reason(exc)})") from None
    return from_ommx(instance, name=str(p))


def _reason(exc: BaseException) -> str:
    """The first line of what OMMX's Rust parser says, without its header and stack backtrace."""
    text = str(exc).split("Stack backtrace:", 1)[0]
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.startswith("Traceback for OMMX")
    ]
    return (lines[0] if lines else type(exc).__name__)[:200]


@contextlib.contextmanager
def _quiet_ommx() -> Iterator[None]:
    """OMMX's parser logs through Python's ``logging`` (e.g. "Unspecified ommx.v1.instance.Sense
    found, defaulting to Minimize"); its records are dropped while we parse, so a command's stderr
    stays one line. The sense is read from the instance afterwards like any other field."""
    logger = logging.getLogger("ommx")  # the parent of OMMX's "ommx.instance.parse" and others
    previous = logger.propagate
    sink = logging.NullHandler()
    logger.addHandler(sink)  # without a handler, logging's last resort would print warnings
    logger.propagate = False
    try:
        yield
    finally:
        logger.propagate = previous
        logger.removeHandler(sink)


def _instance_from_bytes(data: bytes, name: str) -> Any:
    ommx = require("ommx.v1", "ommx")
    try:
        with _quiet_ommx():
            return ommx.Instance.from_bytes(data)
    except BaseException as exc:  # the Rust parser raises its own types (even PanicException)
        if isinstance(exc, KeyboardInterrupt | SystemExit | MemoryError):
            raise
        empty = " (the file is empty)" if not data else ""
        raise FormatError(f"{name}: not an OMMX Instance{empty} ({_reason(exc)})") from None


def from_ommx(instance: Any, *, name: str = "<ommx>") -> ConstrainedModel:
    """A :class:`ConstrainedModel` from an ``ommx.v1.Instance`` (or its serialized bytes)."""
    ommx = require("ommx.v1", "ommx")
    if isinstance(instance, bytes | bytearray):
        instance = _instance_from_bytes(bytes(instance), name)
    if not isinstance(instance, ommx.Instance):
        raise ValidationError(f"from_ommx takes an ommx.v1.Instance, got {type(instance).__name__}")
    DV = ommx.DecisionVariable
    dvs = sorted(instance.decision_variables, key=lambda v: v.id)
    ids = [int(v.id) for v in dvs]
    kinds = np.empty(len(dvs), dtype=np.int8)
    lower = np.zeros(len(dvs))
    upper = np.ones(len(dvs))
    for k, v in enumerate(dvs):
        if v.kind == DV.BINARY:
            kinds[k] = BINARY_KIND
        elif v.kind == DV.INTEGER:
            kinds[k] = INTEGER_KIND
            lower[k], upper[k] = float(v.lower), float(v.upper)
        else:
            raise ValidationError(
                f"{name}: decision variable {v.id} ({v.name or 'unnamed'}) is of kind {v.kind}; "
                "only Binary and bounded Integer variables are supported"
            )
    table = VariableTable(ids)
    index = {x: i for i, x in enumerate(ids)}

    def col(var_id: int) -> int:
        got = index.get(int(var_id))
        if got is None:
            raise FormatError(f"{name}: a function uses undeclared decision variable {var_id}")
        return got

    terms = instance.objective.terms
    flat: list[int] = []
    ptr = [0]
    coef: list[float] = []
    offset = 0.0
    for term, value in terms.items():
        if not term:
            offset += float(value)
            continue
        flat.extend(col(i) for i in term)
        ptr.append(len(flat))
        coef.append(float(value))
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    rhs: list[float] = []
    senses: list[int] = []
    names: list[str] = []
    ckinds: list[str] = []
    eq = ommx.Constraint.EQUAL_TO_ZERO
    for k, c in enumerate(sorted(instance.constraints, key=lambda c: c.id)):
        constant = 0.0
        row_cols: list[int] = []
        row_vals: list[float] = []
        for term, value in c.function.terms.items():
            if len(term) == 0:
                constant += float(value)
            elif len(term) == 1:
                row_cols.append(col(term[0]))
                row_vals.append(float(value))
            else:
                raise ValidationError(
                    f"{name}: constraint {c.id} is not linear (term {term}); only linear "
                    "constraints are supported"
                )
        rows.extend([k] * len(row_cols))
        cols.extend(row_cols)
        vals.extend(row_vals)
        rhs.append(-constant)
        senses.append(0 if c.equality == eq else 1)
        names.append(c.name if c.name and c.name not in names else f"c{c.id}")
        is_one_hot = (
            c.equality == eq
            and constant == -1.0
            and all(v == 1.0 for v in row_vals)
            and all(kinds[j] == BINARY_KIND for j in row_cols)
        )
        ckinds.append("one-hot" if is_one_hot and row_cols else "linear")
    A = sp.csr_array(
        (np.asarray(vals), (np.asarray(rows, np.int64), np.asarray(cols, np.int64))),
        shape=(len(rhs), len(ids)),
    )
    return ConstrainedModel(
        variables=table,
        kinds=kinds,
        lower=lower,
        upper=upper,
        objective=(np.asarray(ptr, np.int64), np.asarray(flat, np.int64), np.asarray(coef)),
        offset=offset,
        A=A,
        rhs=np.asarray(rhs),
        senses=np.asarray(senses, np.int8),
        names=tuple(names),
        constraint_kinds=tuple(ckinds),
        sense="max" if instance.sense == ommx.Instance.MAXIMIZE else "min",
    )


def _ids(model: ConstrainedModel) -> list[int]:
    """OMMX ids: the labels when they are distinct non-negative ints, else the indices."""
    labels = model.labels
    if all(type(x) is int and x >= 0 for x in labels):
        return [int(x) for x in labels]  # type: ignore[call-overload]
    return list(range(model.num_variables))


def to_ommx(model: ConstrainedModel) -> Any:
    """An ``ommx.v1.Instance`` of ``model`` (binary and integer variables; spin is refused,
    since OMMX has no spin kind). Constraints keep their names; ``>=`` rows are negated."""
    ommx = require("ommx.v1", "ommx")
    if np.any(model.kinds == SPIN_KIND):
        raise ValidationError(
            "OMMX has no spin decision variables; declare them binary (s = 2x - 1) first"
        )
    ids = _ids(model)
    labels = model.labels
    dvs = []
    for k, i in enumerate(ids):
        nm = None if ids == list(labels) else str(labels[k])
        if model.kinds[k] == BINARY_KIND:
            dvs.append(ommx.DecisionVariable.binary(i, name=nm))
        else:
            dvs.append(
                ommx.DecisionVariable.integer(
                    i, lower=float(model.lower[k]), upper=float(model.upper[k]), name=nm
                )
            )
    p, idx, coef, off = model.objective
    terms: dict[tuple[int, ...], float] = {}
    for t in range(len(coef)):
        terms[tuple(ids[int(j)] for j in idx[p[t] : p[t + 1]])] = float(coef[t])
    if off:
        terms[()] = float(off)
    objective = ommx.Polynomial(terms=terms)
    A = model.constraint_matrix
    constraints = []
    for k, (name, sense) in enumerate(zip(model.constraint_names, model.senses, strict=True)):
        cols = A.indices[A.indptr[k] : A.indptr[k + 1]]
        vals = A.data[A.indptr[k] : A.indptr[k + 1]]
        sign = -1.0 if sense == ">=" else 1.0
        lin = ommx.Linear(
            terms={ids[int(j)]: sign * float(v) for j, v in zip(cols, vals, strict=True)},
            constant=-sign * float(model.rhs[k]),
        )
        equality = (
            ommx.Constraint.EQUAL_TO_ZERO
            if sense == "=="
            else (ommx.Constraint.LESS_THAN_OR_EQUAL_TO_ZERO)
        )
        constraints.append(ommx.Constraint(function=lin, equality=equality, id=k, name=name))
    return ommx.Instance.from_components(
        decision_variables=dvs,
        objective=objective,
        constraints=constraints,
        sense=ommx.Instance.MAXIMIZE if model.sense == "max" else ommx.Instance.MINIMIZE,
    )


def to_ommx_sample_set(
    model: ConstrainedModel,
    samples: npt.ArrayLike,
    instance: Any | None = None,
) -> Any:
    """Decoded samples ``(m, n)`` of ``model`` as an OMMX ``SampleSet`` (evaluated by OMMX on
    ``instance``, default :func:`to_ommx` of the model)."""
    inst = to_ommx(model) if instance is None else instance
    arr = model.check_samples(samples)
    ids = _ids(model)
    states: Mapping[int, Mapping[int, float]] = {
        k: {ids[j]: float(v) for j, v in enumerate(row)} for k, row in enumerate(arr.tolist())
    }
    return inst.evaluate_samples(states)


def to_ommx_solution(
    model: ConstrainedModel, sample: npt.ArrayLike, instance: Any | None = None
) -> Any:
    """One decoded sample ``(n,)`` of ``model`` as an OMMX ``Solution`` (evaluated by OMMX)."""
    inst = to_ommx(model) if instance is None else instance
    row = model.check_samples(np.asarray(sample).reshape(1, -1))[0]
    ids = _ids(model)
    return inst.evaluate({ids[j]: float(v) for j, v in enumerate(row.tolist())})
