"""The IR's central type: an immutable Ising or QUBO energy function over labelled variables.

``E(v) = offset + Σ_i linear[i] v_i + Σ_k quad[k] v_row[k] v_col[k]`` with ``row < col``, sorted,
unique (the canonical COO form), and ``v`` in the vartype's domain. See ``specs/ir.md``.
"""

from __future__ import annotations

import hashlib
import json
import numbers
from collections.abc import Hashable, Iterable, Mapping
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from qevo_ir.conventions import check_convention, to_energy_sign
from qevo_ir.coo import IndexArray, ValueArray, as_index_array, as_value_array, canonicalize
from qevo_ir.errors import LabelError, LimitExceeded, ValidationError
from qevo_ir.variables import Label, VariableTable
from qevo_ir.vartypes import BINARY, SPIN, Vartype, as_vartype

__all__ = ["Hamiltonian", "LinearInput", "QuadraticInput"]


def _real_offset(value: object) -> float:
    """``value`` as a float when it is a real number (strings and complex refused)."""
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        return float(value)
    if isinstance(value, str | bytes | bool) or not isinstance(value, numbers.Real):
        raise ValidationError(f"offset must be a real number, got {value!r:.60}")
    return float(value)


LinearInput: TypeAlias = Mapping[Any, float] | npt.ArrayLike | None
QuadraticInput: TypeAlias = (
    Mapping[tuple[Any, Any], float]
    | npt.ArrayLike
    | sp.sparray
    | sp.spmatrix
    | tuple[npt.ArrayLike, npt.ArrayLike, npt.ArrayLike]
    | None
)

# Samples are processed in chunks so that the (chunk, n) float work array stays near this size.
_ENERGY_CHUNK_BYTES = 32 * 1024 * 1024
# Sparse energies switch to the compiled kernel (when numba imports) above this many
# sample-coupling products: below it the one-off JIT compilation (about 2 s, cached on disk
# afterwards) would cost more than the numpy path (about 8 ns a product) saves.
_NUMBA_MIN_WORK = 1 << 27
# Samples per kernel block (the int8 transposed block is n * 64 bytes) and the column tile of
# the in-kernel transpose (a 256 x 64 tile fits in L1).
_KERNEL_BLOCK = 64
_KERNEL_TILE = 256


class Hamiltonian:
    """An immutable quadratic energy function: Ising (SPIN) or QUBO (BINARY).

    Build one with :meth:`from_ising` or :meth:`from_qubo`; the constructor takes arrays already
    indexed ``0..n-1`` and canonicalises the couplings (duplicates summed, zeros dropped unless
    ``keep_zeros``). Every array is read-only.
    """

    __slots__ = (
        "_cache",
        "_col",
        "_linear",
        "_offset",
        "_quad",
        "_row",
        "_variables",
        "_vartype",
    )

    def __init__(
        self,
        linear: npt.ArrayLike,
        row: npt.ArrayLike = (),
        col: npt.ArrayLike = (),
        quad: npt.ArrayLike = (),
        offset: float = 0.0,
        *,
        vartype: Vartype | str,
        variables: VariableTable | Iterable[object] | None = None,
        keep_zeros: bool = False,
    ) -> None:
        vt = as_vartype(vartype)
        lin = as_value_array(linear, "linear").copy()
        n = len(lin)
        q = as_value_array(quad, "quadratic biases")
        r = as_index_array(row, n, "coupling rows")
        c = as_index_array(col, n, "coupling columns")
        r, c, q = canonicalize(n, r, c, q, keep_zeros=keep_zeros)
        off = _real_offset(offset)
        if not np.isfinite(off):
            raise ValidationError(f"offset {off!r} is not finite")
        self._init(vt, lin, r, c, q, off, _as_table(variables, n))

    def _init(
        self,
        vartype: Vartype,
        linear: ValueArray,
        row: IndexArray,
        col: IndexArray,
        quad: ValueArray,
        offset: float,
        variables: VariableTable,
    ) -> None:
        for arr in (linear, row, col, quad):
            arr.flags.writeable = False
        self._vartype = vartype
        self._linear = linear
        self._row = row
        self._col = col
        self._quad = quad
        self._offset = offset
        self._variables = variables
        self._cache: dict[str, Any] = {}

    @classmethod
    def _trusted(
        cls,
        vartype: Vartype,
        linear: ValueArray,
        row: IndexArray,
        col: IndexArray,
        quad: ValueArray,
        offset: float,
        variables: VariableTable,
    ) -> Hamiltonian:
        """Wrap arrays that are already canonical and validated (internal fast path)."""
        self = cls.__new__(cls)
        self._init(vartype, linear, row, col, quad, float(offset), variables)
        return self

    # ---------------------------------------------------------------- constructors
    @classmethod
    def from_ising(
        cls,
        h: LinearInput = None,
        J: QuadraticInput = None,
        offset: float = 0.0,
        *,
        convention: str = "energy",
        keep_zeros: bool = False,
    ) -> Hamiltonian:
        """An Ising Hamiltonian ``E(s) = offset + Σ h_i s_i + Σ J_ij s_i s_j`` over ``s ∈ {±1}``.

        ``h`` is a mapping ``label -> bias`` or a 1-D array. ``J`` is a mapping
        ``(u, v) -> bias``, a dense ``(n, n)`` array, a scipy sparse matrix, or a triple of arrays
        ``(i, j, bias)``. Every off-diagonal matrix entry contributes (upper and lower triangles
        add); a diagonal matrix entry is ``J_ii s_i² = J_ii`` and goes to the offset. With
        ``convention="physics"`` the input is ``H = -Σ J s s - Σ h s`` and is negated once here.
        """
        sign = to_energy_sign(check_convention(convention))
        ham = _build(h, J, offset, SPIN, keep_zeros)
        if sign == 1.0:
            return ham
        return cls._trusted(
            SPIN, -ham._linear, ham._row, ham._col, -ham._quad, -ham._offset, ham._variables
        )

    @classmethod
    def from_qubo(
        cls,
        Q: QuadraticInput,
        offset: float = 0.0,
        *,
        keep_zeros: bool = False,
    ) -> Hamiltonian:
        """A QUBO ``E(x) = offset + Σ_{i≤j} Q_ij x_i x_j`` over ``x ∈ {0, 1}``.

        ``Q`` takes the same forms as ``J`` in :meth:`from_ising`; diagonal entries are the linear
        terms (``x_i² = x_i``) and off-diagonal entries in both triangles add.
        """
        return _build(None, Q, offset, BINARY, keep_zeros)

    @classmethod
    def empty(cls, vartype: Vartype | str = SPIN) -> Hamiltonian:
        return cls(np.zeros(0), vartype=vartype)

    # ---------------------------------------------------------------- accessors
    @property
    def vartype(self) -> Vartype:
        return self._vartype

    @property
    def linear(self) -> ValueArray:
        return self._linear

    @property
    def row(self) -> IndexArray:
        return self._row

    @property
    def col(self) -> IndexArray:
        return self._col

    @property
    def quad(self) -> ValueArray:
        return self._quad

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
        return len(self._linear)

    @property
    def num_interactions(self) -> int:
        return len(self._quad)

    def l1_norm(self) -> float:
        """``|offset| + Σ|h| + Σ|J|``, the ℓ1 norm of the coefficients.

        No assignment's ``|E|`` exceeds it (``inf`` when the sum overflows float64); energy
        tolerances and the compiler's size limit scale with it.
        """
        with np.errstate(over="ignore"):
            return (
                abs(self._offset)
                + float(np.abs(self._linear).sum())
                + float(np.abs(self._quad).sum())
            )

    def __len__(self) -> int:
        return self.num_variables

    @property
    def density(self) -> float:
        n = self.num_variables
        return 0.0 if n < 2 else self.num_interactions / (n * (n - 1) / 2)

    def degrees(self) -> npt.NDArray[np.int64]:
        """Number of couplings touching each variable."""
        n = self.num_variables
        return np.bincount(self._row, minlength=n) + np.bincount(self._col, minlength=n)

    def to_dicts(self) -> tuple[dict[Label, float], dict[tuple[Label, Label], float], float]:
        """``(linear, quadratic, offset)`` keyed by labels (for small problems and printing)."""
        labels = self.labels
        lin = {labels[i]: float(v) for i, v in enumerate(self._linear)}
        quad = {
            (labels[int(i)], labels[int(j)]): float(v)
            for i, j, v in zip(self._row, self._col, self._quad, strict=True)
        }
        return lin, quad, self._offset

    def coupling_matrix(self, *, symmetric: bool = False) -> sp.csr_matrix:
        """Couplings as a CSR matrix: upper triangular, or symmetric with halved entries."""
        n = self.num_variables
        if symmetric:
            r = np.concatenate([self._row, self._col])
            c = np.concatenate([self._col, self._row])
            d = np.concatenate([self._quad, self._quad]) / 2
            return sp.csr_matrix((d, (r, c)), shape=(n, n))
        key = "csr_upper"
        if key not in self._cache:
            self._cache[key] = sp.csr_matrix((self._quad, (self._row, self._col)), shape=(n, n))
        return self._cache[key]

    # ---------------------------------------------------------------- energies
    def _check_samples(self, samples: npt.ArrayLike, *, values: bool = True) -> npt.NDArray[Any]:
        """``samples`` as a 2-D integer array; ``values=False`` leaves the value check to the
        caller (the compiled energy kernel checks int8 values as it reads them)."""
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
        if values:
            self._check_values(arr)
        return arr

    def _check_values(self, arr: npt.NDArray[Any]) -> None:
        n = self.num_variables
        lo, hi = self._vartype.values
        # Row chunks keep the boolean temporaries small (samples may be gigabytes of int8).
        rows = max(1, _ENERGY_CHUNK_BYTES // max(1, arr.itemsize * n))
        for start in range(0, arr.shape[0], rows):
            part = arr[start : start + rows]
            if part.size and not np.all((part == lo) | (part == hi)):
                raise ValidationError(
                    f"samples contain values outside {{{lo}, {hi}}} for a {self._vartype} "
                    "Hamiltonian"
                )

    def energies(self, samples: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Energies of an ``(m, n)`` array of samples (int8 recommended), vectorised and chunked.

        Dense problems use one BLAS product per chunk of samples. Large sparse ones (``m`` times
        the number of couplings above :data:`_NUMBA_MIN_WORK`) use a compiled kernel when numba
        imports: blocks of 64 samples are transposed to int8 columns and every coupling row
        updates 64 float64 accumulators at once; otherwise a scipy sparse product per chunk.
        Every path sums in float64.
        """
        arr = self._check_samples(samples, values=False)
        m, n = arr.shape
        out = np.empty(m, dtype=np.float64)
        dense = self._dense_upper() if n else None
        if (
            n
            and dense is None
            and m * self.num_interactions >= _NUMBA_MIN_WORK
            and _energy_kernel() is not None
        ):
            return self._energies_compiled(arr, out)
        self._check_values(arr)
        if n == 0:
            out.fill(self._offset)
            return out
        upper = dense if dense is not None else self.coupling_matrix()
        chunk = max(1, _ENERGY_CHUNK_BYTES // (8 * n))
        for start in range(0, m, chunk):
            s = arr[start : start + chunk].astype(np.float64)
            e = s @ self._linear
            if self.num_interactions:
                if dense is not None:
                    e += _upper_quadratic_form(s, dense)
                else:
                    y = (upper.T @ s.T).T
                    e += np.einsum("ij,ij->i", np.asarray(y), s)
            out[start : start + chunk] = e + self._offset
        return out

    def _energies_compiled(
        self, arr: npt.NDArray[Any], out: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        kernel = _energy_kernel()
        assert kernel is not None
        upper = self.coupling_matrix()
        m, n = arr.shape
        if arr.dtype != np.int8:
            self._check_values(arr)  # then the cast to int8 below is exact
        lo, hi = self._vartype.values
        rows = max(_KERNEL_BLOCK, (_ENERGY_CHUNK_BYTES // n) // _KERNEL_BLOCK * _KERNEL_BLOCK)
        for start in range(0, m, rows):
            part = np.ascontiguousarray(arr[start : start + rows], dtype=np.int8)
            bad = kernel(
                part,
                upper.indptr,
                upper.indices,
                upper.data,
                self._linear,
                lo,
                hi,
                out[start : start + rows],
            )
            if bad:
                raise ValidationError(
                    f"samples contain values outside {{{lo}, {hi}}} for a {self._vartype} "
                    "Hamiltonian"
                )
        out += self._offset
        return out

    def _dense_upper(self) -> npt.NDArray[np.float64] | None:
        """A dense upper-triangular coupling matrix when that is the faster layout."""
        n, m = self.num_variables, self.num_interactions
        if n > 4096 or m < n * n / 16:
            return None
        if "dense_upper" not in self._cache:
            d = np.zeros((n, n))
            d[self._row, self._col] = self._quad
            self._cache["dense_upper"] = d
        return self._cache["dense_upper"]  # type: ignore[no-any-return]

    def energy(self, sample: Mapping[Any, int] | npt.ArrayLike) -> float:
        """Energy of one sample: a mapping ``label -> value`` or a length-``n`` array."""
        if isinstance(sample, Mapping):
            if len(sample) != self.num_variables:
                missing = [x for x in self.labels if x not in sample][:3]
                raise ValidationError(
                    f"sample assigns {len(sample)} of {self.num_variables} variables"
                    + (f"; missing {missing}" if missing else "")
                )
            arr = np.zeros(self.num_variables, dtype=np.int64)
            idx = self._variables.indices(sample.keys())
            arr[idx] = np.fromiter((int(v) for v in sample.values()), dtype=np.int64)
            sample = arr
        return float(self.energies(np.asarray(sample).reshape(1, -1))[0])

    # ---------------------------------------------------------------- exact rewrites
    def change_vartype(self, vartype: Vartype | str) -> Hamiltonian:
        """The same energy function over the other variable type (exact algebra)."""
        target = as_vartype(vartype)
        if target is self._vartype:
            return self
        n = self.num_variables
        r, c, q = self._row, self._col, self._quad
        with np.errstate(over="ignore", invalid="ignore"):  # overflow is refused below
            touch = np.bincount(r, weights=q, minlength=n) + np.bincount(c, weights=q, minlength=n)
            if target is SPIN:  # x = (s + 1) / 2
                lin = self._linear / 2 + touch / 4
                quad = q / 4
                offset = self._offset + self._linear.sum() / 2 + q.sum() / 4
            else:  # s = 2x - 1
                lin = 2 * self._linear - 2 * touch
                quad = 4 * q
                offset = self._offset - self._linear.sum() + q.sum()
        lin = np.asarray(lin, dtype=np.float64)
        quad = np.asarray(quad, dtype=np.float64)
        _check_finite(lin, quad, float(offset), f"converting to {target}")
        return Hamiltonian._trusted(target, lin, r, c, quad, float(offset), self._variables)

    def to_spin(self) -> Hamiltonian:
        return self.change_vartype(SPIN)

    def to_binary(self) -> Hamiltonian:
        return self.change_vartype(BINARY)

    def relabel(self, mapping: Mapping[Any, Hashable]) -> Hamiltonian:
        """A copy whose variable ``u`` is called ``mapping[u]`` (others keep their labels)."""
        return Hamiltonian._trusted(
            self._vartype,
            self._linear,
            self._row,
            self._col,
            self._quad,
            self._offset,
            self._variables.relabel(mapping),
        )

    def with_variables(self, variables: VariableTable) -> Hamiltonian:
        if len(variables) != self.num_variables:
            raise ValidationError(
                f"variable table has {len(variables)} entries for {self.num_variables} variables"
            )
        return Hamiltonian._trusted(
            self._vartype, self._linear, self._row, self._col, self._quad, self._offset, variables
        )

    def scaled(self, factor: float) -> Hamiltonian:
        """Every coefficient, offset included, multiplied by ``factor``."""
        f = float(factor)
        if not np.isfinite(f):
            raise ValidationError(f"scale factor {factor!r} is not finite")
        with np.errstate(over="ignore"):  # refused just below
            lin, quad, offset = self._linear * f, self._quad * f, self._offset * f
        _check_finite(lin, quad, offset, f"scaling by {f!r}")
        return Hamiltonian._trusted(
            self._vartype, lin, self._row, self._col, quad, offset, self._variables
        )

    def fix_variables(self, assignment: Mapping[Any, int]) -> Hamiltonian:
        """Substitute fixed values; the result is over the remaining variables, in order."""
        n = self.num_variables
        values = np.zeros(n, dtype=np.float64)
        fixed = np.zeros(n, dtype=bool)
        lo, hi = self._vartype.values
        for label, value in assignment.items():
            i = self._variables.index(label)
            if value not in (lo, hi):
                raise ValidationError(
                    f"cannot fix {label!r} to {value!r}: a {self._vartype} value is {lo} or {hi}"
                )
            values[i], fixed[i] = value, True
        return self.fix_indices(np.flatnonzero(fixed), values[fixed])

    def fix_indices(self, indices: npt.ArrayLike, values: npt.ArrayLike) -> Hamiltonian:
        """:meth:`fix_variables` by index, vectorised."""
        n = self.num_variables
        idx = as_index_array(indices, n, "fixed indices")
        val = np.asarray(values, dtype=np.float64)
        fixed = np.zeros(n, dtype=bool)
        fixed[idx] = True
        v = np.zeros(n)
        v[idx] = val
        r, c, q = self._row, self._col, self._quad
        fr, fc = fixed[r], fixed[c]
        offset = self._offset + float(self._linear[fixed] @ v[fixed])
        both = fr & fc
        offset += float(np.sum(q[both] * v[r[both]] * v[c[both]]))
        lin = self._linear.copy()
        only_r = fr & ~fc
        only_c = fc & ~fr
        lin += np.bincount(c[only_r], weights=q[only_r] * v[r[only_r]], minlength=n)
        lin += np.bincount(r[only_c], weights=q[only_c] * v[c[only_c]], minlength=n)
        keep = np.flatnonzero(~fixed)
        remap = np.full(n, -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        free = ~fr & ~fc
        return Hamiltonian._trusted(
            self._vartype,
            np.ascontiguousarray(lin[keep]),
            remap[r[free]],
            remap[c[free]],
            q[free].copy(),
            offset,
            self._variables.take(keep),
        )

    def subproblem(self, indices: npt.ArrayLike) -> Hamiltonian:
        """The Hamiltonian induced on ``indices`` (ascending): their terms only, offset 0."""
        n = self.num_variables
        idx = np.unique(as_index_array(indices, n, "subproblem indices"))
        inside = np.zeros(n, dtype=bool)
        inside[idx] = True
        remap = np.full(n, -1, dtype=np.int64)
        remap[idx] = np.arange(len(idx))
        keep = inside[self._row] & inside[self._col]
        return Hamiltonian._trusted(
            self._vartype,
            self._linear[idx].copy(),
            remap[self._row[keep]],
            remap[self._col[keep]],
            self._quad[keep].copy(),
            0.0,
            self._variables.take(idx),
        )

    # ---------------------------------------------------------------- identity
    def _canonical_bytes(self) -> bytes:
        h = hashlib.sha256()
        h.update(f"qevo-ir:v1:{self._vartype.value}:{self.num_variables}:".encode())
        for arr in (self._linear, self._row, self._col, self._quad):
            h.update(np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes())
        h.update(np.float64(self._offset).tobytes())
        if not self._variables.is_range:
            h.update(json.dumps(_jsonable_labels(self.labels)).encode())
        return h.digest()

    def content_hash(self) -> str:
        """A stable SHA-256 of the canonical form (terms, offset, vartype, labels), hex."""
        if "hash" not in self._cache:
            self._cache["hash"] = self._canonical_bytes().hex()
        return self._cache["hash"]  # type: ignore[no-any-return]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hamiltonian):
            return NotImplemented
        return (
            self._vartype is other._vartype
            and self._offset == other._offset
            and self.labels == other.labels
            and np.array_equal(self._linear, other._linear)
            and np.array_equal(self._row, other._row)
            and np.array_equal(self._col, other._col)
            and np.array_equal(self._quad, other._quad)
        )

    def __hash__(self) -> int:
        return hash(self.content_hash())

    def isclose(self, other: Hamiltonian, *, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
        """Same structure and labels, coefficients equal within tolerance."""
        if self._vartype is not other._vartype or self.labels != other.labels:
            return False
        if not (np.array_equal(self._row, other._row) and np.array_equal(self._col, other._col)):
            return False
        return bool(
            np.allclose(self._linear, other._linear, rtol=rtol, atol=atol)
            and np.allclose(self._quad, other._quad, rtol=rtol, atol=atol)
            and np.isclose(self._offset, other._offset, rtol=rtol, atol=atol)
        )

    def __repr__(self) -> str:
        return (
            f"Hamiltonian({self._vartype}, num_variables={self.num_variables}, "
            f"num_interactions={self.num_interactions}, offset={self._offset!r})"
        )


# ----------------------------------------------------------------------------- building
def _check_finite(
    lin: npt.NDArray[np.float64], quad: npt.NDArray[np.float64], offset: float, doing: str
) -> None:
    """Refuse a result whose coefficients overflowed float64 (inputs near DBL_MAX)."""
    if not (np.isfinite(lin).all() and np.isfinite(quad).all() and np.isfinite(offset)):
        raise ValidationError(
            f"{doing} overflows float64 (coefficients near 1.8e308); rescale the problem first"
        )


def _as_table(variables: VariableTable | Iterable[object] | None, n: int) -> VariableTable:
    if variables is None:
        return VariableTable.range(n)
    if isinstance(variables, VariableTable):
        if len(variables) != n:
            raise ValidationError(f"variable table has {len(variables)} entries for {n} variables")
        return variables
    return VariableTable(variables, num_variables=n)


def _jsonable_labels(labels: Iterable[Label]) -> list[Any]:
    out: list[Any] = []
    for x in labels:
        out.append(_jsonable_labels(x) if isinstance(x, tuple) else x)
    return out


def _build(
    h: LinearInput,
    J: QuadraticInput,
    offset: float,
    vartype: Vartype,
    keep_zeros: bool,
) -> Hamiltonian:
    labelled = isinstance(h, Mapping) or isinstance(J, Mapping)
    if labelled:
        return _build_labelled(h, J, offset, vartype, keep_zeros)

    lin = None if h is None else as_value_array(h, "h")  # type: ignore[arg-type]
    row, col, val, n_quad = _quadratic_arrays(J)
    n = max(0 if lin is None else len(lin), n_quad)
    if row.size:
        n = max(n, int(row.max()) + 1, int(col.max()) + 1)
    _check_size(n, len(val))
    if lin is None:
        lin = np.zeros(n)
    elif len(lin) < n:
        lin = np.concatenate([lin, np.zeros(n - len(lin))])
    else:
        lin = lin.copy()
    return _finish(n, lin, row, col, val, offset, vartype, keep_zeros, VariableTable.range(n))


def _check_size(n: int, m: int) -> None:
    """Refuse, before allocating, more variables than indices can address (2**31 - 1, as in
    every file format and dimod) or a size over the memory budget."""
    from qevo_ir.budget import BYTES_PER_COUPLING, BYTES_PER_VARIABLE, check_memory

    if n > 2**31 - 1:
        raise LimitExceeded(
            f"{n} variables: more than 2**31 - 1, the most that int32 indices (every file "
            "format, dimod) can address"
        )
    check_memory(
        float(BYTES_PER_VARIABLE) * n + float(BYTES_PER_COUPLING) * m,
        f"a Hamiltonian of {n} variables and {m} couplings",
    )


def _finish(
    n: int,
    lin: ValueArray,
    row: IndexArray,
    col: IndexArray,
    val: ValueArray,
    offset: float,
    vartype: Vartype,
    keep_zeros: bool,
    table: VariableTable,
) -> Hamiltonian:
    off = float(offset)
    if not np.isfinite(off):
        raise ValidationError(f"offset {off!r} is not finite")
    diag = row == col
    if diag.any():
        if vartype is BINARY:  # x_i² = x_i
            lin = lin + np.bincount(row[diag], weights=val[diag], minlength=n)
        else:  # s_i² = 1
            off += float(val[diag].sum())
        keep = ~diag
        row, col, val = row[keep], col[keep], val[keep]
    r, c, q = canonicalize(n, row, col, val, keep_zeros=keep_zeros)
    return Hamiltonian._trusted(vartype, lin, r, c, q, off, table)


def _quadratic_arrays(J: QuadraticInput) -> tuple[IndexArray, IndexArray, ValueArray, int]:
    """``(row, col, values, n)`` from a dense matrix, sparse matrix or ``(i, j, v)`` triple."""
    if J is None:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), 0
    if sp.issparse(J):
        coo = sp.coo_matrix(J)
        if coo.shape[0] != coo.shape[1]:
            raise ValidationError(f"coupling matrix must be square, got shape {coo.shape}")
        val = as_value_array(coo.data, "couplings")
        return coo.row.astype(np.int64), coo.col.astype(np.int64), val, coo.shape[0]
    if isinstance(J, tuple) and len(J) == 3:
        i_raw, j_raw, v_raw = J
        val = as_value_array(v_raw, "coupling values")
        bound = np.iinfo(np.int64).max
        i = as_index_array(i_raw, bound, "coupling rows")
        j = as_index_array(j_raw, bound, "coupling columns")
        if not (len(i) == len(j) == len(val)):
            raise ValidationError(
                f"(i, j, value) arrays differ in length: {len(i)}, {len(j)}, {len(val)}"
            )
        return i, j, val, 0
    try:
        dense = np.asarray(J, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"couplings: expected a mapping, a square matrix, a scipy.sparse matrix or an "
            f"(i, j, value) triple ({exc})"
        ) from None
    if dense.ndim != 2 or dense.shape[0] != dense.shape[1]:
        raise ValidationError(f"coupling matrix must be square, got shape {dense.shape}")
    if not np.isfinite(dense).all():
        raise ValidationError("coupling matrix has non-finite entries")
    r, c = np.nonzero(dense)
    return r.astype(np.int64), c.astype(np.int64), dense[r, c], dense.shape[0]


def _build_labelled(
    h: LinearInput,
    J: QuadraticInput,
    offset: float,
    vartype: Vartype,
    keep_zeros: bool,
) -> Hamiltonian:
    index: dict[Label, int] = {}
    labels: list[Label] = []

    def idx(label: object) -> int:
        from qevo_ir.variables import check_label

        key = check_label(label)
        got = index.get(key)
        if got is None:
            got = index[key] = len(labels)
            labels.append(key)
        return got

    lin_items: list[tuple[int, float]] = []
    if isinstance(h, Mapping):
        keys = [idx(k) for k in h]
        values = as_value_array(list(h.values()), "h") if keys else np.zeros(0)
        lin_items = list(zip(keys, values.tolist(), strict=True))
    elif h is not None:
        arr = as_value_array(h, "h")
        lin_items = [(idx(i), float(v)) for i, v in enumerate(arr)]
    if isinstance(J, Mapping):
        rows, cols, vals = [], [], []
        for key, v in J.items():
            if not isinstance(key, tuple) or len(key) != 2:
                raise ValidationError(f"coupling key {key!r} is not a pair of labels")
            rows.append(idx(key[0]))
            cols.append(idx(key[1]))
            vals.append(v)
        row = np.asarray(rows, dtype=np.int64)
        col = np.asarray(cols, dtype=np.int64)
        val = as_value_array(vals, "couplings") if vals else np.zeros(0)
        if vartype is SPIN and np.any(row == col):
            k = int(np.flatnonzero(row == col)[0])
            raise ValidationError(
                f"Ising coupling ({labels[int(row[k])]!r}, {labels[int(row[k])]!r}) is a "
                "self-loop; s² = 1, so put its value in the offset instead"
            )
    else:
        row, col, val, n_quad = _quadratic_arrays(J)
        for i in range(max(n_quad, int(row.max()) + 1 if row.size else 0)):
            idx(i)
        row = np.asarray([idx(int(i)) for i in row], dtype=np.int64)
        col = np.asarray([idx(int(j)) for j in col], dtype=np.int64)
    n = len(labels)
    lin = np.zeros(n)
    for i, v in lin_items:
        if not np.isfinite(v):
            raise ValidationError(f"linear bias of {labels[i]!r} is {v!r}, not finite")
        lin[i] += v
    try:
        table = VariableTable(labels)
    except LabelError:
        raise
    return _finish(n, lin, row, col, val, offset, vartype, keep_zeros, table)


# ----------------------------------------------------------------------------- dense energies
_DENSE_BLOCK = 128


def _upper_quadratic_form(
    s: npt.NDArray[np.float64], upper: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``Σ_{i<j} U_ij s_bi s_bj`` for every row ``b`` of ``s`` (``U`` strictly upper).

    Column block ``[j0, j1)`` of ``s @ U`` only needs the first ``j1`` columns of ``s``: skipping
    the zero lower blocks saves close to half of the BLAS work of ``s @ U``.
    """
    n = upper.shape[0]
    step = max(_DENSE_BLOCK, n // 8)
    out = np.zeros(s.shape[0], dtype=np.float64)
    for j0 in range(0, n, step):
        j1 = min(j0 + step, n)
        y = s[:, :j1] @ upper[:j1, j0:j1]
        out += np.einsum("ij,ij->i", y, s[:, j0:j1])
    return out


# ----------------------------------------------------------------------------- compiled energies
_KERNEL_STATE: dict[str, Any] = {}


def _energy_kernel_py(
    samples: npt.NDArray[np.int8],
    indptr: npt.NDArray[Any],
    indices: npt.NDArray[Any],
    data: npt.NDArray[np.float64],
    linear: npt.NDArray[np.float64],
    lo: int,
    hi: int,
    out: npt.NDArray[np.float64],
) -> int:  # pragma: no cover - only ever run compiled by numba
    """``out[b] = Σ_i s_bi (h_i + Σ_{j>i} U_ij s_bj)`` for int8 samples ``s`` and CSR ``U``.

    Returns the number of sample values outside ``{lo, hi}`` (then ``out`` is meaningless).
    """
    m, n = samples.shape
    nblocks = (m + _KERNEL_BLOCK - 1) // _KERNEL_BLOCK
    bad = np.zeros(nblocks, dtype=np.int64)
    for bi in _prange(nblocks):
        b0 = bi * _KERNEL_BLOCK
        bsz = min(_KERNEL_BLOCK, m - b0)
        t = np.zeros((n, _KERNEL_BLOCK), dtype=np.int8)
        wrong = 0
        for j0 in range(0, n, _KERNEL_TILE):
            j1 = min(j0 + _KERNEL_TILE, n)
            for k in range(bsz):
                for j in range(j0, j1):
                    v = samples[b0 + k, j]
                    wrong += (v != lo) & (v != hi)
                    t[j, k] = v
        bad[bi] = wrong
        acc = np.empty(_KERNEL_BLOCK)
        e = np.zeros(_KERNEL_BLOCK)
        for i in range(n):
            field = linear[i]
            for k in range(_KERNEL_BLOCK):
                acc[k] = field
            for p in range(indptr[i], indptr[i + 1]):
                j = indices[p]
                q = data[p]
                for k in range(_KERNEL_BLOCK):
                    acc[k] += q * t[j, k]
            for k in range(_KERNEL_BLOCK):
                e[k] += t[i, k] * acc[k]
        for k in range(bsz):
            out[b0 + k] = e[k]
    return int(bad.sum())


_prange = range  # rebound to numba.prange when the kernel is compiled


def _energy_kernel() -> Any:
    """The numba-compiled :func:`_energy_kernel_py`, or ``None`` when numba does not import."""
    if "kernel" not in _KERNEL_STATE:
        try:
            import numba
        except Exception:  # ImportError, or a numba/numpy mismatch raising at import
            _KERNEL_STATE["kernel"] = None
        else:
            global _prange
            _prange = numba.prange
            _KERNEL_STATE["kernel"] = numba.njit(parallel=True, cache=True, fastmath={"contract"})(
                _energy_kernel_py
            )
    return _KERNEL_STATE["kernel"]
