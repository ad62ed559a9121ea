"""ConstrainedModel and the penalize pass: with the automatic (certified) weight, the exact solve
of the penalized problem decodes to the brute-force constrained optimum; decoded violations equal
a direct evaluation; bad input is refused with one typed error."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qevo_ir
from qevo_ir.constrained import (
    ConstrainedModel,
    Constraint,
    at_most,
    cardinality,
    one_hot,
)
from qevo_ir.constrained_solve import repair
from qevo_ir.errors import LimitExceeded, PipelineError, ValidationError
from qevo_ir.passes import Pipeline
from qevo_ir.passes.penalize import encoding_weights, penalize


def _domain(model: ConstrainedModel) -> np.ndarray:
    ranges = []
    for k, lo, hi in zip(model.kinds, model.lower, model.upper, strict=True):
        ranges.append((-1, 1) if k == 1 else range(int(lo), int(hi) + 1))
    return np.array(list(itertools.product(*ranges)), dtype=np.int64)


def _brute(model: ConstrainedModel) -> tuple[float, set[tuple[int, ...]]]:
    xs = _domain(model)
    ev = model.evaluate(xs)
    obj = ev.objective[ev.feasible]
    best = obj.min() if model.sense == "min" else obj.max()
    keep = np.abs(obj - best) <= 1e-9 * (1 + abs(best))
    return float(best), {tuple(r) for r in xs[ev.feasible][keep]}


@st.composite
def models(draw: st.DrawFn) -> ConstrainedModel:
    nb = draw(st.integers(1, 10))
    ns = draw(st.integers(0, 2))
    ni = draw(st.integers(0, 2))
    spec: dict[str, object] = {f"b{i}": "binary" for i in range(nb)}
    spec.update({f"s{i}": "spin" for i in range(ns)})
    for i in range(ni):
        lo = draw(st.integers(-2, 1))
        spec[f"z{i}"] = ("integer", lo, lo + draw(st.integers(1, 3)))
    labels = list(spec)
    coef = st.integers(-3, 3).map(float) | st.sampled_from([0.5, -1.5, 0.25])
    terms: dict[tuple[str, ...], float] = {}
    for _ in range(draw(st.integers(1, 8))):
        d = draw(st.integers(1, 3))
        t = tuple(draw(st.lists(st.sampled_from(labels), min_size=d, max_size=d)))
        terms[t] = draw(coef)
    # constraints made feasible by a random witness assignment
    model0 = ConstrainedModel.build(spec, terms)  # type: ignore[arg-type]
    dom = _domain(model0)
    witness = dom[draw(st.integers(0, len(dom) - 1))]
    cons: list[Constraint] = []
    binaries = [f"b{i}" for i in range(nb)]
    for k in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["linear", "linear", "one-hot", "at-most"]))
        if kind == "linear":
            chosen = draw(st.lists(st.sampled_from(labels), min_size=1, max_size=3, unique=True))
            a = {x: float(draw(st.integers(-2, 2).filter(bool))) for x in chosen}
            if draw(st.booleans()):
                a = {x: v / 2 for x, v in a.items()}  # decimal coefficients
            act = sum(v * witness[labels.index(x)] for x, v in a.items())
            sense = draw(st.sampled_from(["==", "<=", ">="]))
            slack = draw(st.integers(0, 2))
            rhs = act if sense == "==" else act + slack if sense == "<=" else act - slack
            cons.append(Constraint(a, sense, rhs, f"lin{k}"))  # type: ignore[arg-type]
        elif kind == "one-hot":
            grp = draw(st.lists(st.sampled_from(binaries), min_size=1, max_size=3, unique=True))
            ones = int(sum(witness[labels.index(x)] for x in grp))
            cons.append(cardinality(grp, ones, f"card{k}") if ones != 1 else one_hot(grp, f"oh{k}"))
        else:
            grp = draw(st.lists(st.sampled_from(binaries), min_size=1, max_size=3, unique=True))
            ones = int(sum(witness[labels.index(x)] for x in grp))
            cons.append(at_most(grp, ones + draw(st.integers(0, 1)), f"am{k}"))
    sense = draw(st.sampled_from(["min", "max"]))
    return ConstrainedModel.build(spec, terms, cons, sense=sense)  # type: ignore[arg-type]


@settings(max_examples=30)
@given(models())
def test_auto_weight_exact_solve_decodes_to_the_constrained_optimum(
    model: ConstrainedModel,
) -> None:
    best, optima = _brute(model)
    compiled = Pipeline.parse("penalize | quadratize").run(model)
    ham = compiled.ir
    if ham.num_variables > 20:  # keep the enumeration quick; covered by smaller draws
        return
    result = qevo_ir.solve(model, "exact")
    info = result.info
    assert info["best_feasible_objective"] == pytest.approx(best, abs=1e-9 * (1 + abs(best)))
    # every ground state is feasible and optimal, and every optimum is a ground state
    assert bool(np.all(info["feasible"]))
    got = {tuple(int(v) for v in r) for r in info["decoded_samples"]}
    assert got == optima
    assert info["feasible_count"] == len(result)
    sample = info["best_feasible_sample"]
    assert tuple(sample[x] for x in model.labels) in optima
    # decoded violations equal a direct evaluation
    direct = model.evaluate(info["decoded_samples"])
    np.testing.assert_array_equal(direct.violations, info["violations"])
    np.testing.assert_array_equal(direct.objective, info["objective"])
    # the certified weight exceeds the objective's range over the box (specs/passes.md)
    rec = compiled.records[0].details
    assert rec["certified"]
    assert rec["weight"] > rec["objective_range_bound"]


@settings(max_examples=20)
@given(models(), st.data())
def test_violations_of_any_decoded_sample_match_a_direct_evaluation(
    model: ConstrainedModel, data: st.DataObject
) -> None:
    out = penalize(model)
    poly = out.ir
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    y = rng.integers(0, 2, size=(64, poly.num_variables)).astype(np.int8)
    values = out.decode(y)
    ev = model.evaluate(values)
    sign = -1.0 if model.sense == "max" else 1.0
    e = poly.energies(y)
    # energy = sign * objective + weight * penalty >= sign * objective, equality iff residual 0
    assert np.all(e >= sign * ev.objective - 1e-7 * (1 + np.abs(e)))
    infeasible = ~ev.feasible
    assert np.all(e[infeasible] > sign * ev.objective[infeasible])


def test_named_kinds_and_evaluation() -> None:
    m = ConstrainedModel.build(
        {"a": "binary", "b": "binary", "c": "binary", "z": ("integer", 0, 5)},
        {("a",): 1.0, ("z", "z"): 1.0, ("b", "c"): -2.0},
        [
            one_hot(["a", "b"], "pick"),
            at_most(["a", "b", "c"], 2),
            Constraint({"z": 1, "c": 1}, ">=", 2),
        ],
        sense="min",
    )
    ev = m.evaluate([[1, 0, 0, 2], [1, 1, 1, 0]])
    assert ev.objective.tolist() == [5.0, -1.0]
    assert ev.feasible.tolist() == [True, False]
    assert ev.violations.tolist() == [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0]]
    assert m.constraint_kinds == ("one-hot", "at-most-k", "linear")
    assert m.constraint_names == ("pick", "c1", "c2")
    assert m.resources()["constraints_by_kind"] == {"linear": 1, "one-hot": 1, "at-most-k": 1}


def test_repair_mends_one_hot_and_cardinality_groups() -> None:
    m = ConstrainedModel.build(
        {f"x{i}": "binary" for i in range(6)},
        {(f"x{i}",): float(i) for i in range(6)},
        [one_hot(["x0", "x1", "x2"]), cardinality(["x3", "x4", "x5"], 2)],
    )
    bad = np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [0, 1, 1, 0, 0, 1]])
    fixed = repair(m, bad)
    ev = m.evaluate(fixed)
    assert ev.feasible.all()
    # the cheapest ones are kept: x0 from the first group, x3 and x4 from the second
    assert fixed[0].tolist() == [1, 0, 0, 1, 1, 0]
    assert fixed[2].tolist() == [0, 1, 0, 1, 0, 1]


def test_solve_with_a_sampler_reports_feasible_counts_and_repair() -> None:
    m = ConstrainedModel.build(
        {f"x{i}": "binary" for i in range(8)},
        {(f"x{i}", f"x{(i + 1) % 8}"): 1.0 for i in range(8)},
        [one_hot([f"x{i}" for i in range(4)]), one_hot([f"x{i}" for i in range(4, 8)])],
        sense="max",
    )
    r = qevo_ir.solve(m, "sa", num_reads=20, seed=3, repair=True)
    assert r.info["repaired"] is True
    assert r.info["feasible_count"] == 20
    best, _ = _brute(m)
    assert r.info["best_feasible_objective"] == best


def test_maximisation_of_a_hamiltonian_is_decoded_in_its_sense() -> None:
    ham = qevo_ir.Hamiltonian.from_qubo({(0, 0): 1.0, (1, 1): 2.0, (0, 1): -4.0})
    m = ConstrainedModel.from_objective(ham, "max")
    r = qevo_ir.solve(m, "exact")
    assert r.info["best_feasible_objective"] == 2.0
    assert r.info["best_feasible_sample"] == {0: 0, 1: 1}
    neg = Pipeline.parse("negate").run(ham)
    assert neg.energy_scale == -1.0
    x = np.array([[0, 1], [1, 1]])
    np.testing.assert_array_equal(neg.ir.energies(x), -ham.energies(x))


def test_encoding_weights_cover_exactly_the_range() -> None:
    for span in range(13):
        for scheme in ("binary", "unary"):
            w = encoding_weights(span, scheme)
            sums = {int(np.dot(w, bits)) for bits in itertools.product((0, 1), repeat=len(w))}
            assert sums == set(range(span + 1))


def test_bad_input_is_refused_with_one_typed_error() -> None:
    with pytest.raises(ValidationError, match="unbounded"):
        ConstrainedModel.build({"z": "integer"})
    with pytest.raises(ValidationError, match="unbounded"):
        ConstrainedModel.build({"z": ("integer", 0, float("inf"))})
    with pytest.raises(ValidationError, match="infeasible"):
        ConstrainedModel.build(
            {"a": "binary", "b": "binary"}, None, [Constraint({"a": 1, "b": 1}, ">=", 3)]
        )
    with pytest.raises(ValidationError, match="infeasible"):  # integer row, fractional rhs
        penalize(ConstrainedModel.build({"a": "binary"}, None, [Constraint({"a": 2}, "==", 1)]))
    with pytest.raises(ValidationError, match="weight=VALUE"):
        penalize(
            ConstrainedModel.build(
                {"a": "binary", "b": "binary"}, None, [Constraint({"a": 1 / 3, "b": 1}, "==", 1)]
            )
        )
    with pytest.raises(LimitExceeded, match="float64"):
        penalize(
            ConstrainedModel.build(
                {"a": "binary", "b": "binary"},
                {("a",): 1e-12, ("b",): 1e12},
                [Constraint({"a": 1, "b": 1}, "==", 1)],
            )
        )
    with pytest.raises(PipelineError):
        Pipeline.parse("penalize(weight=-1)")
    with pytest.raises(ValidationError, match="kind"):
        ConstrainedModel.build({"z": ("integer", 0, 3)}, None, [one_hot(["z"])])
