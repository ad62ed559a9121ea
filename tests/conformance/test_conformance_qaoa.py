"""QAOA conformance: every circuit backend is the IR's QAOA (phases, states, ⟨H_C⟩), they agree with
each other and the numpy fast path, and the SDK's own cost operator gives the same ⟨H_C⟩."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.conventions import reverse_qubit_order
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.plugins import get_backend
from qevo_ir.qaoa import cost_diagonal, qaoa_expectation
from qevo_ir.testing.conformance import run_qaoa_agreement, run_qaoa_conformance
from qevo_ir.testing.strategies import hamiltonians

angles_seed = st.integers(0, 2**31 - 1)
depth = st.integers(1, 3)


@settings(max_examples=25)
@given(ham=hamiltonians(max_variables=5), layers=depth, seed=angles_seed)
def test_circuit_is_the_ir_qaoa(
    qaoa_backend: str, ham: Hamiltonian, layers: int, seed: int
) -> None:
    detail = run_qaoa_conformance(get_backend(qaoa_backend), ham, layers=layers, seed=seed)
    assert "fast path" in detail


@settings(max_examples=25)
@given(ham=hamiltonians(max_variables=5), layers=depth, seed=angles_seed)
def test_backends_and_fast_path_agree(
    qaoa_backends: tuple[str, ...], ham: Hamiltonian, layers: int, seed: int
) -> None:
    backends = [get_backend(name) for name in qaoa_backends]
    run_qaoa_agreement(backends, ham, layers=layers, seed=seed)


def _qiskit_expectation(backend: Any, ham: Hamiltonian, state: npt.NDArray[np.complex128]) -> float:
    from qiskit.quantum_info import Statevector

    return float(np.real(Statevector(state).expectation_value(backend.cost_operator(ham))))


def _cirq_expectation(backend: Any, ham: Hamiltonian, state: npt.NDArray[np.complex128]) -> float:
    import cirq

    n = ham.num_variables
    qubits = cirq.LineQubit.range(n)
    big_endian = reverse_qubit_order(state, n)
    op = backend.cost_operator(ham)
    value = op.expectation_from_state_vector(big_endian, {q: i for i, q in enumerate(qubits)})
    return float(np.real(value))


#: Backend name -> <ψ|H_C|ψ> with the SDK's own cost operator (the state is little-endian).
OPERATOR_EXPECTATION: dict[str, Callable[[Any, Hamiltonian, npt.NDArray[np.complex128]], float]] = {
    "qiskit": _qiskit_expectation,
    "cirq": _cirq_expectation,
}


@settings(max_examples=20)
@given(ham=hamiltonians(min_variables=1, max_variables=5), layers=depth, seed=angles_seed)
def test_operator_expectation_equals_state_weighted_energy_and_fast_path(
    operator_backend: str, ham: Hamiltonian, layers: int, seed: int
) -> None:
    backend: Any = get_backend(operator_backend)
    rng = np.random.default_rng(seed)
    gammas, betas = rng.uniform(-np.pi, np.pi, layers), rng.uniform(-np.pi, np.pi, layers)
    state = np.asarray(backend.statevector(backend.lower(ham, layers=layers), gammas, betas))
    spin = ham.to_spin()
    diag = cost_diagonal(spin.linear, spin.row, spin.col, spin.quad, spin.offset)
    weighted = float(np.abs(state) ** 2 @ diag)
    operator = OPERATOR_EXPECTATION[operator_backend](backend, ham, state)
    fast = qaoa_expectation(diag, gammas, betas)
    scale = 1.0 + float(np.abs(diag).max())
    # Cirq's circuit drops the offset as a global phase; |ψ|² and so ⟨H_C⟩ do not see it.
    assert operator == pytest.approx(weighted, abs=1e-9 * scale)
    assert weighted == pytest.approx(fast, abs=1e-9 * scale)
