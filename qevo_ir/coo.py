"""Canonical COO form for couplings: ``row < col``, sorted by ``(row, col)``, unique, summed.

Canonicalisation is the hot path of every constructor, so it is vectorised and delegates the sort
and duplicate summation to scipy's compiled COO→CSR conversion.
"""

from __future__ import annotations

import numbers

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from qevo_ir.errors import ValidationError

__all__ = ["IndexArray", "ValueArray", "as_index_array", "as_value_array", "canonicalize"]

IndexArray = npt.NDArray[np.int64]
ValueArray = npt.NDArray[np.float64]


def as_value_array(values: npt.ArrayLike, what: str) -> ValueArray:
    """A 1-D float64 array of finite values, or :class:`ValidationError` naming ``what``."""
    raw = values if isinstance(values, np.ndarray) else None
    if raw is None:
        try:
            raw = np.asarray(values)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"{what}: not an array of numbers ({exc})") from None
    kind = raw.dtype.kind
    # numpy would parse strings ("1.0") and refuse complex with a TypeError; neither is a
    # coefficient. Objects are accepted when each is a real number.
    if (
        kind not in "biuf"
        and raw.size
        and (kind != "O" or not all(isinstance(x, numbers.Real) for x in raw.ravel().tolist()))
    ):
        raise ValidationError(
            f"{what}: coefficients must be real numbers, got dtype {raw.dtype}"
            + (" (complex)" if kind == "c" else " (text)" if kind in "US" else "")
        )
    try:
        arr = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValidationError(f"{what}: not an array of numbers ({exc})") from None
    if arr.ndim != 1:
        arr = arr.reshape(-1) if arr.size == 0 else arr
        if arr.ndim != 1:
            raise ValidationError(f"{what}: expected a 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValidationError(f"{what}[{bad}] = {arr[bad]!r} is not finite")
    return arr


def as_index_array(values: npt.ArrayLike, n: int, what: str) -> IndexArray:
    """A 1-D int64 array of indices in ``[0, n)``, checked before anything is allocated on it."""
    arr = np.asarray(values)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.ndim != 1:
        raise ValidationError(f"{what}: expected a 1-D array of indices, got shape {arr.shape}")
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not np.all(arr == np.round(arr)):
            raise ValidationError(f"{what}: indices must be integers")
    elif arr.dtype.kind not in "iu":
        raise ValidationError(f"{what}: indices must be integers, got dtype {arr.dtype}")
    lo, hi = arr.min(), arr.max()
    if lo < 0 or hi >= n:
        bad = lo if lo < 0 else hi
        raise ValidationError(f"{what}: index {bad} is out of range for {n} variables")
    return arr.astype(np.int64, copy=False)


def canonicalize(
    n: int,
    row: IndexArray,
    col: IndexArray,
    data: ValueArray,
    *,
    keep_zeros: bool = False,
) -> tuple[IndexArray, IndexArray, ValueArray]:
    """Canonical ``(row, col, data)``: ``row < col``, sorted, unique (summed), zeros dropped.

    ``row``/``col`` must already be validated indices; self-loops (``row == col``) are an error
    here because their meaning depends on the vartype (callers fold them first).
    """
    m = len(data)
    if not (len(row) == len(col) == m):
        raise ValidationError(f"coupling arrays differ in length: {len(row)}, {len(col)}, {m}")
    if m == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    if np.any(row == col):
        k = int(np.flatnonzero(row == col)[0])
        raise ValidationError(f"self-loop on variable {int(row[k])} (coupling {k})")
    # int32 indices while they fit: half the memory traffic, and scipy would convert to int32
    # itself (a copy) before its COO→CSR conversion.
    idx_t = np.int32 if n <= np.iinfo(np.int32).max else np.int64
    lo = np.minimum(row, col, dtype=idx_t)
    hi = np.maximum(row, col, dtype=idx_t)
    d_in = np.asarray(data, dtype=np.float64)
    # Fast path: already sorted and unique (e.g. read back from our own files). The cheap test
    # on the rows alone rejects unsorted input before the pair test is built.
    if m == 1 or (
        bool(np.all(lo[1:] >= lo[:-1])) and bool(np.all((lo[1:] > lo[:-1]) | (hi[1:] > hi[:-1])))
    ):
        r = lo.astype(np.int64)
        c = hi.astype(np.int64)
        d = d_in.copy()
        if not keep_zeros:
            nz = d != 0
            if not nz.all():
                r, c, d = r[nz], c[nz], d[nz]
        return r, c, d
    csr = sp.csr_matrix((d_in, (lo, hi)), shape=(n, n))
    del lo, hi  # the CSR arrays replace them; keeps the peak near the output size
    with np.errstate(over="ignore", invalid="ignore"):  # checked just below
        csr.sum_duplicates()  # sorts indices within rows and sums repeats
    counts = np.diff(csr.indptr)
    r = np.repeat(np.arange(n, dtype=np.int64), counts)
    c = csr.indices.astype(np.int64)
    d = np.asarray(csr.data, dtype=np.float64)
    del csr
    if not np.isfinite(d).all():
        k = int(np.flatnonzero(~np.isfinite(d))[0])
        a, b = int(r[k]), int(c[k])
        terms = d_in[(np.minimum(row, col) == a) & (np.maximum(row, col) == b)]
        shown = ", ".join(map(repr, terms[:4].tolist())) + (", ..." if len(terms) > 4 else "")
        raise ValidationError(
            f"the couplings given for the pair ({a}, {b}) sum to {float(d[k])!r}: the terms "
            f"[{shown}] overflow float64 when added; give each pair once, or divide every "
            "coefficient by a common factor"
        )
    if not keep_zeros:
        nz = d != 0
        if not nz.all():
            r, c, d = r[nz], c[nz], d[nz]
    return r, c, d
