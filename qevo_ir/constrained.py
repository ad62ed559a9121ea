"""A constrained model: a polynomial objective over binary, spin and bounded-integer variables,
linear equality and inequality constraints with named kinds, and an objective sense.

This is the IR level above :class:`~qevo_ir.hamiltonian.Hamiltonian`: the ``penalize`` pass lowers
it to a :class:`~qevo_ir.polynomial.PolynomialHamiltonian` with a certified penalty weight, and
results decode back through :meth:`ConstrainedModel.evaluate` (objective in the source's sense,
feasibility, each constraint's violation). See ``specs/ir.md``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from qevo_ir.coo import as_value_array
from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.polynomial import (
    IDEMPOTENT,
    INVOLUTIVE,
    POWERS,
    PolynomialHamiltonian,
    canonical_terms,
    term_products,
)
from qevo_ir.variables import Label, VariableTable, check_label
from qevo_ir.vartypes import BINARY

__all__ = [
    "BINARY_KIND",
    "CONSTRAINT_KINDS",
    "INTEGER_KIND",
    "KIND_NAMES",
    "MAX_INTEGER_SPAN",
    "SPIN_KIND",
    "ConstrainedModel",
    "Constraint",
    "Evaluation",
    "at_most",
    "cardinality",
    "one_hot",
]

#: Variable kinds, stored as int8 codes in this order.
KIND_NAMES = ("binary", "spin", "integer")
BINARY_KIND, SPIN_KIND, INTEGER_KIND = 0, 1, 2
#: Constraint kinds: ``linear`` (any), and the named kinds over binary variables.
CONSTRAINT_KINDS = ("linear", "one-hot", "cardinality", "at-most-k")
#: Senses, stored as int8 codes in this order.
SENSES = ("==", "<=", ">=")
#: The widest integer range accepted (``upper - lower``); a wider one is "unbounded" here.
MAX_INTEGER_SPAN = 2**31

Sense = Literal["min", "max"]


@dataclass(frozen=True)
class Constraint:
    """One linear constraint ``Σ coefficients[v] · v  (==|<=|>=)  rhs`` over variable labels."""

    coefficients: Mapping[Any, float]
    sense: Literal["==", "<=", ">="]
    rhs: float
    name: str | None = None
    kind: str = "linear"


def one_hot(labels: Iterable[Any], name: str | None = None) -> Constraint:
    """Exactly one of the binary ``labels`` is 1."""
    return Constraint(dict.fromkeys(labels, 1.0), "==", 1.0, name, "one-hot")


def cardinality(labels: Iterable[Any], k: int, name: str | None = None) -> Constraint:
    """Exactly ``k`` of the binary ``labels`` are 1."""
    return Constraint(dict.fromkeys(labels, 1.0), "==", float(k), name, "cardinality")


def at_most(labels: Iterable[Any], k: int, name: str | None = None) -> Constraint:
    """At most ``k`` of the binary ``labels`` are 1."""
    return Constraint(dict.fromkeys(labels, 1.0), "<=", float(k), name, "at-most-k")


@dataclass(frozen=True, eq=False)
class Evaluation:
    """The truth about samples of a :class:`ConstrainedModel`, one row per sample.

    ``objective`` is in the model's sense (what the source maximises or minimises);
    ``violations[k, c]`` is ``|a·v − b|`` for an equality and ``max(0, a·v − b)`` for ``<=``
    (``max(0, b − a·v)`` for ``>=``); ``feasible[k]`` says every violation is within the
    tolerance ``1e-9 · max(1, |b| + Σ|a| · max|v|)`` of its row.
    """

    samples: npt.NDArray[np.int64]
    objective: npt.NDArray[np.float64]
    feasible: npt.NDArray[np.bool_]
    violations: npt.NDArray[np.float64]
    constraint_names: tuple[str, ...] = field(default=())

    @property
    def feasible_count(self) -> int:
        return int(np.count_nonzero(self.feasible))

    def best_feasible(self, sense: Sense) -> int | None:
        """Row of the best feasible sample in ``sense`` (``None`` when none is feasible)."""
        rows = np.flatnonzero(self.feasible)
        if not len(rows):
            return None
        obj = self.objective[rows]
        return int(rows[np.argmin(obj) if sense == "min" else np.argmax(obj)])


class ConstrainedModel:
    """An immutable constrained model (see the module doc and ``specs/ir.md``).

    Build one with :meth:`build` (labels, kinds and constraint objects) or the keyword-only
    constructor (arrays and a CSR constraint matrix, for importers and large models). Integer
    variables need finite bounds.
    """

    __slots__ = (
        "_A",
        "_cache",
        "_ckinds",
        "_kinds",
        "_lower",
        "_names",
        "_obj",
        "_rhs",
        "_sense",
        "_senses",
        "_upper",
        "_variables",
    )

    def __init__(
        self,
        *,
        variables: VariableTable,
        kinds: npt.NDArray[np.int8],
        lower: npt.NDArray[np.float64],
        upper: npt.NDArray[np.float64],
        objective: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]],
        offset: float,
        A: sp.csr_array,
        rhs: npt.NDArray[np.float64],
        senses: npt.NDArray[np.int8],
        names: tuple[str, ...],
        constraint_kinds: tuple[str, ...],
        sense: str = "min",
    ) -> None:
        n = len(variables)
        kinds = np.asarray(kinds, dtype=np.int8)
        if kinds.shape != (n,) or np.any((kinds < 0) | (kinds > 2)):
            raise ValidationError("kinds must hold one code 0 (binary), 1 (spin), 2 (integer) each")
        lower = np.asarray(lower, dtype=np.float64).copy()
        upper = np.asarray(upper, dtype=np.float64).copy()
        lower[kinds == BINARY_KIND], upper[kinds == BINARY_KIND] = 0.0, 1.0
        lower[kinds == SPIN_KIND], upper[kinds == SPIN_KIND] = -1.0, 1.0
        integer = kinds == INTEGER_KIND
        if integer.any():
            lo, hi = lower[integer], upper[integer]
            bad = ~(np.isfinite(lo) & np.isfinite(hi)) | (hi - lo > MAX_INTEGER_SPAN)
            if bad.any():
                k = int(np.flatnonzero(integer)[np.flatnonzero(bad)[0]])
                raise ValidationError(
                    f"integer variable {variables[k]!r} is unbounded (bounds [{lower[k]}, "
                    f"{upper[k]}]); give finite bounds whose range is at most 2**31"
                )
            if np.any(lo != np.round(lo)) or np.any(hi != np.round(hi)):
                lower[integer], upper[integer] = np.ceil(lo), np.floor(hi)
            if np.any(lower[integer] > upper[integer]):
                k = int(np.flatnonzero(integer & (lower > upper))[0])
                raise ValidationError(
                    f"integer variable {variables[k]!r} has an empty range "
                    f"[{lower[k]}, {upper[k]}]: the model is infeasible"
                )
        if sense not in ("min", "max"):
            raise ValidationError(f"sense must be 'min' or 'max', got {sense!r}")
        ptr, idx, coef = objective
        rule = np.where(
            kinds == BINARY_KIND, IDEMPOTENT, np.where(kinds == SPIN_KIND, INVOLUTIVE, POWERS)
        ).astype(np.int8)
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValidationError("objective term refers to a variable out of range")
        p, i, c, const = canonical_terms(ptr, idx, as_value_array(coef, "objective"), rule)
        off = float(offset) + const
        if not np.isfinite(off):
            raise ValidationError("objective offset is not finite")
        A = sp.csr_array(A, dtype=np.float64)
        A.sum_duplicates()
        A.eliminate_zeros()
        A.sort_indices()
        m = A.shape[0]
        if A.shape[1] != n:
            raise ValidationError(f"constraint matrix has {A.shape[1]} columns for {n} variables")
        if not np.isfinite(A.data).all():
            raise ValidationError("constraint coefficients must be finite")
        rhs = as_value_array(rhs, "constraint right-hand sides").copy()
        senses = np.asarray(senses, dtype=np.int8).copy()
        if len(rhs) != m or senses.shape != (m,) or np.any((senses < 0) | (senses > 2)):
            raise ValidationError("one rhs and one sense code (0 ==, 1 <=, 2 >=) per constraint")
        if len(names) != m or len(constraint_kinds) != m:
            raise ValidationError("one name and one kind per constraint")
        if len(set(names)) != m:
            dup = next(x for x in names if names.count(x) > 1)
            raise ValidationError(f"two constraints are called {dup!r}")
        for ck in constraint_kinds:
            if ck not in CONSTRAINT_KINDS:
                raise ValidationError(f"unknown constraint kind {ck!r}; known: {CONSTRAINT_KINDS}")
        for arr in (kinds, lower, upper, p, i, c, rhs, senses, A.data, A.indices, A.indptr):
            arr.flags.writeable = False
        self._variables = variables
        self._kinds = kinds
        self._lower = lower
        self._upper = upper
        self._obj = (p, i, c, off)
        self._A = A
        self._rhs = rhs
        self._senses = senses
        self._names = tuple(str(x) for x in names)
        self._ckinds = tuple(constraint_kinds)
        self._sense: Sense = "max" if sense == "max" else "min"
        self._cache: dict[str, Any] = {}
        self._check_bounds_feasible()

    # ---------------------------------------------------------------- constructors
    @classmethod
    def build(
        cls,
        variables: Mapping[Any, str | tuple[str, float, float]],
        objective: Mapping[tuple[Any, ...], float]
        | Hamiltonian
        | PolynomialHamiltonian
        | None = None,
        constraints: Sequence[Constraint] = (),
        *,
        offset: float = 0.0,
        sense: str = "min",
    ) -> ConstrainedModel:
        """A model from ``{label: "binary" | "spin" | ("integer", lower, upper)}``, an objective
        (``{(label, ...): coeff}`` with repeats allowed for integer powers, or a Hamiltonian /
        PolynomialHamiltonian whose labels are model variables of its vartype) and constraints.
        Constraint names default to ``c0, c1, ...``."""
        labels: list[Label] = []
        kinds: list[int] = []
        lower: list[float] = []
        upper: list[float] = []
        for label, spec in variables.items():
            labels.append(check_label(label))
            if isinstance(spec, str) and spec in ("binary", "spin"):
                kinds.append(KIND_NAMES.index(spec))
                lower.append(0.0)
                upper.append(1.0)
            elif isinstance(spec, tuple) and len(spec) == 3 and spec[0] == "integer":
                kinds.append(INTEGER_KIND)
                lower.append(float(spec[1]))
                upper.append(float(spec[2]))
            elif spec == "integer":
                raise ValidationError(
                    f"integer variable {label!r} is unbounded; declare it ('integer', lo, hi)"
                )
            else:
                raise ValidationError(
                    f"variable {label!r}: kind {spec!r} is not 'binary', 'spin' or "
                    "('integer', lower, upper)"
                )
        table = VariableTable(labels)
        ptr, idx, coef, off = _objective_arrays(objective, table, np.asarray(kinds, np.int8))
        rows, cols, vals, rhs, senses, names, ckinds = [], [], [], [], [], [], []
        for k, con in enumerate(constraints):
            if con.sense not in SENSES:
                raise ValidationError(f"constraint sense {con.sense!r} is not ==, <= or >=")
            for label, value in con.coefficients.items():
                rows.append(k)
                cols.append(table.index(label))
                vals.append(float(value))
            rhs.append(float(con.rhs))
            senses.append(SENSES.index(con.sense))
            names.append(con.name if con.name is not None else f"c{k}")
            ckinds.append(con.kind)
        A = sp.csr_array(
            (
                np.asarray(vals, np.float64),
                (np.asarray(rows, np.int64), np.asarray(cols, np.int64)),
            ),
            shape=(len(constraints), len(labels)),
        )
        model = cls(
            variables=table,
            kinds=np.asarray(kinds, np.int8),
            lower=np.asarray(lower),
            upper=np.asarray(upper),
            objective=(ptr, idx, coef),
            offset=off + float(offset),
            A=A,
            rhs=np.asarray(rhs, np.float64),
            senses=np.asarray(senses, np.int8),
            names=tuple(names),
            constraint_kinds=tuple(ckinds),
            sense=sense,
        )
        model._check_named_kinds()
        return model

    @classmethod
    def from_objective(
        cls, objective: Hamiltonian | PolynomialHamiltonian, sense: str = "max"
    ) -> ConstrainedModel:
        """An unconstrained model of a Hamiltonian or polynomial, to be optimised in ``sense``."""
        kind = BINARY_KIND if objective.vartype is BINARY else SPIN_KIND
        return cls.build(
            dict.fromkeys(objective.labels, KIND_NAMES[kind]), objective, (), sense=sense
        )

    # ---------------------------------------------------------------- accessors
    @property
    def variables(self) -> VariableTable:
        return self._variables

    @property
    def labels(self) -> tuple[Label, ...]:
        return self._variables.labels

    @property
    def kinds(self) -> npt.NDArray[np.int8]:
        return self._kinds

    @property
    def lower(self) -> npt.NDArray[np.float64]:
        return self._lower

    @property
    def upper(self) -> npt.NDArray[np.float64]:
        return self._upper

    @property
    def objective(
        self,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], float]:
        """``(term_ptr, term_vars, coeffs, offset)`` in canonical form (integer powers kept)."""
        return self._obj

    @property
    def constraint_matrix(self) -> sp.csr_array:
        return self._A

    @property
    def rhs(self) -> npt.NDArray[np.float64]:
        return self._rhs

    @property
    def senses(self) -> tuple[str, ...]:
        return tuple(SENSES[int(s)] for s in self._senses)

    @property
    def sense_codes(self) -> npt.NDArray[np.int8]:
        return self._senses

    @property
    def constraint_names(self) -> tuple[str, ...]:
        return self._names

    @property
    def constraint_kinds(self) -> tuple[str, ...]:
        return self._ckinds

    @property
    def sense(self) -> Sense:
        return self._sense

    @property
    def num_variables(self) -> int:
        return len(self._variables)

    @property
    def num_constraints(self) -> int:
        return len(self._rhs)

    @property
    def num_interactions(self) -> int:
        """Objective terms of degree 2 or more."""
        return int(np.count_nonzero(np.diff(self._obj[0]) >= 2))

    @property
    def degree(self) -> int:
        return int(np.diff(self._obj[0]).max(initial=0))

    def __len__(self) -> int:
        return self.num_variables

    def resources(self) -> dict[str, Any]:
        """The resource report entry: variables by kind, constraints by kind, degree, sense."""
        kinds = {KIND_NAMES[k]: int(np.count_nonzero(self._kinds == k)) for k in range(3)}
        ckinds = {k: self._ckinds.count(k) for k in CONSTRAINT_KINDS if k in self._ckinds}
        return {
            "sense": self._sense,
            "variables": self.num_variables,
            "variables_by_kind": kinds,
            "constraints": self.num_constraints,
            "constraints_by_kind": ckinds,
            "objective_terms": len(self._obj[2]),
            "degree": self.degree,
        }

    # ---------------------------------------------------------------- evaluation
    def check_samples(self, samples: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """``samples`` as an ``(m, n)`` int64 array of values inside every variable's domain."""
        arr = np.asarray(samples)
        if arr.ndim == 1:
            arr = arr[None, :]
        n = self.num_variables
        if arr.ndim != 2 or arr.shape[1] != n:
            raise ValidationError(f"samples must have shape (m, {n}), got {np.shape(samples)}")
        if arr.dtype.kind == "f":
            if not np.all(arr == np.round(arr)):
                raise ValidationError("samples must hold integer values")
        elif arr.dtype.kind not in "iub":
            raise ValidationError(f"samples must be integers, got dtype {arr.dtype}")
        out = arr.astype(np.int64)
        spin = self._kinds == SPIN_KIND
        ok = (out >= self._lower) & (out <= self._upper)
        if spin.any():
            ok[:, spin] &= out[:, spin] != 0
        if out.size and not ok.all():
            r, c = np.argwhere(~ok)[0]
            raise ValidationError(
                f"sample {int(r)} gives {self.labels[int(c)]!r} the value {int(out[r, c])}, "
                f"outside its domain ({KIND_NAMES[int(self._kinds[c])]} "
                f"[{self._lower[c]:g}, {self._upper[c]:g}])"
            )
        return out

    def objectives(self, samples: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The objective (in the model's sense, never negated) of each sample row."""
        arr = self.check_samples(samples)
        p, i, c, off = self._obj
        return term_products(arr, p, i, c) + off

    def evaluate(self, samples: npt.ArrayLike) -> Evaluation:
        """Objective, feasibility and each constraint's violation for each sample row."""
        arr = self.check_samples(samples)
        p, i, c, off = self._obj
        obj = term_products(arr, p, i, c) + off
        activity = np.asarray(self._A @ arr.T.astype(np.float64)).T  # (m, C)
        resid = activity - self._rhs
        viol = np.where(
            self._senses == 0,
            np.abs(resid),
            np.where(self._senses == 1, np.maximum(resid, 0.0), np.maximum(-resid, 0.0)),
        )
        feasible = np.all(viol <= self._tolerances(), axis=1)
        return Evaluation(arr, obj, feasible, viol, self._names)

    def _tolerances(self) -> npt.NDArray[np.float64]:
        if "tol" not in self._cache:
            mag = np.maximum(np.abs(self._lower), np.abs(self._upper))
            scale = np.abs(self._A) @ mag + np.abs(self._rhs)
            self._cache["tol"] = 1e-9 * np.maximum(1.0, scale)
        return self._cache["tol"]  # type: ignore[no-any-return]

    def row_ranges(self) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """``(min, max)`` of each constraint's activity ``a·v`` over the variables' box."""
        A = self._A.tocoo()
        lo = self._lower[A.col] * A.data
        hi = self._upper[A.col] * A.data
        m = A.shape[0]
        rmin = np.bincount(A.row, weights=np.minimum(lo, hi), minlength=m)
        rmax = np.bincount(A.row, weights=np.maximum(lo, hi), minlength=m)
        return np.asarray(rmin, dtype=np.float64), np.asarray(rmax, dtype=np.float64)

    def _check_bounds_feasible(self) -> None:
        """Refuse a constraint no assignment in the box satisfies (the cheap bound test)."""
        if not self.num_constraints:
            return
        rmin, rmax = self.row_ranges()
        tol = self._tolerances()
        b, s = self._rhs, self._senses
        bad = ((s == 0) & ((b < rmin - tol) | (b > rmax + tol))) | ((s == 1) & (rmin > b + tol))
        bad |= (s == 2) & (rmax < b - tol)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValidationError(
                f"constraint {self._names[k]!r} ({SENSES[int(s[k])]} {b[k]:g}) cannot hold: over "
                f"the variables' bounds its left side ranges over [{rmin[k]:g}, {rmax[k]:g}]; "
                "the model is infeasible"
            )

    def _check_named_kinds(self) -> None:
        A = self._A
        for k, kind in enumerate(self._ckinds):
            if kind == "linear":
                continue
            cols = A.indices[A.indptr[k] : A.indptr[k + 1]]
            vals = A.data[A.indptr[k] : A.indptr[k + 1]]
            if np.any(self._kinds[cols] != BINARY_KIND) or np.any(vals != 1.0):
                raise ValidationError(
                    f"constraint {self._names[k]!r} of kind {kind!r} must sum binary variables "
                    "with coefficient 1"
                )

    # ---------------------------------------------------------------- identity
    def content_hash(self) -> str:
        if "hash" not in self._cache:
            h = hashlib.sha256()
            h.update(f"qevo-ir:constrained:v1:{self._sense}:{self.num_variables}:".encode())
            p, i, c, off = self._obj
            A = self._A
            for arr in (
                self._kinds, self._lower, self._upper, p, i, c, np.float64(off),
                A.indptr.astype(np.int64), A.indices.astype(np.int64), A.data, self._rhs,
                self._senses,
            ):  # fmt: skip
                a = np.ascontiguousarray(arr)
                h.update(a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes())
            h.update(json.dumps([list(self._names), list(self._ckinds)]).encode())
            if not self._variables.is_range:
                h.update(json.dumps(_jsonable(self.labels)).encode())
            self._cache["hash"] = h.hexdigest()
        return self._cache["hash"]  # type: ignore[no-any-return]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConstrainedModel):
            return NotImplemented
        return self.content_hash() == other.content_hash()

    def __hash__(self) -> int:
        return hash(self.content_hash())

    def __repr__(self) -> str:
        return (
            f"ConstrainedModel({self._sense}, num_variables={self.num_variables}, "
            f"num_constraints={self.num_constraints}, degree={self.degree})"
        )


def _jsonable(labels: Iterable[Any]) -> list[Any]:
    return [_jsonable(x) if isinstance(x, tuple) else x for x in labels]


def _objective_arrays(
    objective: Mapping[tuple[Any, ...], float] | Hamiltonian | PolynomialHamiltonian | None,
    table: VariableTable,
    kinds: npt.NDArray[np.int8],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64], float]:
    if objective is None:
        return np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0), 0.0
    if isinstance(objective, Hamiltonian):
        objective = PolynomialHamiltonian.from_hamiltonian(objective)
    if isinstance(objective, PolynomialHamiltonian):
        want = BINARY_KIND if objective.vartype is BINARY else SPIN_KIND
        remap = table.indices(objective.labels)
        if np.any(kinds[remap] != want):
            k = int(np.flatnonzero(kinds[remap] != want)[0])
            raise ValidationError(
                f"the {objective.vartype} objective uses {objective.labels[k]!r}, which the model "
                f"declares {KIND_NAMES[int(kinds[remap[k]])]}"
            )
        return (
            objective.term_ptr.copy(),
            remap[objective.term_vars],
            objective.coeffs.copy(),
            objective.offset,
        )
    flat: list[int] = []
    ptr = [0]
    coef: list[float] = []
    offset = 0.0
    for term, value in objective.items():
        if not isinstance(term, tuple):
            raise ValidationError(f"objective term {term!r} is not a tuple of labels")
        if not term:
            offset += float(value)
            continue
        flat.extend(table.index(x) for x in term)
        ptr.append(len(flat))
        coef.append(float(value))
    return np.asarray(ptr, np.int64), np.asarray(flat, np.int64), np.asarray(coef), offset
