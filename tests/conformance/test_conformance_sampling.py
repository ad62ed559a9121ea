"""Sampling conformance: every solver's samples carry their IR energies, in the IR's variables and
vartype, and none beats the exact ground energy (which the exact solver reaches)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.compiler import solve
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.testing.conformance import check_sample_result, ground_energy, random_hamiltonian
from qevo_ir.testing.strategies import hamiltonians, spin_hamiltonians

#: Options that keep each solver fast; unknown solvers (third-party plugins) run with none.
FAST: dict[str, dict[str, Any]] = {
    "exact": {},
    "sa": {"num_reads": 20, "num_sweeps": 200},
    "steepest": {"num_reads": 20},
    "tabu": {"num_reads": 3, "read_timeout_ms": 5},
    "qaoa": {"shots": 128, "restarts": 1},
    "qaoa-qiskit": {"shots": 128, "restarts": 1},
    "qaoa-cirq": {"shots": 128, "restarts": 1},
}
QAOA = ("qaoa", "qaoa-qiskit", "qaoa-cirq")


def _run(solver: str, ham: Hamiltonian, seed: int, **extra: Any) -> Any:
    options = {**FAST.get(solver, {}), **extra}
    return solve(ham, solver, seed=None if solver == "exact" else seed, **options)


@settings(max_examples=12)
@given(data=st.data(), seed=st.integers(0, 2**31 - 1))
def test_samples_carry_ir_energies_and_respect_the_ground_energy(
    solver: str, data: st.DataObject, seed: int
) -> None:
    ham = data.draw(hamiltonians(max_variables=5 if solver in QAOA else 8))
    result = _run(solver, ham, seed)
    check_sample_result(result, ham, exact=solver == "exact", name=solver)


def test_every_solver_on_one_problem(solver: str) -> None:
    ham = random_hamiltonian(6, "BINARY", seed=11)
    ground, degeneracy = ground_energy(ham)
    result = _run(solver, ham, seed=3)
    detail = check_sample_result(result, ham, exact=solver == "exact", name=solver)
    assert result.best_energy >= ground - 1e-9, detail
    if solver == "exact":
        # The exact kernel enumerates the SPIN form: equal up to float64 rounding.
        assert result.info["ground_energy"] == pytest.approx(result.best_energy, abs=1e-12)
        assert result.info["degeneracy"] == degeneracy


@settings(max_examples=10)
@given(ham=spin_hamiltonians(min_variables=1, max_variables=6), seed=st.integers(0, 2**16))
def test_results_decode_through_a_pipeline_to_the_source(
    solver: str, ham: Hamiltonian, seed: int
) -> None:
    result = _run(solver, ham, seed, pipeline="gauge(seed=4) | fix | scale(factor=3)")
    check_sample_result(result, ham, exact=solver == "exact", name=f"{solver} via pipeline")


def test_ground_energy_reference_is_independent_and_exact() -> None:
    ham = Hamiltonian.from_ising({"a": 1.0, "b": -1.0}, {("a", "b"): 1.0}, 0.5)
    # E(+,-) = 1 + 1 - 1 + 0.5 = 1.5; E(-,+) = -1 - 1 - 1 + 0.5 = -2.5 (unique minimum)
    assert ground_energy(ham) == (-2.5, 1)
    tied = Hamiltonian.from_ising({}, {(0, 1): -1.0})
    assert ground_energy(tied) == (-1.0, 2)
    assert np.isclose(ground_energy(tied.to_binary())[0], -1.0)
