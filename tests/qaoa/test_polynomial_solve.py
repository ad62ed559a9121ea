"""``qevo_ir.solve(poly, "qaoa" | "qaoa-qiskit" | "qaoa-cirq")`` on a PolynomialHamiltonian runs
the k-local QAOA directly (no quadratize, no auxiliaries): samples in the polynomial's labels and
vartype, energies from ``poly.energies``, the fast path's limits and info fields; a given
``pipeline=`` still lowers as before."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

import qevo_ir
from qevo_ir.errors import LimitExceeded, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.polynomial import PolynomialHamiltonian
from qevo_ir.qaoa import ir_cost_diagonal, qaoa_probabilities
from qevo_ir.vartypes import SPIN


def cubic(vartype: str) -> PolynomialHamiltonian:
    return PolynomialHamiltonian.from_terms(
        {("p", "q", "r"): 1.5, ("q", "r", "s", "t"): -2.0, ("p",): 0.5, ("r", "t"): 1.0},
        0.25,
        vartype=vartype,
    )


def little_endian_index(poly: PolynomialHamiltonian, samples: np.ndarray) -> np.ndarray:
    bits = (samples + 1) // 2 if poly.vartype is SPIN else samples
    return bits.astype(np.int64) @ (1 << np.arange(poly.num_variables, dtype=np.int64))


@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
def test_fast_path_samples_the_polynomial_itself(vartype: str) -> None:
    poly = cubic(vartype)
    result = qevo_ir.solve(poly, "qaoa", layers=1, seed=0, shots=500)
    assert result.variables.labels == poly.labels
    assert result.vartype is poly.vartype
    assert result.samples.shape[1] == poly.num_variables  # no auxiliaries
    lo, hi = poly.vartype.values
    assert np.all((result.samples == lo) | (result.samples == hi))
    np.testing.assert_allclose(result.energies, poly.energies(result.samples))
    best = result.samples[0]
    assert result.best_energy == pytest.approx(float(poly.energies(best[None, :])[0]))
    by_label = dict(zip(poly.labels, best.tolist(), strict=True))
    assert result.best_energy == pytest.approx(poly.energy(by_label))
    assert int(result.num_occurrences.sum()) == 500
    info = result.info
    for key in ("solver", "layers", "gammas", "betas", "expectation", "shots", "backend"):
        assert key in info, key
    assert info["backend"] == "qaoa"
    assert info["lower_bound"] <= result.best_energy
    assert info["gap"] >= 0.0
    assert "pipeline" not in info


def test_fast_path_info_fields_match_the_quadratic_path() -> None:
    poly = PolynomialHamiltonian.from_terms(
        {(0,): 1.0, (0, 1): -1.0, (1, 2): 0.5}, vartype="SPIN", variables=range(3)
    )
    ham = poly.to_hamiltonian()
    assert isinstance(ham, Hamiltonian)
    a = qevo_ir.solve(poly, "qaoa", layers=2, seed=3, shots=100)
    b = qevo_ir.solve(ham, "qaoa", layers=2, seed=3, shots=100)
    assert set(a.info) == set(b.info)
    assert a.info["gammas"] == b.info["gammas"]
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.num_occurrences, b.num_occurrences)


def test_fast_path_frequencies_follow_the_klocal_qaoa_distribution() -> None:
    poly = cubic("BINARY")
    gammas, betas = [0.4, -0.3], [0.6, 0.2]
    result = qevo_ir.solve(poly, "qaoa", gammas=gammas, betas=betas, shots=6000, seed=11)
    probs = qaoa_probabilities(ir_cost_diagonal(poly), np.array(gammas), np.array(betas))
    freq = np.zeros_like(probs)
    freq[little_endian_index(poly, result.samples)] = result.num_occurrences / 6000
    assert 0.5 * np.abs(freq - probs).sum() < 0.04
    assert result.info["expectation"] == pytest.approx(float(probs @ ir_cost_diagonal(poly)))


def test_fast_path_finds_the_ground_state_of_a_small_cubic() -> None:
    poly = cubic("SPIN")
    ground = float(ir_cost_diagonal(poly).min())
    result = qevo_ir.solve(poly, "qaoa", layers=2, seed=0, shots=2000)
    assert result.best_energy == pytest.approx(ground)


def test_fast_path_limits_are_checked_before_building_anything() -> None:
    poly = PolynomialHamiltonian.from_terms(
        {(i, i + 1, i + 2): 1.0 for i in range(28)}, vartype="SPIN"
    )
    with pytest.raises(LimitExceeded, match="26 qubits"):
        qevo_ir.solve(poly, "qaoa", shots=10, seed=0)
    small = cubic("SPIN")
    with pytest.raises(LimitExceeded, match="max_bytes"):
        qevo_ir.solve(small, "qaoa", shots=10, seed=0, max_bytes=100)
    with pytest.raises(LimitExceeded, match="exceed the statevector limit of 4"):
        qevo_ir.solve(small, "qaoa", shots=10, seed=0, max_qubits=4)
    with pytest.raises(ValidationError, match="no option"):
        qevo_ir.solve(small, "qaoa", shots=10, seed=0, reads=3)
    huge = PolynomialHamiltonian.from_terms({(0, 1, 2): 1e301, (1, 2, 3): 1e301}, vartype="SPIN")
    with pytest.raises(LimitExceeded, match="too large"):
        qevo_ir.solve(huge, "qaoa", shots=10, seed=0)


def test_a_given_pipeline_still_lowers_with_quadratize() -> None:
    poly = cubic("SPIN")
    result = qevo_ir.solve(poly, "qaoa", pipeline="quadratize", layers=1, seed=0, shots=200)
    assert result.info["pipeline"] == "quadratize"
    assert result.info["compile_passes"]
    assert result.variables.labels == poly.labels
    np.testing.assert_allclose(result.energies, poly.energies(result.samples))
    # a non-QAOA solver lowers by default, as before
    exact = qevo_ir.solve(poly, "exact")
    assert exact.info["pipeline"] == "quadratize"
    assert exact.best_energy == pytest.approx(float(ir_cost_diagonal(poly).min()))


SDK_SOLVERS = [
    pytest.param(
        name,
        marks=pytest.mark.skipif(
            importlib.util.find_spec(module) is None, reason=f"{module} is not installed"
        ),
    )
    for name, module in (("qaoa-qiskit", "qiskit"), ("qaoa-cirq", "cirq"))
]


@pytest.mark.parametrize("solver", SDK_SOLVERS)
@pytest.mark.parametrize("vartype", ["SPIN", "BINARY"])
def test_circuit_backends_solve_a_polynomial_directly(solver: str, vartype: str) -> None:
    poly = cubic(vartype)
    gammas, betas = [0.3, -0.2], [0.7, 0.4]
    result = qevo_ir.solve(poly, solver, gammas=gammas, betas=betas, shots=4000, seed=7)
    assert result.variables.labels == poly.labels
    assert result.vartype is poly.vartype
    assert result.samples.shape[1] == poly.num_variables
    np.testing.assert_allclose(result.energies, poly.energies(result.samples))
    assert "pipeline" not in result.info
    assert result.info["gammas"] == gammas
    probs = qaoa_probabilities(ir_cost_diagonal(poly), np.array(gammas), np.array(betas))
    freq = np.zeros_like(probs)
    freq[little_endian_index(poly, result.samples)] = result.num_occurrences / 4000
    assert 0.5 * np.abs(freq - probs).sum() < 0.05
    optimised = qevo_ir.solve(poly, solver, layers=1, shots=200, seed=1)
    assert optimised.info["angles"] == "optimized"
    np.testing.assert_allclose(optimised.energies, poly.energies(optimised.samples))
