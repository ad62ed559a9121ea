"""Cost diagonal of an Ising Hamiltonian over the computational basis.

Conventions (fixed for the whole :mod:`qevo_ir.qaoa` package):

* SPIN energy ``E(s) = offset + Σ_i h_i s_i + Σ_k J_k s_{row_k} s_{col_k}`` with ``s ∈ {-1, +1}^n``.
* Qubit ``i`` is variable ``i``; basis index ``b = Σ_i x_i 2^i`` (little-endian, Qiskit's order).
* Bit ``x_i = 1`` is BINARY 1 is SPIN ``+1`` (``s = 2x - 1``): for index ``b``, ``s_i = +1`` iff
  bit ``i`` of ``b`` is set.

The diagonal is built with a split-half construction: with ``a`` low and ``n - a`` high variables,
``E[hi * 2^a + lo] = e_lo[lo] + e_hi[hi] + (S_hi @ J_x @ S_lo^T)[hi, lo]`` where ``S`` are the
``±1`` spin tables of each half and ``J_x`` the couplings between the halves. All three terms are
folded into a single BLAS matrix product with inner dimension ``a + 2``, so the cost is one
write of the ``2^n`` output whatever the number of couplings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "MAX_QUBITS",
    "check_qubits",
    "cost_diagonal",
    "format_bytes",
    "spin_table",
    "statevector_memory_bytes",
]

#: Largest number of qubits the dense simulators accept (a complex128 state is 16 GiB at 30).
MAX_QUBITS = 30

_COMPLEX_BYTES = np.dtype(np.complex128).itemsize


def statevector_memory_bytes(n: int) -> int:
    """Bytes a complex128 statevector on ``n`` qubits needs.

    Parameters
    ----------
    n : int
        Number of qubits (``>= 0``).

    Returns
    -------
    int
        ``16 * 2**n``.
    """
    if n < 0:
        raise ValueError(f"number of qubits must be >= 0, got {n}")
    return _COMPLEX_BYTES << n


def format_bytes(nbytes: int) -> str:
    """``nbytes`` for a message: ``1.5 GiB``; beyond EiB, ``2^k bytes`` (any int, no overflow)."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    if nbytes >= 1024 ** len(units):  # float(nbytes) could overflow: stay in integers
        return f"about 2^{nbytes.bit_length() - 1} bytes"
    value = float(nbytes)
    for unit in units:
        if value < 1024.0 or unit == units[-1]:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024.0
    raise AssertionError("unreachable")  # pragma: no cover


def check_qubits(n: int) -> None:
    """Raise :class:`ValueError` when ``n`` qubits exceed :data:`MAX_QUBITS`.

    Called before anything of size ``2**n`` is allocated.

    Parameters
    ----------
    n : int
        Number of qubits.

    Raises
    ------
    ValueError
        If ``n < 0`` or ``n > MAX_QUBITS``; the message names the limit and the memory needed.
    """
    if n < 0:
        raise ValueError(f"number of qubits must be >= 0, got {n}")
    if n > MAX_QUBITS:
        nbytes = statevector_memory_bytes(n)
        exact = f" ({nbytes} bytes)" if nbytes.bit_length() <= 64 else ""
        raise ValueError(
            f"{n} qubits exceed the statevector limit MAX_QUBITS = {MAX_QUBITS}: "
            f"a complex128 statevector on {n} qubits needs {format_bytes(nbytes)}{exact}"
        )


def spin_table(n: int) -> npt.NDArray[np.float64]:
    """Table ``S[b, i] = s_i(b) ∈ {-1.0, +1.0}`` for ``b < 2**n`` (bit ``i`` set ↔ ``+1``).

    Parameters
    ----------
    n : int
        Number of variables.

    Returns
    -------
    numpy.ndarray
        Float64 array of shape ``(2**n, n)``.
    """
    bits = (np.arange(1 << n, dtype=np.int64)[:, None] >> np.arange(n, dtype=np.int64)) & 1
    return (2.0 * bits - 1.0).astype(np.float64)


def _as_1d(name: str, values: Any, dtype: Any) -> npt.NDArray[Any]:
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if dtype is np.int64:
        if (
            arr.size
            and not np.issubdtype(arr.dtype, np.integer)
            and not np.all(np.equal(np.mod(arr, 1), 0))
        ):
            raise ValueError(f"{name} must hold integer indices")
        return arr.astype(np.int64, copy=False)
    out = arr.astype(np.float64, copy=False)
    if not np.all(np.isfinite(out)):
        raise ValueError(f"{name} must be finite")
    return out


def _half_energy(
    spins: npt.NDArray[np.float64],
    h: npt.NDArray[np.float64],
    jmat: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """Energies ``S @ h + Σ_{i<j} J_ij s_i s_j`` over one half (``jmat`` strictly upper)."""
    energy: npt.NDArray[np.float64] = spins @ h
    if jmat.size and np.any(jmat):
        energy += np.einsum("bi,bi->b", spins @ jmat, spins)
    return energy


# OpenBLAS runs a GEMM on one thread when m * n * k is below 4 * 65536 (its
# GEMM_MULTITHREAD_THRESHOLD times SMP_THRESHOLD_MIN); other BLAS libraries have similar rules.
_SINGLE_THREAD_GEMM = 1 << 18
# Up to this many qubits the diagonal is built from single-threaded GEMMs (row blocks under the
# threshold above). A multi-threaded GEMM leaves the BLAS worker threads spin-waiting for about
# 0.1 s after it returns; on a small machine they take the cores the simulator's own threads
# (numba's pool) need next, which made the first qaoa_expectation on a fresh diagonal twice as
# slow as on a reused one (n = 20, p = 3: 32 ms against 14.8 ms). Above it the diagonal and each
# evaluation are large enough that BLAS threading pays and the spin is noise.
_SERIAL_DIAGONAL_MAX_QUBITS = 22


def _product(left: npt.NDArray[np.float64], right: npt.NDArray[np.float64]) -> npt.NDArray[Any]:
    """``left @ right``, in row blocks small enough for BLAS to stay on one thread when the
    output is small (see :data:`_SERIAL_DIAGONAL_MAX_QUBITS`)."""
    rows, inner = left.shape
    cols = right.shape[1]
    if (rows * cols).bit_length() - 1 > _SERIAL_DIAGONAL_MAX_QUBITS:
        return left @ right
    block = max(1, _SINGLE_THREAD_GEMM // max(1, inner * cols) - 1)
    if block >= rows:
        return left @ right
    out = np.empty((rows, cols), dtype=np.float64)
    for start in range(0, rows, block):
        np.matmul(left[start : start + block], right, out=out[start : start + block])
    return out


def cost_diagonal(
    h: npt.ArrayLike,
    row: npt.ArrayLike,
    col: npt.ArrayLike,
    J: npt.ArrayLike,
    offset: float = 0.0,
    *,
    dtype: npt.DTypeLike = np.float64,
) -> npt.NDArray[Any]:
    """Diagonal of the Ising cost Hamiltonian over all ``2**n`` basis states.

    Parameters
    ----------
    h : array_like, shape (n,)
        Linear SPIN biases; ``n = len(h)`` is the number of qubits.
    row, col : array_like of int, shape (m,)
        Coupling endpoints (``row_k != col_k``; ``row_k < col_k`` by convention, either order is
        accepted since ``s_i s_j`` is symmetric). Repeated pairs add up.
    J : array_like, shape (m,)
        Coupling strengths.
    offset : float, optional
        Constant energy term, included in every entry.
    dtype : numpy dtype, optional
        Floating dtype of the result (computed in float64, then cast).

    Returns
    -------
    numpy.ndarray, shape (2**n,)
        ``diag[b] = E(s(b))`` with ``s_i(b) = +1`` iff bit ``i`` of ``b`` is set.

    Raises
    ------
    ValueError
        On malformed input or more than :data:`MAX_QUBITS` variables.
    """
    h_arr = _as_1d("h", h, np.float64)
    row_arr = _as_1d("row", row, np.int64)
    col_arr = _as_1d("col", col, np.int64)
    j_arr = _as_1d("J", J, np.float64)
    out_dtype = np.dtype(dtype)
    if out_dtype.kind != "f":
        raise ValueError(f"dtype must be a real floating dtype, got {out_dtype}")
    if not (row_arr.shape == col_arr.shape == j_arr.shape):
        raise ValueError(
            f"row, col and J must have equal lengths, got {row_arr.size}, {col_arr.size}, "
            f"{j_arr.size}"
        )
    off = float(offset)
    if not np.isfinite(off):
        raise ValueError("offset must be finite")
    n = int(h_arr.size)
    check_qubits(n)
    if row_arr.size:
        if row_arr.min() < 0 or col_arr.min() < 0 or max(row_arr.max(), col_arr.max()) >= n:
            raise ValueError(f"coupling indices must lie in [0, {n})")
        if np.any(row_arr == col_arr):
            raise ValueError("couplings must join two different variables (row_k != col_k)")

    # Dense strictly-upper coupling matrix (duplicates accumulate).
    jfull = np.zeros((n, n), dtype=np.float64)
    np.add.at(jfull, (np.minimum(row_arr, col_arr), np.maximum(row_arr, col_arr)), j_arr)

    a = n - n // 2  # low variables 0..a-1
    s_lo = spin_table(a)
    s_hi = spin_table(n - a)
    e_lo = _half_energy(s_lo, h_arr[:a], jfull[:a, :a]) + off
    e_hi = _half_energy(s_hi, h_arr[a:], jfull[a:, a:])
    j_cross = jfull[:a, a:].T  # (n - a, a): couplings high variable x low variable

    # One GEMM: [S_hi @ Jx, e_hi, 1] @ [S_lo^T; 1; e_lo] = cross + e_hi[:, None] + e_lo[None, :].
    left = np.empty((s_hi.shape[0], a + 2), dtype=np.float64)
    np.matmul(s_hi, j_cross, out=left[:, :a])
    left[:, a] = e_hi
    left[:, a + 1] = 1.0
    right = np.empty((a + 2, s_lo.shape[0]), dtype=np.float64)
    right[:a] = s_lo.T
    right[a] = 1.0
    right[a + 1] = e_lo
    diag = _product(left, right).reshape(-1)
    if out_dtype != np.float64:
        return diag.astype(out_dtype)
    return diag
