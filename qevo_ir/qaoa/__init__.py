"""Fast dense QAOA simulation on Ising cost diagonals (numpy + scipy; numba optional).

Conventions: SPIN energy ``E(s) = offset + Σ h_i s_i + Σ_k J_k s_{row_k} s_{col_k}`` (k-local:
``offset + Σ_t c_t Π_{i∈t} v_i``, :func:`polynomial_cost_diagonal`); qubit ``i``
is variable ``i``; basis index ``b = Σ_i x_i 2^i`` (little-endian); bit ``x_i = 1`` ↔ ``s_i = +1``.
A depth-``p`` circuit applies ``exp(-i gamma_k H_C)`` then ``exp(-iβ_k Σ_j X_j)`` per layer to
``|+⟩^n``.
"""

from qevo_ir.qaoa.diagonal import (
    MAX_QUBITS,
    check_qubits,
    cost_diagonal,
    ir_cost_diagonal,
    polynomial_cost_diagonal,
    statevector_memory_bytes,
)
from qevo_ir.qaoa.optimize import AngleResult, optimize_angles
from qevo_ir.qaoa.simulate import (
    Engine,
    numba_available,
    qaoa_expectation,
    qaoa_expectation_and_gradient,
    qaoa_probabilities,
    qaoa_state,
    resolve_engine,
    sample_qaoa,
)

__all__ = [
    "MAX_QUBITS",
    "AngleResult",
    "Engine",
    "check_qubits",
    "cost_diagonal",
    "ir_cost_diagonal",
    "numba_available",
    "optimize_angles",
    "polynomial_cost_diagonal",
    "qaoa_expectation",
    "qaoa_expectation_and_gradient",
    "qaoa_probabilities",
    "qaoa_state",
    "resolve_engine",
    "sample_qaoa",
    "statevector_memory_bytes",
]
