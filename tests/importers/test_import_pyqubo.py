"""from_pyqubo: the (qubo, offset) form needs no SDK; compiled models need pyqubo."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.importers import from_pyqubo
from qevo_ir.testing import all_assignments, hamiltonians
from qevo_ir.vartypes import BINARY


def _to_qubo(ham: Hamiltonian) -> tuple[dict[tuple[object, object], float], float]:
    """The way back: a QUBO dict in PyQUBO's ``to_qubo()`` form."""
    lin, quad, offset = ham.to_binary().to_dicts()
    qubo: dict[tuple[object, object], float] = {(u, u): b for u, b in lin.items()}
    qubo.update(quad)
    return qubo, offset


@settings(max_examples=40, deadline=None)
@given(hamiltonians(max_variables=7))
def test_qubo_tuple_round_trip(ham: Hamiltonian) -> None:
    back = from_pyqubo(_to_qubo(ham))
    assert back.vartype is BINARY
    assert back.labels == ham.labels
    xs = all_assignments(ham.num_variables, BINARY)
    binary = ham.to_binary()
    scale = 1.0 + np.abs(binary.linear).sum() + np.abs(binary.quad).sum() + abs(binary.offset)
    np.testing.assert_allclose(
        back.energies(xs), binary.energies(xs), rtol=1e-12, atol=1e-9 * scale
    )


def test_reversed_pairs_add_and_bad_input_is_refused() -> None:
    ham = from_pyqubo(({("a", "b"): 1.0, ("b", "a"): 2.0, ("a", "a"): -1.0}, 0.5))
    assert ham.to_dicts() == ({"a": -1.0, "b": 0.0}, {("a", "b"): 3.0}, 0.5)
    with pytest.raises(ValidationError, match="pair"):
        from_pyqubo(({("a",): 1.0}, 0.0))
    with pytest.raises(ValidationError, match="finite"):
        from_pyqubo(({("a", "a"): float("nan")}, 0.0))
    with pytest.raises(ValidationError, match="compiled PyQUBO model"):
        from_pyqubo(object())


def test_compiled_model_energies() -> None:
    pyqubo = pytest.importorskip("pyqubo")
    x = pyqubo.Array.create("x", shape=3, vartype="BINARY")
    s = pyqubo.Spin("s")
    expr = (x[0] + 2 * x[1] - 1) ** 2 + 3 * s * x[2] + 0 * x[2]
    model = expr.compile()
    ham = from_pyqubo(model)
    assert set(ham.labels) == {"x[0]", "x[1]", "x[2]", "s"}
    for bits in all_assignments(4, BINARY):
        sample = dict(zip(ham.labels, bits.tolist(), strict=True))
        assert ham.energy(bits) == pytest.approx(model.energy(sample, vartype="BINARY"))
    with pytest.raises(ValidationError, match="uncompiled"):
        from_pyqubo(expr)


def _random_constrained_pyqubo(seed: int) -> tuple[object, dict[str, float]]:
    """A PyQUBO model with one-hot, cardinality, weighted-equality and NAND constraints whose
    own penalty weight A is far too small (PyQUBO's users' most common complaint)."""
    pyqubo = pytest.importorskip("pyqubo")
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 9))
    x = [pyqubo.Binary(f"x{i}") for i in range(n)]
    h = sum(float(rng.normal()) * x[i] for i in range(n))
    h += sum(float(rng.normal()) * x[i] * x[i + 1] for i in range(n - 1))
    A = pyqubo.Placeholder("A")
    group = [int(v) for v in rng.choice(n, size=3, replace=False)]
    h += sum(-2.0 * x[i] for i in group)  # a reward for breaking the one-hot group
    h += A * pyqubo.Constraint((sum(x[i] for i in group) - 1) ** 2, label="one_hot")
    pair = [int(v) for v in rng.choice(n, size=2, replace=False)]
    h += A * pyqubo.Constraint(x[pair[0]] * x[pair[1]], label="nand")
    if seed % 2:
        h += A * pyqubo.Constraint((2 * x[0] + x[n - 1] + x[1] - 2) ** 2, label="weighted")
    return h.compile(), {"A": 0.05}


@pytest.mark.parametrize("seed", range(8))
def test_pyqubo_constraints_are_imported_and_solved_exactly(seed: int) -> None:
    import itertools

    import qevo_ir

    model, feed = _random_constrained_pyqubo(seed)
    cm = from_pyqubo(model, feed_dict=feed, constraints=True)
    assert {"one_hot", "nand"} <= set(cm.constraint_names)
    labels = list(cm.labels)
    # brute force with PyQUBO's own verdicts
    best = None
    rows, verdicts = [], []
    for bits in itertools.product((0, 1), repeat=len(labels)):
        sample = dict(zip(labels, bits, strict=True))
        decoded = model.decode_sample(sample, vartype="BINARY", feed_dict=feed)
        ok = all(holds for holds, _ in decoded.constraints().values())
        rows.append(bits)
        verdicts.append(ok)
        if ok and (best is None or decoded.energy < best):
            best = decoded.energy
    ev = cm.evaluate(np.array(rows))
    np.testing.assert_array_equal(ev.feasible, verdicts)
    result = qevo_ir.solve(cm, "exact")
    assert result.info["best_feasible_objective"] == pytest.approx(best, abs=1e-9)
    # the model's own weight (A = 0.05) is too small: the plain QUBO's ground state breaks a
    # constraint, which the certified penalty of the constrained import does not
    plain = qevo_ir.solve(from_pyqubo(model, feed_dict=feed), "exact")
    assert plain.best_energy < best - 1e-9
    assert not cm.evaluate(np.atleast_2d(plain.samples[0])).feasible[0]


def test_pyqubo_constraints_that_are_not_linear_are_refused() -> None:
    pyqubo = pytest.importorskip("pyqubo")
    x = [pyqubo.Binary(f"x{i}") for i in range(4)]
    cases = {
        "not quadratic": pyqubo.Constraint(x[0] * x[1] * x[2], label="cubic"),
        "custom condition": pyqubo.Constraint(
            (x[0] + x[1] - 1) ** 2, label="custom", condition=lambda v: v <= 1
        ),
        "neither a squared linear equality": pyqubo.Constraint(x[0] - x[1], label="neg"),
    }
    for says, constraint in cases.items():
        model = (x[3] + constraint).compile()
        with pytest.raises(ValidationError, match=says.split()[0]):
            from_pyqubo(model, constraints=True)
    with pytest.raises(ValidationError, match="carries no constraints"):
        from_pyqubo(({("a", "a"): 1.0}, 0.0), constraints=True)
    # no constraint at all: an unconstrained model; spins arrive as binaries
    s, t = pyqubo.Spin("s"), pyqubo.Spin("t")
    plain = from_pyqubo((s * t).compile(), constraints=True)
    assert plain.num_constraints == 0
