"""qiskit-optimization QuadraticProgram with constraints and maximisation, import and export:
qevo's objective and feasibility equal qiskit-optimization's own evaluation."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

import qevo_ir
from qevo_ir.constrained import ConstrainedModel
from qevo_ir.errors import ValidationError
from qevo_ir.importers import from_quadratic_program
from qevo_ir.importers.qiskit_qp import to_quadratic_program

qo = pytest.importorskip("qiskit_optimization")


def _program() -> Any:
    qp = qo.QuadraticProgram("p")
    for name in ("a", "b", "c"):
        qp.binary_var(name)
    qp.integer_var(-1, 2, "z")
    qp.maximize(
        linear={"a": 1.0, "c": -2.0, "z": 0.5},
        quadratic={("a", "b"): 3.0, ("z", "z"): -1.0, ("b", "z"): 2.0},
        constant=1.5,
    )
    qp.linear_constraint({"a": 1, "b": 1, "c": 1}, "==", 1, "pick")
    qp.linear_constraint({"z": 1, "a": 2}, "<=", 2, "cap")
    qp.linear_constraint({"z": 1, "c": -1}, ">=", -1, "low")
    return qp


def test_constrained_program_matches_qiskits_evaluation_and_round_trips() -> None:
    qp = _program()
    model = from_quadratic_program(qp)
    assert isinstance(model, ConstrainedModel)
    assert model.sense == "max"
    assert model.constraint_names == ("pick", "cap", "low")
    xs = np.array(list(itertools.product([0, 1], [0, 1], [0, 1], range(-1, 3))))
    ev = model.evaluate(xs)
    for k, x in enumerate(xs):
        assert ev.objective[k] == pytest.approx(qp.objective.evaluate(x.tolist()), abs=1e-9)
        assert bool(ev.feasible[k]) == bool(qp.is_feasible(x.tolist()))
    back = from_quadratic_program(to_quadratic_program(model))
    again = back.evaluate(xs)
    np.testing.assert_allclose(again.objective, ev.objective, atol=1e-9)
    np.testing.assert_array_equal(again.feasible, ev.feasible)
    result = qevo_ir.solve(model, "exact")
    best = ev.objective[ev.feasible].max()
    assert result.info["best_feasible_objective"] == pytest.approx(best)


def test_export_refuses_spin_and_higher_degree() -> None:
    with pytest.raises(ValidationError, match="spin"):
        to_quadratic_program(ConstrainedModel.build({"s": "spin"}, {("s",): 1.0}))
    cubic = ConstrainedModel.build(dict.fromkeys(range(3), "binary"), {(0, 1, 2): 1.0})
    with pytest.raises(ValidationError, match="higher-degree"):
        to_quadratic_program(cubic)


def test_dimod_cqm_and_binary_polynomial_import() -> None:
    dimod = pytest.importorskip("dimod")
    from qevo_ir.importers import from_binary_polynomial, from_cqm

    cqm = dimod.ConstrainedQuadraticModel()
    x, y = dimod.Binary("x"), dimod.Binary("y")
    z = dimod.Integer("z", lower_bound=-1, upper_bound=3)
    s = dimod.Spin("s")
    cqm.set_objective(x * y + 2 * z * z - z + s * x + 3)
    cqm.add_discrete(["x", "y"], label="pick")
    cqm.add_constraint(z + 2 * x <= 2, label="cap")
    cqm.add_constraint(z - s >= 0, label="low")
    model = from_cqm(cqm)
    assert model.constraint_kinds == ("one-hot", "linear", "linear")
    labels = list(model.labels)
    ranges = [(-1, 1) if v == "s" else range(-1, 4) if v == "z" else (0, 1) for v in labels]
    xs = np.array(list(itertools.product(*ranges)))
    ev = model.evaluate(xs)
    for k, row in enumerate(xs):
        sample = dict(zip(labels, row.tolist(), strict=True))
        assert ev.objective[k] == pytest.approx(cqm.objective.energy(sample), abs=1e-9)
        assert bool(ev.feasible[k]) == bool(cqm.check_feasible(sample))
    poly = dimod.BinaryPolynomial({("a", "b", "c"): 1.5, ("a",): 2.0, (): 1.0}, "SPIN")
    ours = from_binary_polynomial(poly)
    for spins in itertools.product((-1, 1), repeat=3):
        sample = dict(zip(("a", "b", "c"), spins, strict=True))
        assert ours.energy(sample) == pytest.approx(poly.energy(sample))
    real = dimod.ConstrainedQuadraticModel()
    real.set_objective(dimod.Real("r", upper_bound=2.0))
    with pytest.raises(ValidationError, match="REAL"):
        from_cqm(real)
