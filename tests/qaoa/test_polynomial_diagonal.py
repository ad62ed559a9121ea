"""The k-local cost diagonal (:func:`qevo_ir.qaoa.polynomial_cost_diagonal`): equal to the
polynomial's own energies on every basis state, in the package's qubit order and spin map, for
both vartypes; equal to the quadratic :func:`cost_diagonal` for degree <= 2."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from qevo_ir.conventions import basis_index_to_bits
from qevo_ir.polynomial import PolynomialHamiltonian
from qevo_ir.qaoa import (
    MAX_QUBITS,
    cost_diagonal,
    ir_cost_diagonal,
    polynomial_cost_diagonal,
    qaoa_state,
)
from qevo_ir.testing.strategies import polynomials
from qevo_ir.vartypes import SPIN, binary_to_spin


def basis_energies(poly: PolynomialHamiltonian) -> np.ndarray:
    """``poly.energies`` of the assignment of every little-endian basis index (bit 1 = +1 = 1)."""
    n = poly.num_variables
    bits = basis_index_to_bits(np.arange(1 << n), n)
    return poly.energies(binary_to_spin(bits) if poly.vartype is SPIN else bits)


def tolerance(poly: PolynomialHamiltonian) -> float:
    return 1e-12 * (1.0 + poly.l1_norm())


@given(polynomials(max_variables=10, max_degree=5, max_terms=20, extreme=True))
def test_diagonal_is_the_energy_of_every_basis_state(poly: PolynomialHamiltonian) -> None:
    diag = ir_cost_diagonal(poly)
    assert diag.shape == (1 << poly.num_variables,)
    np.testing.assert_allclose(diag, basis_energies(poly), rtol=0, atol=tolerance(poly))


@given(polynomials(max_variables=8, max_degree=4, max_terms=16))
def test_spin_and_binary_forms_give_the_same_diagonal(poly: PolynomialHamiltonian) -> None:
    other = poly.to_binary() if poly.vartype is SPIN else poly.to_spin()
    np.testing.assert_allclose(
        ir_cost_diagonal(other), ir_cost_diagonal(poly), rtol=0, atol=1e-9 * (1 + poly.l1_norm())
    )


@given(polynomials(max_variables=8, max_degree=2, max_terms=20))
def test_degree_two_matches_the_quadratic_diagonal(poly: PolynomialHamiltonian) -> None:
    spin = poly.to_hamiltonian().to_spin()
    want = cost_diagonal(spin.linear, spin.row, spin.col, spin.quad, spin.offset)
    tol = 1e-9 * (1 + poly.l1_norm())
    np.testing.assert_allclose(ir_cost_diagonal(poly), want, rtol=0, atol=tol)


@settings(max_examples=20)
@given(polynomials(min_variables=1, max_variables=6, max_degree=4))
def test_separator_alone_multiplies_each_basis_state_by_its_phase(
    poly: PolynomialHamiltonian,
) -> None:
    """β = 0: the fast path's state is 2^{-n/2} exp(-iγE(b)) for every b (exactly)."""
    gamma = 0.37 / (1.0 + poly.l1_norm())
    diag = ir_cost_diagonal(poly)
    state = qaoa_state(diag, [gamma], [0.0])
    n = poly.num_variables
    want = 2.0 ** (-n / 2) * np.exp(-1j * gamma * basis_energies(poly))
    np.testing.assert_allclose(state, want, rtol=0, atol=1e-12)


def test_little_endian_order_and_spin_map_on_a_hand_example() -> None:
    # E = 0.5 + 2 s0 s1 s2 + s2; bit i of b is variable i, bit 1 = s = +1 (= x = 1).
    poly = PolynomialHamiltonian.from_terms({(0, 1, 2): 2.0, (2,): 1.0}, 0.5, vartype="SPIN")
    diag = ir_cost_diagonal(poly)
    for b in range(8):
        s = [1 if (b >> i) & 1 else -1 for i in range(3)]
        assert diag[b] == pytest.approx(0.5 + 2.0 * s[0] * s[1] * s[2] + s[2])
    binary = PolynomialHamiltonian.from_terms({("a", "b", "c"): 3.0}, vartype="BINARY")
    np.testing.assert_array_equal(ir_cost_diagonal(binary), [0, 0, 0, 0, 0, 0, 0, 3.0])


def test_raw_terms_reduce_repeats_by_vartype_and_are_checked() -> None:
    # terms (0, 0) and (1, 2, 1): s·s = 1 but x·x = x
    ptr, idx, coef = [0, 2, 5], [0, 0, 1, 2, 1], [2.0, 3.0]
    spin = polynomial_cost_diagonal(ptr, idx, coef, 1.0, num_qubits=3, vartype="SPIN")
    np.testing.assert_array_equal(spin, [0, 0, 0, 0, 6, 6, 6, 6])  # 3 + 3 s_2
    binary = polynomial_cost_diagonal(ptr, idx, coef, 1.0, num_qubits=3, vartype="BINARY")
    np.testing.assert_array_equal(binary, [1, 3, 1, 3, 1, 3, 4, 6])  # 1 + 2 x_0 + 3 x_1 x_2
    assert polynomial_cost_diagonal([0], [], [], 2.5, num_qubits=0).tolist() == [2.5]
    with pytest.raises(ValueError, match="term_ptr"):
        polynomial_cost_diagonal([0, 3], [0, 1], [1.0], num_qubits=2)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        polynomial_cost_diagonal([0, 1], [2], [1.0], num_qubits=2)
    with pytest.raises(ValueError, match="vartype"):
        polynomial_cost_diagonal([0, 1], [0], [1.0], num_qubits=1, vartype="QUBIT")
    with pytest.raises(ValueError, match="finite"):
        polynomial_cost_diagonal([0, 1], [0], [np.nan], num_qubits=1)
    with pytest.raises(ValueError, match=str(MAX_QUBITS)):
        polynomial_cost_diagonal([0, 1], [0], [1.0], num_qubits=MAX_QUBITS + 1)


def test_many_terms_on_few_qubits_in_one_pass() -> None:
    rng = np.random.default_rng(3)
    n, t, d = 12, 20_000, 4
    idx = np.concatenate([rng.choice(n, d, replace=False) for _ in range(t)])
    ptr = np.arange(0, d * t + 1, d)
    coef = rng.normal(size=t)
    poly = PolynomialHamiltonian(ptr, idx, coef, num_variables=n, vartype="SPIN")
    np.testing.assert_allclose(
        polynomial_cost_diagonal(ptr, idx, coef, num_qubits=n), basis_energies(poly), atol=1e-9
    )
