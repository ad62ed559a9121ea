"""Dense statevector simulation of QAOA on a precomputed cost diagonal.

Circuit (fixed convention): ``|ψ0⟩ = |+⟩^n``; for layer ``k = 0..p-1`` apply
``U_C(gamma_k) = exp(-i gamma_k diag(E))`` (full energy, offset included) and then the
transverse-field mixer ``U_B(β_k) = exp(-i β_k Σ_j X_j) = Π_j (cos β_k I - i sin β_k X_j)``.
Basis index ``b`` is little-endian (bit ``i`` of ``b`` is qubit ``i``).

Implementation notes
--------------------
Both engines work in the *rotated frame* ``φ = S† ψ`` with ``S = diag(i^{popcount(b)})``, i.e.
``S = diag(1, i)`` on every qubit. Since ``S† X S = -Y``, the mixer becomes a **real** rotation
``exp(-iβX) = S G(β) S†`` with ``G(β) = [[cos β, sin β], [-sin β, cos β]]`` on every qubit, and
``S`` commutes with the diagonal cost unitary. Hence::

    ψ_p = S · Π_k [G(β_k)^{⊗n} · exp(-i gamma_k E)] · S† |+⟩,   S†|+⟩ = 2^{-n/2} (-i)^{popcount(b)}

Probabilities and energies do not see ``S`` at all, and the mixer acts on the real and the
imaginary parts of ``φ`` independently with a real matrix (half the flops of a complex one).

* ``numpy`` engine (always available): ``G^{⊗n}`` is applied as a cycle of real BLAS GEMMs with
  ``G^{⊗3}`` / ``G^{⊗4}`` blocks on the ``float64`` view of the state: each GEMM takes the top
  ``k`` axes of the tensor, applies the block and writes them back as the lowest axes, so after
  a full cycle over the ``n + 1`` axes (the real/imaginary axis included, with an identity
  factor) the layout is back to normal. The phase uses ``np.cos``/``np.sin`` once per layer.
* ``numba`` engine (optional, used automatically when ``numba`` imports): fused, cache-blocked
  kernels over split real/imaginary planes. One parallel pass per layer computes the cost phase
  (vectorisable Cody-Waite + minimax ``sincos``) and the rotations of the lowest 14 qubits on
  L2-resident blocks with radix-8 butterflies; one more pass per 7 upper qubits handles the rest
  on tiles. ``numba`` is never required.

Gradients (:func:`qaoa_expectation_and_gradient`) use the adjoint method: one forward pass, then
the state and ``λ = E ⊙ φ`` are un-evolved together layer by layer, with the reductions
``dE/dβ_k = 2 Σ_j Re⟨λ|K_j φ⟩`` (``K = [[0, 1], [-1, 0]]``) and
``dE/dgamma_k = 2 Σ_b E_b Im(conj(λ_b) φ_b)`` fused into the same passes.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from typing import Any, Literal, TypeVar, cast

import numpy as np
import numpy.typing as npt

from qevo_ir.qaoa.diagonal import MAX_QUBITS, check_qubits, statevector_memory_bytes

__all__ = [
    "MAX_QUBITS",
    "Engine",
    "numba_available",
    "qaoa_expectation",
    "qaoa_expectation_and_gradient",
    "qaoa_probabilities",
    "qaoa_state",
    "resolve_engine",
    "sample_qaoa",
    "statevector_memory_bytes",
]

FloatArray = npt.NDArray[np.float64]
ComplexArray = npt.NDArray[np.complex128]

#: Engine selector accepted by the simulation functions.
Engine = Literal["auto", "numpy", "numba"]

#: Environment variable that overrides ``engine="auto"`` (``numpy`` or ``numba``).
ENGINE_ENV = "QEVO_QAOA_ENGINE"

# Below this size the numpy engine is used whatever was asked (kernels assume blocks of >= 2^10).
_NUMBA_MIN_QUBITS = 10
# numba engine: qubits handled in the first (L2-blocked) pass, upper qubits per tile pass, and
# contiguous run length of a tile.
_BLOCK_BITS = 14
_TILE_BITS = 7
_TILE_RUN = 256
_TILE_RUN_GRAD = 128
# The numba sincos is exact to ~1 ulp for |gamma E| <= this; larger phases use the numpy engine.
_PHASE_LIMIT = 1.0e5
# Scratch planes of at most this many bytes are kept per thread between calls (avoids page
# faults on fresh allocations, ~10% at n = 20).
_WORKSPACE_LIMIT = 64 << 20

F = TypeVar("F", bound=Callable[..., Any])


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _prepare_diagonal(diagonal: npt.ArrayLike) -> tuple[FloatArray, int, float]:
    """Validated float64 contiguous diagonal, ``n`` and ``max |E|``."""
    arr = np.asarray(diagonal)
    if arr.ndim != 1:
        raise ValueError(f"diagonal must be one-dimensional, got shape {arr.shape}")
    size = int(arr.size)
    if size == 0 or size & (size - 1):
        raise ValueError(f"diagonal length must be a power of two (2**n), got {size}")
    n = size.bit_length() - 1
    check_qubits(n)
    if np.iscomplexobj(arr):
        raise ValueError("diagonal must be real (it holds energies)")
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"diagonal must be numeric, got dtype {arr.dtype}")
    diag = np.ascontiguousarray(arr, dtype=np.float64)
    lo = float(diag.min())  # min/max propagate NaN and ±inf: this is also the finiteness check
    hi = float(diag.max())
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError("diagonal must be finite")
    return diag, n, max(hi, -lo)


def _prepare_angles(gammas: npt.ArrayLike, betas: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    g = np.atleast_1d(np.asarray(gammas, dtype=np.float64))
    b = np.atleast_1d(np.asarray(betas, dtype=np.float64))
    if g.ndim != 1 or b.ndim != 1:
        raise ValueError("gammas and betas must be one-dimensional")
    if g.shape != b.shape:
        raise ValueError(f"gammas and betas must have the same length, got {g.size} and {b.size}")
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(b))):
        raise ValueError("angles must be finite")
    return g, b


# --------------------------------------------------------------------------------------------
# numpy engine
# --------------------------------------------------------------------------------------------


def _frame_phases(n: int, unit: complex, scale: float) -> ComplexArray:
    """``scale * unit**popcount(b)`` for all ``b < 2**n`` (by doubling)."""
    out = np.empty(1 << n, dtype=np.complex128)
    out[0] = scale
    for i in range(n):
        np.multiply(out[: 1 << i], unit, out=out[1 << i : 2 << i])
    return out


def _group_sizes(n_axes: int) -> list[int]:
    """Split the ``n + 1`` tensor axes into GEMM groups of 3 and 4 (2-wide GEMMs are slow)."""
    if n_axes <= 5:
        return [n_axes]
    rem = n_axes % 3
    if rem == 0:
        return [3] * (n_axes // 3)
    if rem == 1:
        return [3] * ((n_axes - 4) // 3) + [4]
    return [3] * ((n_axes - 8) // 3) + [4, 4]


def _kron_power(mat: FloatArray, k: int) -> FloatArray:
    out: FloatArray = np.ones((1, 1), dtype=np.float64)
    for _ in range(k):
        out = np.asarray(np.kron(out, mat), dtype=np.float64)
    return out


def _mixer_numpy(
    state: ComplexArray, spare: ComplexArray, beta: float, n: int
) -> tuple[ComplexArray, ComplexArray]:
    """Apply ``G(β)^{⊗n}`` (rotated-frame mixer); returns ``(result, spare buffer)``."""
    if n == 0 or beta == 0.0:
        return state, spare
    c, s = math.cos(beta), math.sin(beta)
    rot = np.array([[c, s], [-s, c]], dtype=np.float64)
    groups = _group_sizes(n + 1)
    full: dict[int, FloatArray] = {}
    src, dst = state, spare
    for idx, k in enumerate(groups):
        if idx == len(groups) - 1:
            # Last group holds the real/imaginary axis as its fastest axis: identity there.
            mat = np.kron(_kron_power(rot, k - 1), np.eye(2))
        else:
            if k not in full:
                full[k] = _kron_power(rot, k)
            mat = full[k]
        width = 1 << k
        src_mat = src.view(np.float64).reshape(width, -1)
        np.matmul(src_mat.T, mat.T, out=dst.view(np.float64).reshape(-1, width))
        src, dst = dst, src
    return src, dst


def _phase_into(diag: FloatArray, gamma: float, tmp: FloatArray, out: ComplexArray) -> None:
    """``out = exp(-i gamma diag)``."""
    np.multiply(diag, -gamma, out=tmp)
    np.cos(tmp, out=out.real)
    np.sin(tmp, out=out.imag)


def _evolve_numpy(diag: FloatArray, n: int, gammas: FloatArray, betas: FloatArray) -> ComplexArray:
    """Rotated-frame state ``φ = S† ψ`` after all layers."""
    phi = _frame_phases(n, -1j, 2.0 ** (-n / 2))
    if gammas.size == 0:
        return phi
    spare = np.empty_like(phi)
    tmp = np.empty(diag.size, dtype=np.float64)
    phase = np.empty_like(phi)
    for gamma, beta in zip(gammas.tolist(), betas.tolist(), strict=True):
        _phase_into(diag, gamma, tmp, phase)
        np.multiply(phi, phase, out=phi)
        phi, spare = _mixer_numpy(phi, spare, beta, n)
    return phi


def _probs_numpy(phi: ComplexArray) -> FloatArray:
    pf = phi.view(np.float64).reshape(-1, 2)
    probs: FloatArray = np.einsum("ij,ij->i", pf, pf)
    return probs


def _k_dot_numpy(lam: ComplexArray, phi: ComplexArray, n: int) -> float:
    """``Σ_j Re⟨λ|K_j φ⟩`` with ``K = [[0, 1], [-1, 0]]`` on qubit ``j``."""
    lf = lam.view(np.float64)
    pf = phi.view(np.float64)
    total = 0.0
    for j in range(n):
        shape = (1 << (n - 1 - j), 2, 2 << j)
        lv = lf.reshape(shape)
        pv = pf.reshape(shape)
        total += float(np.einsum("ij,ij->", lv[:, 0, :], pv[:, 1, :]))
        total -= float(np.einsum("ij,ij->", lv[:, 1, :], pv[:, 0, :]))
    return total


def _value_grad_numpy(
    diag: FloatArray, n: int, gammas: FloatArray, betas: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    phi = _evolve_numpy(diag, n, gammas, betas)
    lam = phi * diag
    energy = float(np.vdot(phi, lam).real)
    p = gammas.size
    dg = np.zeros(p, dtype=np.float64)
    db = np.zeros(p, dtype=np.float64)
    spare_phi = np.empty_like(phi)
    spare_lam = np.empty_like(phi)
    tmp = np.empty(diag.size, dtype=np.float64)
    phase = np.empty_like(phi)
    for k in range(p - 1, -1, -1):
        db[k] = 2.0 * _k_dot_numpy(lam, phi, n)
        phi, spare_phi = _mixer_numpy(phi, spare_phi, -float(betas[k]), n)
        lam, spare_lam = _mixer_numpy(lam, spare_lam, -float(betas[k]), n)
        lf = lam.view(np.float64).reshape(-1, 2)
        pf = phi.view(np.float64).reshape(-1, 2)
        dg[k] = 2.0 * float(
            np.einsum("i,i,i->", diag, lf[:, 0], pf[:, 1])
            - np.einsum("i,i,i->", diag, lf[:, 1], pf[:, 0])
        )
        _phase_into(diag, -float(gammas[k]), tmp, phase)
        np.multiply(phi, phase, out=phi)
        np.multiply(lam, phase, out=lam)
    return energy, dg, db


# --------------------------------------------------------------------------------------------
# numba engine: kernels are plain Python below and are JIT-compiled on first use only when
# numba imports. They are never run uncompiled (far too slow).
# --------------------------------------------------------------------------------------------

# fdlibm __kernel_sin / __kernel_cos minimax coefficients on [-π/4, π/4] and a 3-part
# Cody-Waite π/2 (exact products for |k| < 2^20, i.e. |θ| < ~1.6e6).
_TWO_OVER_PI = 6.36619772367581382433e-01
_PIO2_1 = 1.57079632673412561417e00
_PIO2_2 = 6.07710050650619224932e-11
_PIO2_3 = 2.02226624871116645580e-21
_S1 = -1.66666666666666324348e-01
_S2 = 8.33333333332248946124e-03
_S3 = -1.98412698298579493134e-04
_S4 = 2.75573137070700676789e-06
_S5 = -2.50507602534068634195e-08
_S6 = 1.58969099521155010221e-10
_C1 = 4.16666666666666019037e-02
_C2 = -1.38888888888741095749e-03
_C3 = 2.48015872894767294178e-05
_C4 = -2.75573143513906633035e-07
_C5 = 2.08757232129817482790e-09
_C6 = -1.13596475577881948265e-11


def _sincos_py(x: float) -> tuple[float, float]:
    """``(sin x, cos x)`` for ``|x| <= 1e5``, branch-free (vectorisable: float ops only)."""
    kf = np.floor(x * _TWO_OVER_PI + 0.5)
    r = ((x - kf * _PIO2_1) - kf * _PIO2_2) - kf * _PIO2_3
    z = r * r
    sr = r + r * z * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
    cr = 1.0 - 0.5 * z + z * z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))
    q = kf - 4.0 * np.floor(kf * 0.25)  # quadrant in {0, 1, 2, 3}
    half = np.floor(q * 0.5)
    odd = q - 2.0 * half
    tc = np.floor((q + 1.0) * 0.5)
    sign_c = 1.0 - 2.0 * (tc - 2.0 * np.floor(tc * 0.5))
    sign_s = 1.0 - 2.0 * half
    sn = cr if odd > 0.5 else sr
    cs = sr if odd > 0.5 else cr
    return sign_s * sn, sign_c * cs


def _popcount_py(i: int) -> int:
    v = i - ((i >> 1) & 0x55555555)
    v = (v & 0x33333333) + ((v >> 2) & 0x33333333)
    v = (v + (v >> 4)) & 0x0F0F0F0F
    return ((v * 0x01010101) & 0xFFFFFFFF) >> 24


def _bf_py(a: float, b: float, c: float, s: float) -> tuple[float, float]:
    return c * a + s * b, c * b - s * a


def _r8_py(m: FloatArray, t: int, c: float, s: float) -> None:
    """Radix-8 butterfly (three qubits) on column ``t`` of the ``(8, h)`` view ``m``."""
    x0 = m[0, t]
    x1 = m[1, t]
    x2 = m[2, t]
    x3 = m[3, t]
    x4 = m[4, t]
    x5 = m[5, t]
    x6 = m[6, t]
    x7 = m[7, t]
    x0, x1 = _bf(x0, x1, c, s)
    x2, x3 = _bf(x2, x3, c, s)
    x4, x5 = _bf(x4, x5, c, s)
    x6, x7 = _bf(x6, x7, c, s)
    x0, x2 = _bf(x0, x2, c, s)
    x1, x3 = _bf(x1, x3, c, s)
    x4, x6 = _bf(x4, x6, c, s)
    x5, x7 = _bf(x5, x7, c, s)
    x0, x4 = _bf(x0, x4, c, s)
    x1, x5 = _bf(x1, x5, c, s)
    x2, x6 = _bf(x2, x6, c, s)
    x3, x7 = _bf(x3, x7, c, s)
    m[0, t] = x0
    m[1, t] = x1
    m[2, t] = x2
    m[3, t] = x3
    m[4, t] = x4
    m[5, t] = x5
    m[6, t] = x6
    m[7, t] = x7


def _r8flat_py(x: FloatArray, t: int, c: float, s: float) -> None:
    """Radix-8 butterfly on the contiguous ``x[t:t+8]`` (qubits 0, 1, 2)."""
    x0 = x[t]
    x1 = x[t + 1]
    x2 = x[t + 2]
    x3 = x[t + 3]
    x4 = x[t + 4]
    x5 = x[t + 5]
    x6 = x[t + 6]
    x7 = x[t + 7]
    x0, x1 = _bf(x0, x1, c, s)
    x2, x3 = _bf(x2, x3, c, s)
    x4, x5 = _bf(x4, x5, c, s)
    x6, x7 = _bf(x6, x7, c, s)
    x0, x2 = _bf(x0, x2, c, s)
    x1, x3 = _bf(x1, x3, c, s)
    x4, x6 = _bf(x4, x6, c, s)
    x5, x7 = _bf(x5, x7, c, s)
    x0, x4 = _bf(x0, x4, c, s)
    x1, x5 = _bf(x1, x5, c, s)
    x2, x6 = _bf(x2, x6, c, s)
    x3, x7 = _bf(x3, x7, c, s)
    x[t] = x0
    x[t + 1] = x1
    x[t + 2] = x2
    x[t + 3] = x3
    x[t + 4] = x4
    x[t + 5] = x5
    x[t + 6] = x6
    x[t + 7] = x7


def _r4_py(m: FloatArray, t: int, c: float, s: float) -> None:
    x0 = m[0, t]
    x1 = m[1, t]
    x2 = m[2, t]
    x3 = m[3, t]
    x0, x1 = _bf(x0, x1, c, s)
    x2, x3 = _bf(x2, x3, c, s)
    x0, x2 = _bf(x0, x2, c, s)
    x1, x3 = _bf(x1, x3, c, s)
    m[0, t] = x0
    m[1, t] = x1
    m[2, t] = x2
    m[3, t] = x3


def _r2_py(m: FloatArray, t: int, c: float, s: float) -> None:
    a, b = _bf(m[0, t], m[1, t], c, s)
    m[0, t] = a
    m[1, t] = b


def _run_py(m: FloatArray, t0: int, nt: int, r: int, c: float, s: float) -> None:
    """Radix-``2^r`` butterflies on columns ``t0 <= t < t0 + nt`` of the ``(2^r, h)`` view ``m``.

    The rows of ``m`` are the ``2^r`` values of the rotated qubits; the 2-D view (rather than
    strided indexing of a flat array) is what lets LLVM vectorise over ``t``.
    """
    if r == 3:
        for t in range(t0, t0 + nt):
            _r8(m, t, c, s)
    elif r == 2:
        for t in range(t0, t0 + nt):
            _r4(m, t, c, s)
    else:
        for t in range(t0, t0 + nt):
            _r2(m, t, c, s)


def _bfg_py(
    a: float, b: float, ua: float, ub: float, c: float, s: float
) -> tuple[float, float, float, float, float]:
    """Rotate pairs of φ and λ together; also return ``λ_a φ_b - λ_b φ_a``."""
    return c * a + s * b, c * b - s * a, c * ua + s * ub, c * ub - s * ua, ua * b - ub * a


def _r8g_py(m: FloatArray, mu: FloatArray, t: int, c: float, s: float) -> float:
    """Radix-8 rotation of φ (``m``) and λ (``mu``) columns ``t``.

    Returns ``Σ λ_a φ_b - λ_b φ_a`` over the 12 butterflies.
    """
    x0 = m[0, t]
    x1 = m[1, t]
    x2 = m[2, t]
    x3 = m[3, t]
    x4 = m[4, t]
    x5 = m[5, t]
    x6 = m[6, t]
    x7 = m[7, t]
    u0 = mu[0, t]
    u1 = mu[1, t]
    u2 = mu[2, t]
    u3 = mu[3, t]
    u4 = mu[4, t]
    u5 = mu[5, t]
    u6 = mu[6, t]
    u7 = mu[7, t]
    x0, x1, u0, u1, a0 = _bfg(x0, x1, u0, u1, c, s)
    x2, x3, u2, u3, a1 = _bfg(x2, x3, u2, u3, c, s)
    x4, x5, u4, u5, a2 = _bfg(x4, x5, u4, u5, c, s)
    x6, x7, u6, u7, a3 = _bfg(x6, x7, u6, u7, c, s)
    x0, x2, u0, u2, b0 = _bfg(x0, x2, u0, u2, c, s)
    x1, x3, u1, u3, b1 = _bfg(x1, x3, u1, u3, c, s)
    x4, x6, u4, u6, b2 = _bfg(x4, x6, u4, u6, c, s)
    x5, x7, u5, u7, b3 = _bfg(x5, x7, u5, u7, c, s)
    x0, x4, u0, u4, d0 = _bfg(x0, x4, u0, u4, c, s)
    x1, x5, u1, u5, d1 = _bfg(x1, x5, u1, u5, c, s)
    x2, x6, u2, u6, d2 = _bfg(x2, x6, u2, u6, c, s)
    x3, x7, u3, u7, d3 = _bfg(x3, x7, u3, u7, c, s)
    m[0, t] = x0
    m[1, t] = x1
    m[2, t] = x2
    m[3, t] = x3
    m[4, t] = x4
    m[5, t] = x5
    m[6, t] = x6
    m[7, t] = x7
    mu[0, t] = u0
    mu[1, t] = u1
    mu[2, t] = u2
    mu[3, t] = u3
    mu[4, t] = u4
    mu[5, t] = u5
    mu[6, t] = u6
    mu[7, t] = u7
    return ((a0 + a1) + (a2 + a3)) + ((b0 + b1) + (b2 + b3)) + ((d0 + d1) + (d2 + d3))


def _r8gflat_py(x: FloatArray, u: FloatArray, t: int, c: float, s: float) -> float:
    """As :func:`_r8g_py` on the contiguous ``x[t:t+8]``, ``u[t:t+8]`` (qubits 0, 1, 2)."""
    x0 = x[t]
    x1 = x[t + 1]
    x2 = x[t + 2]
    x3 = x[t + 3]
    x4 = x[t + 4]
    x5 = x[t + 5]
    x6 = x[t + 6]
    x7 = x[t + 7]
    u0 = u[t]
    u1 = u[t + 1]
    u2 = u[t + 2]
    u3 = u[t + 3]
    u4 = u[t + 4]
    u5 = u[t + 5]
    u6 = u[t + 6]
    u7 = u[t + 7]
    x0, x1, u0, u1, a0 = _bfg(x0, x1, u0, u1, c, s)
    x2, x3, u2, u3, a1 = _bfg(x2, x3, u2, u3, c, s)
    x4, x5, u4, u5, a2 = _bfg(x4, x5, u4, u5, c, s)
    x6, x7, u6, u7, a3 = _bfg(x6, x7, u6, u7, c, s)
    x0, x2, u0, u2, b0 = _bfg(x0, x2, u0, u2, c, s)
    x1, x3, u1, u3, b1 = _bfg(x1, x3, u1, u3, c, s)
    x4, x6, u4, u6, b2 = _bfg(x4, x6, u4, u6, c, s)
    x5, x7, u5, u7, b3 = _bfg(x5, x7, u5, u7, c, s)
    x0, x4, u0, u4, d0 = _bfg(x0, x4, u0, u4, c, s)
    x1, x5, u1, u5, d1 = _bfg(x1, x5, u1, u5, c, s)
    x2, x6, u2, u6, d2 = _bfg(x2, x6, u2, u6, c, s)
    x3, x7, u3, u7, d3 = _bfg(x3, x7, u3, u7, c, s)
    x[t] = x0
    x[t + 1] = x1
    x[t + 2] = x2
    x[t + 3] = x3
    x[t + 4] = x4
    x[t + 5] = x5
    x[t + 6] = x6
    x[t + 7] = x7
    u[t] = u0
    u[t + 1] = u1
    u[t + 2] = u2
    u[t + 3] = u3
    u[t + 4] = u4
    u[t + 5] = u5
    u[t + 6] = u6
    u[t + 7] = u7
    return ((a0 + a1) + (a2 + a3)) + ((b0 + b1) + (b2 + b3)) + ((d0 + d1) + (d2 + d3))


def _r4g_py(m: FloatArray, mu: FloatArray, t: int, c: float, s: float) -> float:
    x0 = m[0, t]
    x1 = m[1, t]
    x2 = m[2, t]
    x3 = m[3, t]
    u0 = mu[0, t]
    u1 = mu[1, t]
    u2 = mu[2, t]
    u3 = mu[3, t]
    x0, x1, u0, u1, a0 = _bfg(x0, x1, u0, u1, c, s)
    x2, x3, u2, u3, a1 = _bfg(x2, x3, u2, u3, c, s)
    x0, x2, u0, u2, a2 = _bfg(x0, x2, u0, u2, c, s)
    x1, x3, u1, u3, a3 = _bfg(x1, x3, u1, u3, c, s)
    m[0, t] = x0
    m[1, t] = x1
    m[2, t] = x2
    m[3, t] = x3
    mu[0, t] = u0
    mu[1, t] = u1
    mu[2, t] = u2
    mu[3, t] = u3
    return (a0 + a1) + (a2 + a3)


def _r2g_py(m: FloatArray, mu: FloatArray, t: int, c: float, s: float) -> float:
    x0, x1, u0, u1, acc = _bfg(m[0, t], m[1, t], mu[0, t], mu[1, t], c, s)
    m[0, t] = x0
    m[1, t] = x1
    mu[0, t] = u0
    mu[1, t] = u1
    return acc


def _rung_py(m: FloatArray, mu: FloatArray, t0: int, nt: int, r: int, c: float, s: float) -> float:
    acc = 0.0
    if r == 3:
        for t in range(t0, t0 + nt):
            acc += _r8g(m, mu, t, c, s)
    elif r == 2:
        for t in range(t0, t0 + nt):
            acc += _r4g(m, mu, t, c, s)
    else:
        for t in range(t0, t0 + nt):
            acc += _r2g(m, mu, t, c, s)
    return acc


def _mix_block_py(x: FloatArray, o: int, size: int, bits: int, c: float, s: float) -> None:
    """Rotate qubits ``0..bits-1`` on the contiguous block ``x[o:o+size]``."""
    j = 0
    if bits >= 3:
        for t in range(o, o + size, 8):
            _r8flat(x, t, c, s)
        j = 3
    while j < bits:
        r = min(3, bits - j)
        h = 1 << j
        span = h << r
        for base in range(o, o + size, span):
            _run(x[base : base + span].reshape((1 << r, h)), 0, h, r, c, s)
        j += r


def _mix_block_g_py(
    x: FloatArray, u: FloatArray, o: int, size: int, bits: int, c: float, s: float
) -> float:
    acc = 0.0
    j = 0
    if bits >= 3:
        for t in range(o, o + size, 8):
            acc += _r8gflat(x, u, t, c, s)
        j = 3
    while j < bits:
        r = min(2, bits - j)
        h = 1 << j
        span = h << r
        for base in range(o, o + size, span):
            mx = x[base : base + span].reshape((1 << r, h))
            mu = u[base : base + span].reshape((1 << r, h))
            acc += _rung(mx, mu, 0, h, r, c, s)
        j += r
    return acc


def _mix_tile_py(x: FloatArray, base0: int, qa: int, m: int, run: int, c: float, s: float) -> None:
    """Rotate qubits ``qa..qa+m-1`` on the tile ``base0 + (w << qa) + t`` (``t < run``)."""
    j = 0
    while j < m:
        r = min(3, m - j)
        h = 1 << (qa + j)
        view = x.reshape((x.shape[0] >> (qa + j + r), 1 << r, h))
        mask = ((1 << r) - 1) << j
        for w in range(1 << m):
            if w & mask:
                continue
            o = base0 + (w << qa)
            _run(view[o >> (qa + j + r)], o & (h - 1), run, r, c, s)
        j += r


def _mix_tile_g_py(
    x: FloatArray, u: FloatArray, base0: int, qa: int, m: int, run: int, c: float, s: float
) -> float:
    acc = 0.0
    j = 0
    while j < m:
        r = min(2, m - j)
        h = 1 << (qa + j)
        shape = (x.shape[0] >> (qa + j + r), 1 << r, h)
        vx = x.reshape(shape)
        vu = u.reshape(shape)
        mask = ((1 << r) - 1) << j
        for w in range(1 << m):
            if w & mask:
                continue
            o = base0 + (w << qa)
            blk = o >> (qa + j + r)
            acc += _rung(vx[blk], vu[blk], o & (h - 1), run, r, c, s)
        j += r
    return acc


def _phase_block_py(x: FloatArray, y: FloatArray, diag: FloatArray, gamma: float) -> None:
    """``(x + iy) *= exp(-i gamma diag)`` on aligned slices."""
    for i in range(x.shape[0]):
        xr = x[i]
        xi = y[i]
        sn, cs = _sincos(-gamma * diag[i])
        x[i] = xr * cs - xi * sn
        y[i] = xr * sn + xi * cs


def _phase_init_block_py(
    x: FloatArray,
    y: FloatArray,
    diag: FloatArray,
    gamma: float,
    o: int,
    t_re: FloatArray,
    t_im: FloatArray,
) -> None:
    """``x + iy = norm (-i)^{popcount(o + i)} exp(-i gamma diag)`` on a block at ``o``.

    That is the rotated-frame ``|+⟩`` followed by the first cost layer; ``t_re + i t_im`` is the
    table ``norm (-i)^{popcount(i)}`` over the block (``o`` is block-aligned, so the popcounts
    add).
    """
    q = _popcount(o) & 3
    br = 1.0 if q == 0 else (-1.0 if q == 2 else 0.0)
    bi = -1.0 if q == 1 else (1.0 if q == 3 else 0.0)
    for i in range(x.shape[0]):
        tr = t_re[i]
        ti = t_im[i]
        xr = br * tr - bi * ti
        xi = br * ti + bi * tr
        sn, cs = _sincos(-gamma * diag[i])
        x[i] = xr * cs - xi * sn
        y[i] = xr * sn + xi * cs


def _phase_grad_block_py(
    x: FloatArray, y: FloatArray, u: FloatArray, v: FloatArray, diag: FloatArray, gamma: float
) -> None:
    """Multiply φ and λ by ``exp(+i gamma diag)``."""
    for i in range(x.shape[0]):
        xr = x[i]
        xi = y[i]
        ur = u[i]
        ui = v[i]
        sn, cs = _sincos(gamma * diag[i])
        x[i] = xr * cs - xi * sn
        y[i] = xr * sn + xi * cs
        u[i] = ur * cs - ui * sn
        v[i] = ur * sn + ui * cs


def _dot_im_block_py(
    x: FloatArray, y: FloatArray, u: FloatArray, v: FloatArray, diag: FloatArray
) -> float:
    """``Σ diag · Im(conj(λ) φ)`` (compiled with reassociation so the sum vectorises)."""
    acc = 0.0
    for i in range(x.shape[0]):
        acc += diag[i] * (u[i] * y[i] - v[i] * x[i])
    return acc


def _k_fwd_lower_py(
    x: FloatArray,
    y: FloatArray,
    diag: FloatArray,
    gamma: float,
    init: bool,
    t_re: FloatArray,
    t_im: FloatArray,
    c: float,
    s: float,
    bits: int,
) -> None:
    """Phase ``exp(-i gamma E)`` (from ``2^{-n/2}(-i)^{popcount}`` when ``init``) + lower qubits."""
    size = 1 << bits
    for blk in _prange(x.shape[0] >> bits):
        o = blk * size
        if init:
            _phase_init_block(
                x[o : o + size], y[o : o + size], diag[o : o + size], gamma, o, t_re, t_im
            )
        else:
            _phase_block(x[o : o + size], y[o : o + size], diag[o : o + size], gamma)
        _mix_block(x, o, size, bits, c, s)
        _mix_block(y, o, size, bits, c, s)


def _k_fwd_upper_py(
    x: FloatArray, y: FloatArray, qa: int, m: int, run: int, c: float, s: float
) -> None:
    nchunks = (1 << qa) // run
    ntiles = (x.shape[0] >> (qa + m)) * nchunks
    for tile in _prange(ntiles):
        hi = tile // nchunks
        base0 = (hi << (qa + m)) + (tile - hi * nchunks) * run
        _mix_tile(x, base0, qa, m, run, c, s)
        _mix_tile(y, base0, qa, m, run, c, s)


def _k_bwd_upper_py(
    x: FloatArray,
    y: FloatArray,
    u: FloatArray,
    v: FloatArray,
    qa: int,
    m: int,
    run: int,
    c: float,
    s: float,
) -> float:
    nchunks = (1 << qa) // run
    ntiles = (x.shape[0] >> (qa + m)) * nchunks
    acc = 0.0
    for tile in _prange(ntiles):
        hi = tile // nchunks
        base0 = (hi << (qa + m)) + (tile - hi * nchunks) * run
        acc += _mix_tile_g(x, u, base0, qa, m, run, c, s) + _mix_tile_g(
            y, v, base0, qa, m, run, c, s
        )
    return acc


def _k_bwd_lower_py(
    x: FloatArray,
    y: FloatArray,
    u: FloatArray,
    v: FloatArray,
    diag: FloatArray,
    gamma: float,
    c: float,
    s: float,
    bits: int,
) -> tuple[float, float]:
    """Un-rotate lower qubits of φ and λ, then multiply both by ``exp(+i gamma E)``."""
    size = 1 << bits
    acc_b = 0.0
    acc_g = 0.0
    for blk in _prange(x.shape[0] >> bits):
        o = blk * size
        e = o + size
        acc_b += _mix_block_g(x, u, o, size, bits, c, s) + _mix_block_g(y, v, o, size, bits, c, s)
        acc_g += _dot_im_block(x[o:e], y[o:e], u[o:e], v[o:e], diag[o:e])
        _phase_grad_block(x[o:e], y[o:e], u[o:e], v[o:e], diag[o:e], gamma)
    return acc_b, acc_g


def _k_lambda_py(
    x: FloatArray, y: FloatArray, diag: FloatArray, u: FloatArray, v: FloatArray
) -> float:
    acc = 0.0
    for i in _prange(x.shape[0]):
        e = diag[i]
        xr = x[i]
        xi = y[i]
        u[i] = e * xr
        v[i] = e * xi
        acc += e * (xr * xr + xi * xi)
    return acc


def _k_energy_py(x: FloatArray, y: FloatArray, diag: FloatArray) -> float:
    acc = 0.0
    for i in _prange(x.shape[0]):
        acc += diag[i] * (x[i] * x[i] + y[i] * y[i])
    return acc


def _k_probs_py(x: FloatArray, y: FloatArray, out: FloatArray) -> None:
    for i in _prange(x.shape[0]):
        out[i] = x[i] * x[i] + y[i] * y[i]


def _k_state_py(x: FloatArray, y: FloatArray, out: FloatArray) -> None:
    """``out`` (float view of complex) ``= (x + iy) · i^{popcount}`` (back to the lab frame)."""
    for i in _prange(x.shape[0]):
        q = _popcount(i) & 3
        xr = x[i]
        xi = y[i]
        if q == 0:
            out[2 * i] = xr
            out[2 * i + 1] = xi
        elif q == 1:
            out[2 * i] = -xi
            out[2 * i + 1] = xr
        elif q == 2:
            out[2 * i] = -xr
            out[2 * i + 1] = -xi
        else:
            out[2 * i] = xi
            out[2 * i + 1] = -xr


# Module-level names the kernels call; rebound to numba dispatchers by _load_numba().
_prange: Callable[[int], range] = range
_sincos = _sincos_py
_popcount = _popcount_py
_bf = _bf_py
_bfg = _bfg_py
_r8 = _r8_py
_r8flat = _r8flat_py
_r4 = _r4_py
_r2 = _r2_py
_r4g = _r4g_py
_r8g = _r8g_py
_r8gflat = _r8gflat_py
_r2g = _r2g_py
_run = _run_py
_rung = _rung_py
_mix_block = _mix_block_py
_phase_block = _phase_block_py
_phase_init_block = _phase_init_block_py
_phase_grad_block = _phase_grad_block_py
_dot_im_block = _dot_im_block_py
_mix_block_g = _mix_block_g_py
_mix_tile = _mix_tile_py
_mix_tile_g = _mix_tile_g_py
_k_fwd_lower = _k_fwd_lower_py
_k_fwd_upper = _k_fwd_upper_py
_k_bwd_upper = _k_bwd_upper_py
_k_bwd_lower = _k_bwd_lower_py
_k_lambda = _k_lambda_py
_k_energy = _k_energy_py
_k_probs = _k_probs_py
_k_state = _k_state_py

_NUMBA_STATE: dict[str, bool] = {}


def _load_numba() -> bool:
    """Import numba and JIT-wrap the kernels once; ``False`` when numba is unavailable."""
    if "ok" in _NUMBA_STATE:
        return _NUMBA_STATE["ok"]
    try:
        import numba
    except Exception:  # ImportError, or a numba/numpy version mismatch raising at import
        _NUMBA_STATE["ok"] = False
        return False

    def jit(**kwargs: Any) -> Callable[[F], F]:
        return cast(Callable[[F], F], numba.njit(cache=True, **kwargs))

    exact = {"contract"}  # sincos relies on the evaluation order: no reassociation there
    loose = {"contract", "reassoc", "nsz"}  # gradient reductions: lets LLVM vectorise sums
    g = globals()
    g["_prange"] = numba.prange
    for name in ("_sincos", "_popcount", "_bf", "_bfg", "_r8", "_r8flat", "_r4", "_r2"):
        g[name] = jit(inline="always", fastmath=exact)(g[name + "_py"])
    for name in ("_r4g", "_r2g", "_r8g", "_r8gflat"):
        g[name] = jit(inline="always", fastmath=loose)(g[name + "_py"])
    for name in ("_run", "_mix_block", "_mix_tile", "_phase_block", "_phase_init_block"):
        g[name] = jit(fastmath=exact)(g[name + "_py"])
    g["_phase_grad_block"] = jit(fastmath=exact)(_phase_grad_block_py)
    for name in ("_rung", "_mix_block_g", "_mix_tile_g", "_dot_im_block"):
        g[name] = jit(fastmath=loose)(g[name + "_py"])
    for name in ("_k_fwd_lower", "_k_fwd_upper", "_k_bwd_upper", "_k_bwd_lower"):
        g[name] = jit(parallel=True, fastmath=exact)(g[name + "_py"])
    for name in ("_k_lambda", "_k_energy", "_k_probs", "_k_state"):
        g[name] = jit(parallel=True, fastmath=loose)(g[name + "_py"])
    _NUMBA_STATE["ok"] = True
    return True


def numba_available() -> bool:
    """Whether the optional numba engine can be used (imports numba on first call).

    ``engine="auto"`` uses it when this is true, unless ``QEVO_QAOA_ENGINE=numpy`` is set.
    """
    return _load_numba()


def resolve_engine(engine: Engine = "auto", n: int | None = None) -> Literal["numpy", "numba"]:
    """Engine that :func:`qaoa_expectation` and friends will use.

    Parameters
    ----------
    engine : {"auto", "numpy", "numba"}
        ``"auto"`` picks numba when it imports (overridable with the ``QEVO_QAOA_ENGINE``
        environment variable), else numpy. ``"numba"`` raises :class:`ImportError` without numba.
    n : int, optional
        Number of qubits; below 10 qubits the numpy engine is always used.

    Returns
    -------
    str
        ``"numpy"`` or ``"numba"``.
    """
    if engine not in ("auto", "numpy", "numba"):
        raise ValueError(f"engine must be 'auto', 'numpy' or 'numba', got {engine!r}")
    if engine == "auto":
        env = os.environ.get(ENGINE_ENV, "").strip().lower()
        if env in ("numpy", "numba"):
            engine = cast(Engine, env)
    if engine == "numpy":
        return "numpy"
    if engine == "numba":
        if not _load_numba():
            raise ImportError("engine='numba' requested but numba is not installed")
    elif not _load_numba():
        return "numpy"
    if n is not None and n < _NUMBA_MIN_QUBITS:
        return "numpy"
    return "numba"


_WORKSPACE = threading.local()


def _planes(size: int, count: int, reuse: bool) -> list[FloatArray]:
    """``count`` float64 scratch arrays of ``size``; thread-local and reused when small."""
    if not reuse or size * 8 * count > _WORKSPACE_LIMIT:
        return [np.empty(size, dtype=np.float64) for _ in range(count)]
    cached: list[FloatArray] | None = getattr(_WORKSPACE, "planes", None)
    if cached is None or cached[0].size != size or len(cached) < count:
        keep = max(count, len(cached) if cached is not None and cached[0].size == size else 0)
        cached = [np.empty(size, dtype=np.float64) for _ in range(keep)]
        _WORKSPACE.planes = cached
    return cached[:count]


def _use_numba(engine: Engine, n: int, gammas: FloatArray, max_abs: float) -> bool:
    if resolve_engine(engine, n) != "numba":
        return False
    return not (gammas.size and float(np.max(np.abs(gammas))) * max_abs > _PHASE_LIMIT)


def _upper_groups(n: int, bits: int) -> list[tuple[int, int]]:
    out = []
    qa = bits
    while qa < n:
        m = min(_TILE_BITS, n - qa)
        out.append((qa, m))
        qa += m
    return out


def _evolve_numba(
    diag: FloatArray, n: int, gammas: FloatArray, betas: FloatArray, x: FloatArray, y: FloatArray
) -> None:
    """Rotated-frame planes ``(Re φ, Im φ)`` after all layers, written into ``x`` and ``y``."""
    if gammas.size == 0:
        phi = _frame_phases(n, -1j, 2.0 ** (-n / 2))
        x[:] = phi.real
        y[:] = phi.imag
        return
    bits = min(n, _BLOCK_BITS)
    uppers = _upper_groups(n, bits)
    table = _frame_phases(bits, -1j, 2.0 ** (-n / 2))
    t_re = np.ascontiguousarray(table.real)
    t_im = np.ascontiguousarray(table.imag)
    for k, (gamma, beta) in enumerate(zip(gammas.tolist(), betas.tolist(), strict=True)):
        c, s = math.cos(beta), math.sin(beta)
        _k_fwd_lower(x, y, diag, gamma, k == 0, t_re, t_im, c, s, bits)
        for qa, m in uppers:
            _k_fwd_upper(x, y, qa, m, min(_TILE_RUN, 1 << qa), c, s)


def _value_grad_numba(
    diag: FloatArray, n: int, gammas: FloatArray, betas: FloatArray
) -> tuple[float, FloatArray, FloatArray]:
    x, y, u, v = _planes(diag.size, 4, reuse=True)
    _evolve_numba(diag, n, gammas, betas, x, y)
    energy = float(_k_lambda(x, y, diag, u, v))
    p = gammas.size
    dg = np.zeros(p, dtype=np.float64)
    db = np.zeros(p, dtype=np.float64)
    bits = min(n, _BLOCK_BITS)
    uppers = _upper_groups(n, bits)
    for k in range(p - 1, -1, -1):
        c, s = math.cos(float(betas[k])), -math.sin(float(betas[k]))
        acc = 0.0
        for qa, m in uppers:
            acc += float(_k_bwd_upper(x, y, u, v, qa, m, min(_TILE_RUN_GRAD, 1 << qa), c, s))
        part_b, part_g = _k_bwd_lower(x, y, u, v, diag, float(gammas[k]), c, s, bits)
        db[k] = 2.0 * (acc + float(part_b))
        dg[k] = 2.0 * float(part_g)
    return energy, dg, db


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def qaoa_state(
    diagonal: npt.ArrayLike,
    gammas: npt.ArrayLike,
    betas: npt.ArrayLike,
    *,
    engine: Engine = "auto",
) -> ComplexArray:
    """Final QAOA statevector ``Π_k U_B(β_k) U_C(gamma_k) |+⟩^n``.

    Parameters
    ----------
    diagonal : array_like, shape (2**n,)
        Cost energies ``E(b)`` (see :func:`qevo_ir.qaoa.cost_diagonal`), offset included.
    gammas, betas : array_like, shape (p,)
        Cost and mixer angles (``p = 0`` returns ``|+⟩^n``).
    engine : {"auto", "numpy", "numba"}, optional
        Simulation engine (see :func:`resolve_engine`).

    Returns
    -------
    numpy.ndarray of complex128, shape (2**n,)
        Amplitudes in little-endian basis order (exact phases, no global phase dropped).

    Raises
    ------
    ValueError
        On malformed input or more than :data:`MAX_QUBITS` qubits.
    """
    diag, n, max_abs = _prepare_diagonal(diagonal)
    g, b = _prepare_angles(gammas, betas)
    if _use_numba(engine, n, g, max_abs):
        x, y = _planes(diag.size, 2, reuse=True)
        _evolve_numba(diag, n, g, b, x, y)
        out = np.empty(diag.size, dtype=np.complex128)
        _k_state(x, y, out.view(np.float64))
        return out
    phi = _evolve_numpy(diag, n, g, b)
    np.multiply(phi, _frame_phases(n, 1j, 1.0), out=phi)
    return phi


def qaoa_probabilities(
    diagonal: npt.ArrayLike,
    gammas: npt.ArrayLike,
    betas: npt.ArrayLike,
    *,
    engine: Engine = "auto",
) -> FloatArray:
    """Measurement distribution ``|ψ_b|²`` of the QAOA state (little-endian index ``b``).

    Parameters
    ----------
    diagonal, gammas, betas, engine
        As for :func:`qaoa_state`.

    Returns
    -------
    numpy.ndarray of float64, shape (2**n,)
        Probabilities (sum to 1 up to rounding).
    """
    diag, n, max_abs = _prepare_diagonal(diagonal)
    g, b = _prepare_angles(gammas, betas)
    if _use_numba(engine, n, g, max_abs):
        x, y = _planes(diag.size, 2, reuse=False)
        _evolve_numba(diag, n, g, b, x, y)
        _k_probs(x, y, x)
        return x
    return _probs_numpy(_evolve_numpy(diag, n, g, b))


def qaoa_expectation(
    diagonal: npt.ArrayLike,
    gammas: npt.ArrayLike,
    betas: npt.ArrayLike,
    *,
    engine: Engine = "auto",
) -> float:
    """Energy expectation ``⟨ψ|H_C|ψ⟩ = Σ_b |ψ_b|² E(b)`` of the QAOA state.

    Parameters
    ----------
    diagonal, gammas, betas, engine
        As for :func:`qaoa_state`.

    Returns
    -------
    float
        The expectation value (``mean(diagonal)`` for ``p = 0``).
    """
    diag, n, max_abs = _prepare_diagonal(diagonal)
    g, b = _prepare_angles(gammas, betas)
    if _use_numba(engine, n, g, max_abs):
        x, y = _planes(diag.size, 2, reuse=True)
        _evolve_numba(diag, n, g, b, x, y)
        return float(_k_energy(x, y, diag))
    return float(_probs_numpy(_evolve_numpy(diag, n, g, b)) @ diag)


def qaoa_expectation_and_gradient(
    diagonal: npt.ArrayLike,
    gammas: npt.ArrayLike,
    betas: npt.ArrayLike,
    *,
    engine: Engine = "auto",
) -> tuple[float, FloatArray, FloatArray]:
    """Expectation and its exact gradient (adjoint method, ~3 simulations' cost).

    Parameters
    ----------
    diagonal, gammas, betas, engine
        As for :func:`qaoa_state`.

    Returns
    -------
    tuple
        ``(energy, d energy / d gammas, d energy / d betas)``.
    """
    diag, n, max_abs = _prepare_diagonal(diagonal)
    g, b = _prepare_angles(gammas, betas)
    return _value_grad_prepared(diag, n, max_abs, g, b, engine)


def _value_grad_prepared(
    diag: FloatArray, n: int, max_abs: float, g: FloatArray, b: FloatArray, engine: Engine
) -> tuple[float, FloatArray, FloatArray]:
    """:func:`qaoa_expectation_and_gradient` on already validated inputs (optimiser loop)."""
    if _use_numba(engine, n, g, max_abs):
        return _value_grad_numba(diag, n, g, b)
    return _value_grad_numpy(diag, n, g, b)


def sample_qaoa(
    diagonal: npt.ArrayLike,
    gammas: npt.ArrayLike,
    betas: npt.ArrayLike,
    shots: int,
    seed: int | None = None,
    *,
    engine: Engine = "auto",
) -> npt.NDArray[np.int8]:
    """Sample measurement outcomes of the QAOA state.

    Parameters
    ----------
    diagonal, gammas, betas, engine
        As for :func:`qaoa_state`.
    shots : int
        Number of samples (``>= 0``).
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`; equal seeds give equal samples.

    Returns
    -------
    numpy.ndarray of int8, shape (shots, n)
        BINARY bits; column ``i`` is qubit ``i`` (``1`` ↔ SPIN ``+1``), i.e. the sampled basis
        index is ``Σ_i bits[:, i] 2^i``.
    """
    shots = int(shots)
    if shots < 0:
        raise ValueError(f"shots must be >= 0, got {shots}")
    probs = qaoa_probabilities(diagonal, gammas, betas, engine=engine)
    n = probs.size.bit_length() - 1
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(probs)
    total = cdf[-1]
    draws = rng.random(shots) * total
    idx = np.minimum(np.searchsorted(cdf, draws, side="right"), probs.size - 1)
    bits: npt.NDArray[np.int8] = ((idx[:, None] >> np.arange(n, dtype=np.int64)) & 1).astype(
        np.int8
    )
    return bits
