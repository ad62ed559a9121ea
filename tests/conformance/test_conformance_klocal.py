"""k-local QAOA conformance: for a PolynomialHamiltonian (SPIN or BINARY, degree <= 4, n <= 6)
every circuit backend's phase separator multiplies each basis state |b⟩ by exp(-iγE(b)) up to
one global phase, the backends and the numpy fast path give the same QAOA probabilities at
equal angles, the cost operators are diagonal in E, and the files read back to the same state.
``tests/qaoa/test_polynomial_solve.py`` solves polynomials with each of them."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.conventions import basis_index_to_bits, reverse_qubit_order
from qevo_ir.plugins import get_backend
from qevo_ir.polynomial import PolynomialHamiltonian
from qevo_ir.qaoa import ir_cost_diagonal, qaoa_probabilities, qaoa_state
from qevo_ir.testing.conformance import run_qaoa_agreement, run_qaoa_conformance
from qevo_ir.testing.strategies import polynomials
from qevo_ir.vartypes import SPIN, binary_to_spin
from qevo_ir.verify import equal_up_to_global_phase

klocal = polynomials(min_variables=1, max_variables=6, max_degree=4)
angles_seed = st.integers(0, 2**31 - 1)


def basis_energies(poly: PolynomialHamiltonian) -> npt.NDArray[np.float64]:
    """``poly.energies`` of every little-endian basis index (bit 1 = SPIN +1 = BINARY 1)."""
    n = poly.num_variables
    bits = basis_index_to_bits(np.arange(1 << n), n)
    return poly.energies(binary_to_spin(bits) if poly.vartype is SPIN else bits)


def small_gamma(poly: PolynomialHamiltonian, seed: int) -> float:
    """A γ with |γ·E| of order 1, so the phases keep their float64 precision."""
    rng = np.random.default_rng(seed)
    return float(rng.uniform(-np.pi, np.pi)) / (1.0 + poly.l1_norm())


def separator_only_state(backend: Any, poly: PolynomialHamiltonian, gamma: float) -> Any:
    """One layer with β = 0: H^n, the phase separator, RX(0) = identity."""
    native = backend.lower(poly, layers=1)
    return np.asarray(backend.statevector(native, [gamma], [0.0]), dtype=np.complex128)


@settings(max_examples=25)
@given(poly=klocal, seed=angles_seed)
def test_fast_path_separator_phases_are_minus_gamma_energy(
    poly: PolynomialHamiltonian, seed: int
) -> None:
    gamma = small_gamma(poly, seed)
    energies = basis_energies(poly)
    diag = ir_cost_diagonal(poly)
    np.testing.assert_allclose(diag, energies, rtol=0, atol=1e-12 * (1 + poly.l1_norm()))
    state = qaoa_state(diag, [gamma], [0.0])
    want = 2.0 ** (-poly.num_variables / 2) * np.exp(-1j * gamma * energies)
    np.testing.assert_allclose(state, want, rtol=0, atol=1e-10)


@settings(max_examples=25)
@given(poly=klocal, seed=angles_seed)
def test_circuit_separator_phases_are_minus_gamma_energy(
    qaoa_backend: str, poly: PolynomialHamiltonian, seed: int
) -> None:
    """Every |b⟩ is multiplied by exp(-iγE(b)) up to one global phase (the Cirq circuit drops the
    offset's phase; the Qiskit one keeps it, so there the phase is exact)."""
    backend = get_backend(qaoa_backend)
    gamma = small_gamma(poly, seed)
    state = separator_only_state(backend, poly, gamma)
    n = poly.num_variables
    want = 2.0 ** (-n / 2) * np.exp(-1j * gamma * basis_energies(poly))
    np.testing.assert_allclose(np.abs(state), 2.0 ** (-n / 2), atol=1e-10)
    ratio = state / want
    np.testing.assert_allclose(ratio, ratio[0], atol=1e-9)
    if qaoa_backend == "qiskit":
        np.testing.assert_allclose(state, want, atol=1e-10)


@settings(max_examples=20)
@given(poly=klocal, layers=st.integers(1, 2), seed=angles_seed)
def test_backends_and_fast_path_give_the_same_probabilities(
    qaoa_backends: tuple[str, ...], poly: PolynomialHamiltonian, layers: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    gammas = rng.uniform(-np.pi, np.pi, layers) / (1.0 + poly.l1_norm())
    betas = rng.uniform(-np.pi, np.pi, layers)
    diag = ir_cost_diagonal(poly)
    want = qaoa_probabilities(diag, gammas, betas)
    reference = qaoa_state(diag, gammas, betas)
    for name in qaoa_backends:
        backend = get_backend(name)
        state = backend.statevector(backend.lower(poly, layers=layers), gammas, betas)
        np.testing.assert_allclose(np.abs(state) ** 2, want, rtol=0, atol=1e-9, err_msg=name)
        assert equal_up_to_global_phase(state, reference, atol=1e-9), name
    run_qaoa_agreement([get_backend(n) for n in qaoa_backends], poly, layers=layers, seed=seed)


@settings(max_examples=15)
@given(poly=polynomials(min_variables=1, max_variables=5, max_degree=4), seed=angles_seed)
def test_conformance_kit_accepts_polynomials(
    qaoa_backend: str, poly: PolynomialHamiltonian, seed: int
) -> None:
    detail = run_qaoa_conformance(get_backend(qaoa_backend), poly.scaled(0.1), layers=2, seed=seed)
    assert "fast path" in detail


def _qiskit_diagonal(op: Any, n: int) -> npt.NDArray[np.float64]:
    return np.real(np.diag(op.to_matrix()))


def _cirq_diagonal(op: Any, n: int) -> npt.NDArray[np.float64]:
    import cirq

    big_endian = np.real(np.diag(op.matrix(cirq.LineQubit.range(n))))
    return np.asarray(reverse_qubit_order(big_endian, n), dtype=np.float64)


@settings(max_examples=15)
@given(poly=klocal)
def test_cost_operator_diagonal_is_the_energy(
    operator_backend: str, poly: PolynomialHamiltonian
) -> None:
    backend: Any = get_backend(operator_backend)
    op = backend.cost_operator(poly)
    n = poly.num_variables
    read = _qiskit_diagonal if operator_backend == "qiskit" else _cirq_diagonal
    np.testing.assert_allclose(read(op, n), basis_energies(poly), atol=1e-9 * (1 + poly.l1_norm()))


@pytest.mark.backend_requires("artifacts")
@settings(max_examples=8)
@given(poly=klocal, seed=angles_seed)
def test_klocal_circuit_files_read_back_to_the_same_state(
    qaoa_backend: str,
    poly: PolynomialHamiltonian,
    seed: int,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    backend: Any = get_backend(qaoa_backend)
    rng = np.random.default_rng(seed)
    gammas = rng.uniform(-np.pi, np.pi, 2) / (1.0 + poly.l1_norm())
    betas = rng.uniform(-np.pi, np.pi, 2)
    native = backend.lower(poly, layers=2)
    want = backend.statevector(native, gammas, betas)
    folder = tmp_path_factory.mktemp("klocal")
    for path in backend.write(native, folder):
        back = backend.read_artifact(path)
        state = backend.statevector(back, gammas, betas)
        assert equal_up_to_global_phase(state, want, atol=1e-9), path.name


def test_degree_two_polynomial_lowers_to_the_quadratic_circuit(qaoa_backend: str) -> None:
    poly = PolynomialHamiltonian.from_terms(
        {("a",): 0.5, ("a", "b"): -1.0, ("b", "c"): 2.0}, 0.25, vartype="BINARY"
    )
    backend: Any = get_backend(qaoa_backend)
    angles = {"gammas": [0.3, -0.1], "betas": [0.2, 0.5]}
    assert backend.lower(poly, **angles) == backend.lower(poly.to_hamiltonian(), **angles)
