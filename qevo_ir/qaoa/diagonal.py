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

A k-local (polynomial) energy ``E = offset + Σ_t c_t Π_{i∈t} v_i`` has its diagonal built by a
fast transform of a coefficient vector indexed by term masks ``m_t = Σ_{i∈t} 2^i``
(:func:`polynomial_cost_diagonal`): SPIN, with ``s_i = -(-1)^{x_i}``, ``Π_{i∈t} s_i =
(-1)^{|t|} (-1)^{popcount(b & m_t)}``, so ``E`` is the Walsh-Hadamard transform of
``w[m] = Σ_{m_t = m} (-1)^{|t|} c_t``; BINARY, ``Π_{i∈t} x_i = [m_t ⊆ b]``, so ``E`` is the
subset-sum (zeta) transform of ``w[m] = Σ_{m_t = m} c_t``. Either is ``n`` vectorised passes over
the ``2^n`` vector, whatever the number of terms or their degree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from qevo_ir.hamiltonian import Hamiltonian
    from qevo_ir.polynomial import PolynomialHamiltonian

__all__ = [
    "MAX_QUBITS",
    "check_qubits",
    "cost_diagonal",
    "format_bytes",
    "ir_cost_diagonal",
    "polynomial_cost_diagonal",
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
    out_dtype = _float_dtype(dtype)
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


def _float_dtype(dtype: npt.DTypeLike) -> np.dtype[Any]:
    """``dtype`` as a numpy dtype; ``ValueError`` unless it is a real floating one."""
    out = np.dtype(dtype)
    if out.kind != "f":
        raise ValueError(f"dtype must be a real floating dtype, got {out}")
    return out


def _term_masks(
    ptr: npt.NDArray[np.int64], idx: npt.NDArray[np.int64], involutive: bool
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Each term's variable mask and its length (repeats counted). A repeated variable cancels
    (``s·s = 1``: XOR) when ``involutive``, else stays (``x·x = x``: OR)."""
    t = ptr.size - 1
    deg = np.diff(ptr)
    masks = np.zeros(t, dtype=np.int64)
    if idx.size:
        owner = np.repeat(np.arange(t, dtype=np.int64), deg)
        bits = np.left_shift(np.int64(1), idx)
        (np.bitwise_xor if involutive else np.bitwise_or).at(masks, owner, bits)
    return masks, deg


# Bits transformed by a dense (2^k x 2^k) kernel in polynomial_cost_diagonal, and rows per
# product (bounds the temporary to 2 MiB).
_DENSE_TRANSFORM_BITS = 6
_TRANSFORM_BLOCK_ROWS = 1 << 12


def _transform_kernel(bits: int, spin: bool) -> npt.NDArray[np.float64]:
    """``K[m, b]``: ``(-1)^{popcount(m & b)}`` (Walsh-Hadamard) when ``spin``, else
    ``[m ⊆ b]`` (subset sum), over ``bits`` bits; ``w @ K`` transforms a row of coefficients."""
    m = np.arange(1 << bits, dtype=np.int64)
    both = m[:, None] & m[None, :]
    if not spin:
        subset: npt.NDArray[np.float64] = (both == m[:, None]).astype(np.float64)
        return subset
    parity = np.zeros(both.shape, dtype=np.int64)
    for i in range(bits):
        parity ^= (both >> i) & 1
    signs: npt.NDArray[np.float64] = (1 - 2 * parity).astype(np.float64)
    return signs


def polynomial_cost_diagonal(
    term_ptr: npt.ArrayLike,
    term_vars: npt.ArrayLike,
    coeffs: npt.ArrayLike,
    offset: float = 0.0,
    *,
    num_qubits: int,
    vartype: str = "SPIN",
    dtype: npt.DTypeLike = np.float64,
) -> npt.NDArray[Any]:
    """Diagonal of a k-local cost Hamiltonian over all ``2**n`` basis states.

    ``E(v) = offset + Σ_t coeffs[t] Π_{i ∈ term t} v_i`` with term ``t`` the variables
    ``term_vars[term_ptr[t]:term_ptr[t+1]]`` (the CSR layout of
    :class:`~qevo_ir.polynomial.PolynomialHamiltonian`), in the package's conventions: qubit
    ``i`` is variable ``i``, ``b = Σ_i x_i 2^i``, bit ``x_i = 1`` is BINARY 1 is SPIN ``+1``.
    Computed by a Walsh-Hadamard (SPIN) or subset-sum (BINARY) transform of the coefficients by
    term mask (see the module doc): the low 6 bits by a dense 64 x 64 kernel, the others by
    in-place butterflies, ``O(T + n 2^n)``; no loop over basis states or terms in Python.

    Parameters
    ----------
    term_ptr : array_like of int, shape (T + 1,)
        Term boundaries: starts at 0, non-decreasing, ends at ``len(term_vars)``.
    term_vars : array_like of int
        Variables of the terms, each in ``[0, num_qubits)``; a repeated variable reduces as its
        vartype says (``s² = 1``, ``x² = x``); an empty term is a constant.
    coeffs : array_like of float, shape (T,)
        Term coefficients (finite).
    offset : float, optional
        Constant energy, included in every entry.
    num_qubits : int
        ``n``, the number of variables (qubits).
    vartype : {"SPIN", "BINARY"}
        The values the variables take (``±1`` or ``0/1``).
    dtype : numpy dtype, optional
        Floating dtype of the result (computed in float64, then cast).

    Returns
    -------
    numpy.ndarray, shape (2**n,)
        ``diag[b] = E(v(b))``.

    Raises
    ------
    ValueError
        On malformed input or more than :data:`MAX_QUBITS` variables.
    """
    ptr = _as_1d("term_ptr", term_ptr, np.int64)
    idx = _as_1d("term_vars", term_vars, np.int64)
    coef = _as_1d("coeffs", coeffs, np.float64)
    out_dtype = _float_dtype(dtype)
    kind = str(getattr(vartype, "value", vartype)).upper()
    if kind not in ("SPIN", "BINARY"):
        raise ValueError(f"vartype must be 'SPIN' or 'BINARY', got {vartype!r}")
    n = int(num_qubits)
    check_qubits(n)
    if ptr.size != coef.size + 1 or ptr[0] != 0 or ptr[-1] != idx.size or np.any(np.diff(ptr) < 0):
        raise ValueError(
            f"term_ptr must have len(coeffs) + 1 = {coef.size + 1} entries, start at 0, be "
            f"non-decreasing and end at len(term_vars) = {idx.size}"
        )
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"term variables must lie in [0, {n})")
    off = float(offset)
    if not np.isfinite(off):
        raise ValueError("offset must be finite")
    spin = kind == "SPIN"
    masks, deg = _term_masks(ptr, idx, involutive=spin)
    # SPIN: s_i = -z_i, so a term of length d carries (-1)^d onto its Z-string (Walsh) coefficient.
    weights = np.where(deg % 2 == 1, -coef, coef) if spin else coef
    size = 1 << n
    diag = np.bincount(masks, weights=weights, minlength=size).astype(np.float64, copy=False)
    diag[0] += off  # the empty mask is the constant in both transforms
    # The low bits by a small dense transform (one GEMM per row block: the butterflies below
    # are slow on strides under a cache line), the rest by in-place butterflies.
    low_bits = min(n, _DENSE_TRANSFORM_BITS)
    kernel = _transform_kernel(low_bits, spin)
    rows = diag.reshape(-1, 1 << low_bits)
    for start in range(0, rows.shape[0], _TRANSFORM_BLOCK_ROWS):
        block = rows[start : start + _TRANSFORM_BLOCK_ROWS]
        block[...] = block @ kernel
    if n > low_bits:
        scratch = np.empty(size // 2, dtype=np.float64)
        for i in range(low_bits, n):
            # Pairs (b, b | 2^i) with bit i clear in b: rows [.., 0, ..] and [.., 1, ..].
            view = diag.reshape(-1, 2, 1 << i)
            low, high = view[:, 0, :], view[:, 1, :]
            if spin:  # (u, v) -> (u + v, u - v)
                tmp = scratch.reshape(low.shape)
                np.subtract(low, high, out=tmp)
                low += high
                high[...] = tmp
            else:  # f(b) = Σ_{m ⊆ b} w[m]: the set bit gathers the clear one
                high += low
    if out_dtype != np.float64:
        return diag.astype(out_dtype)
    return diag


def ir_cost_diagonal(ir: Hamiltonian | PolynomialHamiltonian) -> npt.NDArray[np.float64]:
    """``E(decode(b))`` for every basis state ``b`` of a Hamiltonian or a PolynomialHamiltonian,
    offset included, in the package's conventions (a Hamiltonian through its exact SPIN form and
    :func:`cost_diagonal`; a polynomial in its own vartype by :func:`polynomial_cost_diagonal`).

    Raises
    ------
    ValueError
        Above :data:`MAX_QUBITS` variables.
    """
    from qevo_ir.hamiltonian import Hamiltonian

    if isinstance(ir, Hamiltonian):
        spin = ir.to_spin()
        return cost_diagonal(spin.linear, spin.row, spin.col, spin.quad, spin.offset)
    return polynomial_cost_diagonal(
        ir.term_ptr,
        ir.term_vars,
        ir.coeffs,
        ir.offset,
        num_qubits=ir.num_variables,
        vartype=ir.vartype.value,
    )
