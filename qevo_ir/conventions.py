"""Sign, spin-map and qubit-order conventions; every lowering calls these, none re-derives them.

- Energy form (the IR's, dimod's): ``E(s) = offset + Σ h_i s_i + Σ_{i<j} J_ij s_i s_j``, minimised.
- Physics form (papers): ``H = -Σ J_ij s_i s_j - Σ h_i s_i``; converted once, on entry.
- Spin map: ``s = 2x - 1``; a measured bit 1 is BINARY 1 is SPIN +1 (see :mod:`qevo_ir.vartypes`).
- Qubit order: qubit ``i`` is variable ``i``; a basis index ``b = Σ_i x_i 2^i`` (Qiskit's
  little-endian order). Cirq orders ``LineQubit(0)`` as the most significant bit, so its index
  is the bit-reversal of ours.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import ValidationError

__all__ = [
    "Convention",
    "basis_index_to_bits",
    "bits_to_basis_index",
    "check_convention",
    "reverse_qubit_order",
    "to_energy_sign",
]

Convention = Literal["energy", "physics"]


def check_convention(convention: str) -> Convention:
    if convention == "energy":
        return "energy"
    if convention == "physics":
        return "physics"
    raise ValidationError(
        f"unknown convention {convention!r}; expected 'energy' (E = Σh s + ΣJ s s, dimod's) "
        "or 'physics' (H = -ΣJ s s - Σh s)"
    )


def to_energy_sign(convention: Convention) -> float:
    """The factor that turns coefficients given in ``convention`` into the energy form."""
    return -1.0 if convention == "physics" else 1.0


def basis_index_to_bits(indices: npt.ArrayLike, n: int) -> npt.NDArray[np.int8]:
    """Bits ``(m, n)`` of little-endian basis indices: column ``i`` is qubit/variable ``i``."""
    idx = np.asarray(indices, dtype=np.uint64).reshape(-1)
    shifts = np.arange(n, dtype=np.uint64)
    return ((idx[:, None] >> shifts[None, :]) & np.uint64(1)).astype(np.int8)


def bits_to_basis_index(bits: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Little-endian basis index of each row of ``bits`` (column ``i`` is qubit ``i``)."""
    x = np.atleast_2d(np.asarray(bits, dtype=np.int64))
    n = x.shape[1]
    if n > 62:
        raise ValidationError(f"basis indices need n <= 62 qubits, got {n}")
    weights = np.left_shift(np.int64(1), np.arange(n, dtype=np.int64))
    return x @ weights


def reverse_qubit_order(vector: npt.NDArray[np.generic], n: int) -> npt.NDArray[np.generic]:
    """Permute a length ``2**n`` vector between little-endian (Qiskit) and big-endian (Cirq)."""
    if vector.shape != (1 << n,):
        raise ValidationError(f"expected a vector of length 2**{n}, got shape {vector.shape}")
    if n == 0:
        return vector.copy()
    return vector.reshape((2,) * n).transpose(tuple(range(n - 1, -1, -1))).reshape(-1)
