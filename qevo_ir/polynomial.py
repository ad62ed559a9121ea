"""A k-local (polynomial) energy function over SPIN or BINARY variables, stored as arrays.

``E(v) = offset + Σ_t coeffs[t] Π_{i ∈ term t} v_i``. Terms are stored in CSR form: term ``t``
is ``term_vars[term_ptr[t]:term_ptr[t+1]]``. The canonical form (see ``specs/ir.md``): each term's
variables ascending and distinct (``x² = x`` for BINARY, ``s² = 1`` for SPIN), terms sorted by
degree then lexicographically, duplicates summed, zeros dropped, the empty term in ``offset``.
The helpers here (:func:`canonical_terms`, :func:`term_products`) also serve the objective of a
:class:`~qevo_ir.constrained.ConstrainedModel`, whose integer variables keep their powers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.coo import as_value_array
from qevo_ir.errors import LimitExceeded, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.variables import Label, VariableTable, check_label
from qevo_ir.vartypes import BINARY, SPIN, Vartype, as_vartype

__all__ = [
    "IDEMPOTENT",
    "INVOLUTIVE",
    "MAX_EXPANDED_DEGREE",
    "POWERS",
    "PolynomialHamiltonian",
    "canonical_terms",
    "term_products",
]

# How a repeated variable in a term reduces: x·x = x, s·s = 1, or (integers) kept as a power.
IDEMPOTENT = 0
INVOLUTIVE = 1
POWERS = 2

#: A spin/binary change of variables expands a degree-d term into 2**d terms; above this degree
#: it is refused (``LimitExceeded``) rather than allocating 2**d rows per term.
MAX_EXPANDED_DEGREE = 16

_SENTINEL = np.iinfo(np.int64).max
# Samples × terms per chunk of the product evaluation (float64 work arrays of about 32 MB).
_PRODUCT_CHUNK = 4 * 1024 * 1024

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


# ----------------------------------------------------------------------------- canonical form
def _padded(ptr: IntArray, idx: IntArray) -> tuple[IntArray, IntArray]:
    """Terms as a ``(T, D)`` matrix padded with a sentinel (larger than any index), and degrees."""
    deg = np.diff(ptr)
    t = len(deg)
    width = int(deg.max(initial=0))
    mat = np.full((t, max(width, 1)), _SENTINEL, dtype=np.int64)
    if idx.size:
        rows = np.repeat(np.arange(t), deg)
        cols = np.arange(len(idx)) - np.repeat(ptr[:-1], deg)
        mat[rows, cols] = idx
    return mat, deg


def canonical_terms(
    ptr: IntArray,
    idx: IntArray,
    coef: FloatArray,
    rule: npt.NDArray[np.int8],
    *,
    keep_zeros: bool = False,
) -> tuple[IntArray, IntArray, FloatArray, float]:
    """The canonical ``(ptr, idx, coef, constant)`` of a list of terms (see the module doc).

    ``rule[v]`` says how a repeated variable ``v`` reduces (:data:`IDEMPOTENT`,
    :data:`INVOLUTIVE`, :data:`POWERS`); ``idx`` must already be valid indices into ``rule``.
    Empty terms (after reduction) are summed into the returned constant.
    """
    mat, _ = _padded(ptr, idx)
    t, width = mat.shape
    if t == 0:
        return np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0), 0.0
    mat.sort(axis=1)
    valid = mat != _SENTINEL
    if width > 1:
        same_prev = np.zeros_like(valid)
        same_prev[:, 1:] = (mat[:, 1:] == mat[:, :-1]) & valid[:, 1:]
        if same_prev.any():
            safe = np.where(valid, mat, 0)
            r = np.where(valid, rule[safe], POWERS)
            # occurrences of each entry's value in its row (D is small: an O(D²) count is fine)
            count = (mat[:, :, None] == mat[:, None, :]).sum(axis=2)
            first = valid & ~same_prev
            keep = np.where(
                r == IDEMPOTENT, first, np.where(r == INVOLUTIVE, first & (count % 2 == 1), valid)
            )
            mat = np.where(keep, mat, _SENTINEL)
            mat.sort(axis=1)
            valid = mat != _SENTINEL
    deg = valid.sum(axis=1)
    width = int(deg.max(initial=0))
    mat = mat[:, : max(width, 1)]
    # sort by degree, then lexicographically; merge equal rows
    keys = [mat[:, k] for k in range(mat.shape[1] - 1, -1, -1)] + [deg]
    order = np.lexsort(keys)
    mat, deg, c = mat[order], deg[order], coef[order]
    if t > 1:
        new = np.ones(t, dtype=bool)
        new[1:] = (deg[1:] != deg[:-1]) | np.any(mat[1:] != mat[:-1], axis=1)
        starts = np.flatnonzero(new)
        c = np.add.reduceat(c, starts)
        mat, deg = mat[starts], deg[starts]
    constant = float(c[deg == 0].sum())
    keep = deg > 0
    if not keep_zeros:
        keep &= c != 0
    mat, deg, c = mat[keep], deg[keep], c[keep]
    new_ptr = np.zeros(len(deg) + 1, dtype=np.int64)
    np.cumsum(deg, out=new_ptr[1:])
    new_idx = mat[mat != _SENTINEL] if len(deg) else np.zeros(0, np.int64)
    return new_ptr, np.ascontiguousarray(new_idx, dtype=np.int64), np.ascontiguousarray(c), constant


def degree_groups(ptr: IntArray) -> list[tuple[int, int, int]]:
    """``(degree, first term, end term)`` of each run of equal degree (canonical terms)."""
    deg = np.diff(ptr)
    if not len(deg):
        return []
    cuts = np.flatnonzero(np.diff(deg)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(deg)]])
    return [(int(deg[a]), int(a), int(b)) for a, b in zip(starts, ends, strict=True)]


def term_products(
    values: npt.NDArray[Any], ptr: IntArray, idx: IntArray, coef: FloatArray
) -> FloatArray:
    """``Σ_t coef[t] Π_{i ∈ t} values[:, i]`` for every row of ``values`` (terms grouped by
    degree, as in the canonical form), vectorised per degree and chunked over samples."""
    m = values.shape[0]
    out = np.zeros(m, dtype=np.float64)
    for d, a, b in degree_groups(ptr):
        mat = idx[ptr[a] : ptr[b]].reshape(b - a, d)
        c = coef[a:b]
        rows = max(1, _PRODUCT_CHUNK // max(1, b - a))
        for s in range(0, m, rows):
            v = values[s : s + rows]
            acc = v[:, mat[:, 0]].astype(np.float64)
            for k in range(1, d):
                acc *= v[:, mat[:, k]]
            out[s : s + rows] += acc @ c
    return out


def _as_table(variables: VariableTable | Iterable[object] | None, n: int) -> VariableTable:
    if variables is None:
        return VariableTable.range(n)
    if isinstance(variables, VariableTable):
        if len(variables) != n:
            raise ValidationError(f"variable table has {len(variables)} entries for {n} variables")
        return variables
    return VariableTable(variables, num_variables=n)


def _check_ptr(ptr: npt.ArrayLike, idx_len: int) -> IntArray:
    p = np.asarray(ptr)
    if p.ndim != 1 or p.size == 0 or p.dtype.kind not in "iu":
        raise ValidationError("term_ptr must be a 1-D integer array starting at 0")
    p = p.astype(np.int64)
    if p[0] != 0 or p[-1] != idx_len or np.any(np.diff(p) < 0):
        raise ValidationError(
            f"term_ptr must start at 0, be non-decreasing and end at len(term_vars) = {idx_len}"
        )
    return p


def _check_idx(idx: npt.ArrayLike, n: int) -> IntArray:
    arr = np.asarray(idx)
    if arr.size == 0:
        return np.zeros(0, np.int64)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValidationError("term_vars must be a 1-D integer array")
    if arr.min() < 0 or arr.max() >= n:
        raise ValidationError(
            f"term_vars: index {int(arr.max() if arr.max() >= n else arr.min())} is out of range "
            f"for {n} variables"
        )
    return arr.astype(np.int64)


# ----------------------------------------------------------------------------- the IR type
class PolynomialHamiltonian:
    """An immutable polynomial (k-local) energy function over SPIN or BINARY variables.

    Build one with :meth:`from_terms` (``{(label, ...): coeff}``), :meth:`from_hamiltonian`, or the
    constructor (CSR arrays indexed ``0..n-1``, canonicalised here). Every array is read-only.
    """

    __slots__ = ("_cache", "_coef", "_idx", "_offset", "_ptr", "_variables", "_vartype")

    def __init__(
        self,
        term_ptr: npt.ArrayLike,
        term_vars: npt.ArrayLike,
        coeffs: npt.ArrayLike,
        offset: float = 0.0,
        *,
        num_variables: int,
        vartype: Vartype | str,
        variables: VariableTable | Iterable[object] | None = None,
        keep_zeros: bool = False,
    ) -> None:
        vt = as_vartype(vartype)
        n = int(num_variables)
        if n < 0:
            raise ValidationError("num_variables must be >= 0")
        idx = _check_idx(term_vars, n)
        ptr = _check_ptr(term_ptr, len(idx))
        coef = as_value_array(coeffs, "coefficients").copy()
        if len(coef) != len(ptr) - 1:
            raise ValidationError(f"{len(coef)} coefficients for {len(ptr) - 1} terms")
        off = float(offset)
        if not np.isfinite(off):
            raise ValidationError(f"offset {off!r} is not finite")
        rule = np.full(n, IDEMPOTENT if vt is BINARY else INVOLUTIVE, dtype=np.int8)
        p, i, c, const = canonical_terms(ptr, idx, coef, rule, keep_zeros=keep_zeros)
        self._init(vt, p, i, c, off + const, _as_table(variables, n))

    def _init(
        self,
        vartype: Vartype,
        ptr: IntArray,
        idx: IntArray,
        coef: FloatArray,
        offset: float,
        variables: VariableTable,
    ) -> None:
        for arr in (ptr, idx, coef):
            arr.flags.writeable = False
        if not (np.isfinite(coef).all() and np.isfinite(offset)):
            raise ValidationError("polynomial coefficients overflow float64; rescale first")
        self._vartype = vartype
        self._ptr = ptr
        self._idx = idx
        self._coef = coef
        self._offset = float(offset)
        self._variables = variables
        self._cache: dict[str, Any] = {}

    @classmethod
    def _trusted(
        cls,
        vartype: Vartype,
        ptr: IntArray,
        idx: IntArray,
        coef: FloatArray,
        offset: float,
        variables: VariableTable,
    ) -> PolynomialHamiltonian:
        self = cls.__new__(cls)
        self._init(vartype, ptr, idx, coef, offset, variables)
        return self

    @classmethod
    def _from_raw(
        cls,
        vartype: Vartype,
        ptr: IntArray,
        idx: IntArray,
        coef: FloatArray,
        offset: float,
        variables: VariableTable,
    ) -> PolynomialHamiltonian:
        """Canonicalise already-validated raw terms (internal)."""
        rule = np.full(len(variables), IDEMPOTENT if vartype is BINARY else INVOLUTIVE, np.int8)
        p, i, c, const = canonical_terms(ptr, idx, coef, rule)
        return cls._trusted(vartype, p, i, c, offset + const, variables)

    @classmethod
    def from_terms(
        cls,
        terms: Mapping[tuple[Any, ...], float],
        offset: float = 0.0,
        *,
        vartype: Vartype | str,
        variables: Iterable[object] | None = None,
    ) -> PolynomialHamiltonian:
        """``{(label, ...): coeff}``; the empty tuple adds to the offset. Labels are ordered by
        ``variables`` when given (every label must be in it), else by first appearance."""
        index: dict[Label, int] = {}
        labels: list[Label] = []
        if variables is not None:
            for x in variables:
                key = check_label(x)
                if key in index:
                    raise ValidationError(f"duplicate variable label {key!r}")
                index[key] = len(labels)
                labels.append(key)
        fixed = variables is not None
        flat: list[int] = []
        ptr = [0]
        coefs: list[float] = []
        for term, value in terms.items():
            if not isinstance(term, tuple):
                raise ValidationError(f"term {term!r} is not a tuple of labels")
            for x in term:
                key = check_label(x)
                got = index.get(key)
                if got is None:
                    if fixed:
                        raise ValidationError(f"term {term!r} uses unknown variable {key!r}")
                    got = index[key] = len(labels)
                    labels.append(key)
                flat.append(got)
            ptr.append(len(flat))
            coefs.append(float(value))
        n = len(labels)
        return cls(
            np.asarray(ptr, np.int64),
            np.asarray(flat, np.int64),
            np.asarray(coefs, np.float64),
            offset,
            num_variables=n,
            vartype=vartype,
            variables=VariableTable(labels),
        )

    @classmethod
    def from_hamiltonian(cls, ham: Hamiltonian) -> PolynomialHamiltonian:
        """The same energy function (linear terms then couplings), exactly."""
        n = ham.num_variables
        lin_idx = np.flatnonzero(ham.linear)
        m = ham.num_interactions
        idx = np.empty(len(lin_idx) + 2 * m, dtype=np.int64)
        idx[: len(lin_idx)] = lin_idx
        idx[len(lin_idx) :: 2] = ham.row
        idx[len(lin_idx) + 1 :: 2] = ham.col
        deg = np.concatenate([np.ones(len(lin_idx), np.int64), np.full(m, 2, np.int64)])
        ptr = np.zeros(len(deg) + 1, np.int64)
        np.cumsum(deg, out=ptr[1:])
        coef = np.concatenate([ham.linear[lin_idx], ham.quad])
        # linear terms sorted by index, then couplings in canonical (row, col) order: canonical
        del n
        return cls._trusted(ham.vartype, ptr, idx, coef.copy(), ham.offset, ham.variables)

    @classmethod
    def empty(cls, vartype: Vartype | str = BINARY) -> PolynomialHamiltonian:
        return cls(np.zeros(1, np.int64), [], [], num_variables=0, vartype=vartype)

    # ---------------------------------------------------------------- accessors
    @property
    def vartype(self) -> Vartype:
        return self._vartype

    @property
    def term_ptr(self) -> IntArray:
        return self._ptr

    @property
    def term_vars(self) -> IntArray:
        return self._idx

    @property
    def coeffs(self) -> FloatArray:
        return self._coef

    @property
    def offset(self) -> float:
        return self._offset

    @property
    def variables(self) -> VariableTable:
        return self._variables

    @property
    def labels(self) -> tuple[Label, ...]:
        return self._variables.labels

    @property
    def num_variables(self) -> int:
        return len(self._variables)

    @property
    def num_terms(self) -> int:
        return len(self._coef)

    @property
    def num_interactions(self) -> int:
        """Terms of degree 2 or more (what a report counts as interactions)."""
        return int(np.count_nonzero(np.diff(self._ptr) >= 2))

    @property
    def degree(self) -> int:
        """The largest term degree (0 for a constant)."""
        return int(np.diff(self._ptr).max(initial=0))

    def __len__(self) -> int:
        return self.num_variables

    def resources(self) -> dict[str, Any]:
        """The resource report entry: variables, terms by degree, dynamic range."""
        from qevo_ir.report import dynamic_range_bits

        deg = np.diff(self._ptr)
        return {
            "vartype": str(self._vartype),
            "logical_variables": self.num_variables,
            "terms": self.num_terms,
            "degree": self.degree,
            "terms_by_degree": {
                str(int(d)): int(c)
                for d, c in zip(*np.unique(deg, return_counts=True), strict=True)
            },
            "dynamic_range_bits": dynamic_range_bits(self._coef, np.zeros(0)),
        }

    def terms_of_degree(self, d: int) -> tuple[IntArray, FloatArray]:
        """``(indices (T, d), coeffs (T,))`` of the terms of degree ``d``."""
        for deg, a, b in degree_groups(self._ptr):
            if deg == d:
                return self._idx[self._ptr[a] : self._ptr[b]].reshape(b - a, d), self._coef[a:b]
        return np.zeros((0, d), np.int64), np.zeros(0)

    def to_terms(self) -> dict[tuple[Label, ...], float]:
        """``{(label, ...): coeff}`` (for small problems and printing); the offset is not a term."""
        labels = self.labels
        out: dict[tuple[Label, ...], float] = {}
        for t in range(self.num_terms):
            vars_ = self._idx[self._ptr[t] : self._ptr[t + 1]]
            out[tuple(labels[int(i)] for i in vars_)] = float(self._coef[t])
        return out

    def l1_norm(self) -> float:
        """``|offset| + Σ|c|``: no assignment's ``|E|`` exceeds it."""
        with np.errstate(over="ignore"):
            return abs(self._offset) + float(np.abs(self._coef).sum())

    # ---------------------------------------------------------------- energies
    def energies(self, samples: npt.ArrayLike) -> FloatArray:
        """Energies of an ``(m, n)`` array of samples in the vartype's values, vectorised."""
        arr = np.asarray(samples)
        if arr.ndim == 1:
            arr = arr[None, :]
        n = self.num_variables
        if arr.ndim != 2 or arr.shape[1] != n:
            raise ValidationError(f"samples must have shape (m, {n}), got {np.shape(samples)}")
        if arr.dtype.kind not in "iub":
            if arr.dtype.kind == "f" and np.all(arr == np.round(arr)):
                arr = arr.astype(np.int8)
            else:
                raise ValidationError(f"samples must be integers, got dtype {arr.dtype}")
        lo, hi = self._vartype.values
        if arr.size and not np.all((arr == lo) | (arr == hi)):
            raise ValidationError(
                f"samples contain values outside {{{lo}, {hi}}} for a {self._vartype} polynomial"
            )
        return term_products(arr, self._ptr, self._idx, self._coef) + self._offset

    def energy(self, sample: Mapping[Any, int] | npt.ArrayLike) -> float:
        if isinstance(sample, Mapping):
            arr = np.zeros(self.num_variables, dtype=np.int64)
            if len(sample) != self.num_variables:
                raise ValidationError(
                    f"sample assigns {len(sample)} of {self.num_variables} variables"
                )
            arr[self._variables.indices(sample.keys())] = list(sample.values())
            sample = arr
        return float(self.energies(np.asarray(sample).reshape(1, -1))[0])

    # ---------------------------------------------------------------- rewrites
    def change_vartype(self, vartype: Vartype | str) -> PolynomialHamiltonian:
        """The same function over the other vartype: ``s = 2x − 1`` or ``x = (s + 1) / 2``.

        A degree-``d`` term expands into ``2**d`` terms (vectorised per degree); degrees above
        :data:`MAX_EXPANDED_DEGREE` are refused with :class:`LimitExceeded`.
        """
        target = as_vartype(vartype)
        if target is self._vartype:
            return self
        if self.degree > MAX_EXPANDED_DEGREE:
            raise LimitExceeded(
                f"a degree-{self.degree} term expands into 2**{self.degree} terms on a vartype "
                f"change; the limit is degree {MAX_EXPANDED_DEGREE}"
            )
        ptrs, idxs, coefs = [], [], []
        for d, a, b in degree_groups(self._ptr):
            mat = self._idx[self._ptr[a] : self._ptr[b]].reshape(b - a, d)
            c = self._coef[a:b]
            masks = np.arange(1 << d)
            bits = ((masks[:, None] >> np.arange(d)) & 1).astype(bool)  # (2^d, d)
            size = bits.sum(axis=1)
            if target is BINARY:  # Π (2x_i − 1) = Σ_U 2^|U| (−1)^(d−|U|) Π_U x
                factor = (2.0**size) * np.where((d - size) % 2 == 0, 1.0, -1.0)
            else:  # Π (1 + s_i) / 2 = 2^−d Σ_U Π_U s
                factor = np.full(len(masks), 2.0**-d)
            sub = np.where(bits[None, :, :], mat[:, None, :], _SENTINEL).reshape(-1, d)
            keep = sub != _SENTINEL
            ptr = np.zeros(len(sub) + 1, np.int64)
            np.cumsum(keep.sum(axis=1), out=ptr[1:])
            ptrs.append(ptr)
            idxs.append(sub[keep])
            coefs.append((c[:, None] * factor[None, :]).reshape(-1))
        ptr, idx, coef = _concat_csr(ptrs, idxs, coefs)
        return PolynomialHamiltonian._from_raw(
            target, ptr, idx, coef, self._offset, self._variables
        )

    def to_binary(self) -> PolynomialHamiltonian:
        return self.change_vartype(BINARY)

    def to_spin(self) -> PolynomialHamiltonian:
        return self.change_vartype(SPIN)

    def to_hamiltonian(self) -> Hamiltonian:
        """The quadratic :class:`Hamiltonian` (exact); :class:`ValidationError` above degree 2."""
        if self.degree > 2:
            raise ValidationError(
                f"a degree-{self.degree} polynomial is not quadratic; run the quadratize pass"
            )
        n = self.num_variables
        lin = np.zeros(n)
        q1, c1 = self.terms_of_degree(1)
        lin[q1[:, 0]] = c1
        q2, c2 = self.terms_of_degree(2)
        return Hamiltonian._trusted(
            self._vartype,
            lin,
            q2[:, 0].copy(),
            q2[:, 1].copy(),
            c2.copy(),
            self._offset,
            self._variables,
        )

    def scaled(self, factor: float) -> PolynomialHamiltonian:
        f = float(factor)
        with np.errstate(over="ignore"):
            return PolynomialHamiltonian._trusted(
                self._vartype,
                self._ptr,
                self._idx,
                self._coef * f,
                self._offset * f,
                self._variables,
            )

    # ---------------------------------------------------------------- identity
    def content_hash(self) -> str:
        """A stable SHA-256 of the canonical form (terms, offset, vartype, labels), hex."""
        if "hash" not in self._cache:
            h = hashlib.sha256()
            h.update(f"qevo-ir:polynomial:v1:{self._vartype.value}:{self.num_variables}:".encode())
            for arr in (self._ptr, self._idx, self._coef):
                h.update(np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes())
            h.update(np.float64(self._offset).tobytes())
            if not self._variables.is_range:
                h.update(json.dumps(_jsonable_labels(self.labels)).encode())
            self._cache["hash"] = h.hexdigest()
        return self._cache["hash"]  # type: ignore[no-any-return]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PolynomialHamiltonian):
            return NotImplemented
        return (
            self._vartype is other._vartype
            and self._offset == other._offset
            and self.labels == other.labels
            and np.array_equal(self._ptr, other._ptr)
            and np.array_equal(self._idx, other._idx)
            and np.array_equal(self._coef, other._coef)
        )

    def __hash__(self) -> int:
        return hash(self.content_hash())

    def __repr__(self) -> str:
        return (
            f"PolynomialHamiltonian({self._vartype}, num_variables={self.num_variables}, "
            f"num_terms={self.num_terms}, degree={self.degree}, offset={self._offset!r})"
        )


def _concat_csr(
    ptrs: list[IntArray], idxs: list[IntArray], coefs: list[FloatArray]
) -> tuple[IntArray, IntArray, FloatArray]:
    if not ptrs:
        return np.zeros(1, np.int64), np.zeros(0, np.int64), np.zeros(0)
    out = [np.zeros(1, np.int64)]
    base = 0
    for p in ptrs:
        out.append(p[1:] + base)
        base += int(p[-1])
    return np.concatenate(out), np.concatenate(idxs).astype(np.int64), np.concatenate(coefs)


def _jsonable_labels(labels: Iterable[Label]) -> list[Any]:
    return [_jsonable_labels(x) if isinstance(x, tuple) else x for x in labels]
