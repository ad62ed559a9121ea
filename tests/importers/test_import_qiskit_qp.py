"""from_quadratic_program: unconstrained binary programs only; energies equal the objective."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings

from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.importers import from_quadratic_program
from qevo_ir.testing import all_assignments, hamiltonians
from qevo_ir.vartypes import BINARY

qo = pytest.importorskip("qiskit_optimization")


def _to_program(ham: Hamiltonian, maximize: bool = False) -> Any:
    """The way back: a QuadraticProgram with the same objective (negated to maximise)."""
    b = ham.to_binary()
    qp = qo.QuadraticProgram("roundtrip")
    names = [f"v{i}" for i in range(b.num_variables)]
    for name in names:
        qp.binary_var(name)
    sign = -1.0 if maximize else 1.0
    quadratic = {
        (names[int(i)], names[int(j)]): sign * float(v)
        for i, j, v in zip(b.row, b.col, b.quad, strict=True)
    }
    linear = (sign * b.linear).tolist()
    if maximize:
        qp.maximize(linear=linear, quadratic=quadratic, constant=sign * b.offset)
    else:
        qp.minimize(linear=linear, quadratic=quadratic, constant=b.offset)
    return qp


@settings(max_examples=25, deadline=None)
@given(hamiltonians(max_variables=6, labelled=False))
def test_round_trip_energies(ham: Hamiltonian) -> None:
    binary = ham.to_binary()
    scale = 1.0 + np.abs(binary.linear).sum() + np.abs(binary.quad).sum() + abs(binary.offset)
    xs = all_assignments(ham.num_variables, BINARY)
    for maximize in (False, True):
        qp = _to_program(ham, maximize)
        back = from_quadratic_program(qp)
        assert back.labels == tuple(f"v{i}" for i in range(ham.num_variables))
        np.testing.assert_allclose(
            back.energies(xs), binary.energies(xs), rtol=1e-12, atol=1e-9 * scale
        )
        if ham.num_variables:
            sign = -1.0 if maximize else 1.0
            direct = np.array([qp.objective.evaluate(x.tolist()) for x in xs[:8]])
            np.testing.assert_allclose(
                sign * direct, back.energies(xs[:8]), rtol=1e-12, atol=1e-9 * scale
            )


def test_diagonal_and_both_triangles() -> None:
    qp = qo.QuadraticProgram()
    qp.binary_var("x")
    qp.binary_var("y")
    qp.minimize(linear=[1, 2], quadratic={("x", "y"): 3, ("y", "x"): 1, ("x", "x"): 2}, constant=1)
    ham = from_quadratic_program(qp)
    assert ham.to_dicts() == ({"x": 3.0, "y": 2.0}, {("x", "y"): 4.0}, 1.0)


def test_quadratic_constraints_and_continuous_variables_are_refused() -> None:
    # linear constraints and integers import as a ConstrainedModel (tests/constrained)
    qp = qo.QuadraticProgram("c")
    qp.binary_var("x")
    qp.minimize(linear=[1])
    qp.quadratic_constraint(quadratic={("x", "x"): 1}, sense="<=", rhs=1)
    with pytest.raises(ValidationError, match="quadratic constraints"):
        from_quadratic_program(qp)
    qc = qo.QuadraticProgram("r")
    qc.continuous_var(0, 3, "r")
    qc.minimize(linear=[1])
    with pytest.raises(ValidationError, match="continuous"):
        from_quadratic_program(qc)
    with pytest.raises(ValidationError, match="QuadraticProgram"):
        from_quadratic_program("not a program")
