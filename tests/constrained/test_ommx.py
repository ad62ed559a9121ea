"""OMMX exchange: round trips keep the model, and OMMX's own ``Instance.evaluate`` agrees with
qevo's objective and feasibility (to 1e-9) on every decoded sample; bad files and unsupported
decision-variable kinds are refused with one typed error."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qevo_ir
from qevo_ir.constrained import ConstrainedModel, Constraint, at_most, one_hot
from qevo_ir.errors import FormatError, LimitExceeded, ValidationError
from qevo_ir.importers import from_ommx, read_ommx, to_ommx, to_ommx_sample_set
from qevo_ir.importers.ommx import to_ommx_solution

ommx = pytest.importorskip("ommx.v1")


@st.composite
def int_models(draw: st.DrawFn) -> ConstrainedModel:
    nb = draw(st.integers(1, 5))
    ni = draw(st.integers(0, 2))
    spec: dict[int, object] = dict.fromkeys(range(nb), "binary")
    lo = 0
    for i in range(nb, nb + ni):
        lo = draw(st.integers(-3, 1))
        spec[i] = ("integer", lo, lo + draw(st.integers(1, 3)))
    labels = list(spec)
    coef = st.integers(-4, 4).map(float) | st.sampled_from([0.5, -0.25, 1.75])
    terms = {
        tuple(draw(st.lists(st.sampled_from(labels), min_size=1, max_size=3))): draw(coef)
        for _ in range(draw(st.integers(0, 6)))
    }
    cons = [one_hot(list(range(nb)), "pick")]
    if ni:
        sense = draw(st.sampled_from(["<=", ">=", "=="]))
        cons.append(Constraint({nb + ni - 1: 1.0, 0: 2.0}, sense, float(lo + 1)))  # type: ignore[arg-type]
    if nb >= 3:
        cons.append(at_most([0, 1, 2], 1, "few"))
    return ConstrainedModel.build(
        spec,  # type: ignore[arg-type]
        terms,
        cons,
        offset=draw(st.integers(-2, 2)),
        sense=draw(st.sampled_from(["min", "max"])),
    )


def _domain(model: ConstrainedModel) -> np.ndarray:
    ranges = [range(int(lo), int(hi) + 1) for lo, hi in zip(model.lower, model.upper, strict=True)]
    return np.array(list(itertools.product(*ranges)), dtype=np.int64)


@settings(max_examples=20)
@given(int_models())
def test_round_trip_and_ommx_evaluate_agree(model: ConstrainedModel) -> None:
    inst = to_ommx(model)
    back = from_ommx(inst.to_bytes())
    assert back.sense == model.sense
    xs = _domain(model)[:64]
    ours = model.evaluate(xs)
    again = back.evaluate(xs)
    np.testing.assert_allclose(again.objective, ours.objective, atol=1e-9)
    np.testing.assert_array_equal(again.feasible, ours.feasible)
    for k, x in enumerate(xs):
        sol = inst.evaluate({i: float(v) for i, v in enumerate(x)})
        assert sol.objective == pytest.approx(ours.objective[k], abs=1e-9)
        assert bool(sol.feasible) == bool(ours.feasible[k])


def test_decoded_solve_results_agree_with_ommx_and_export_as_a_sample_set() -> None:
    x = [ommx.DecisionVariable.binary(i) for i in range(4)]
    z = ommx.DecisionVariable.integer(4, lower=0, upper=3)
    inst = ommx.Instance.from_components(
        decision_variables=[*x, z],
        objective=x[0] * x[1] * z + 2 * x[2] - x[3] * z + 1,
        constraints=[(x[0] + x[1] + x[2] + x[3] == 1).set_id(0), (z + 2 * x[0] <= 3).set_id(1)],
        sense=ommx.Instance.MAXIMIZE,
    )
    model = from_ommx(inst)
    assert model.constraint_kinds == ("one-hot", "linear")
    result = qevo_ir.solve(model, "exact")
    decoded = result.info["decoded_samples"]
    for k, row in enumerate(decoded):
        sol = inst.evaluate({i: float(v) for i, v in enumerate(row)})
        assert sol.objective == pytest.approx(result.info["objective"][k], abs=1e-9)
        assert bool(sol.feasible) == bool(result.info["feasible"][k])
    best = max(
        inst.evaluate({i: float(v) for i, v in enumerate(r)}).objective
        for r in _domain(model)
        if inst.evaluate({i: float(v) for i, v in enumerate(r)}).feasible
    )
    assert result.info["best_feasible_objective"] == pytest.approx(best)
    samples = to_ommx_sample_set(model, decoded, inst)
    assert samples.best_feasible.objective == pytest.approx(best)
    solution = to_ommx_solution(model, decoded[0], inst)
    assert solution.objective == pytest.approx(result.info["objective"][0])


def test_bad_files_and_kinds_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ommx"
    bad.write_bytes(b"\x07not protobuf")
    with pytest.raises(FormatError, match="not an OMMX Instance"):
        read_ommx(bad)
    good = tmp_path / "good.ommx"
    inst = ommx.Instance.from_components(
        decision_variables=[ommx.DecisionVariable.binary(0)],
        objective=ommx.DecisionVariable.binary(0) * 1.0,
        constraints=[],
        sense=ommx.Instance.MINIMIZE,
    )
    good.write_bytes(inst.to_bytes())
    assert read_ommx(good).num_variables == 1
    with pytest.raises(LimitExceeded):
        read_ommx(good, max_bytes=3)
    cont = ommx.Instance.from_components(
        decision_variables=[ommx.DecisionVariable.continuous(0, lower=0, upper=1)],
        objective=ommx.DecisionVariable.continuous(0, lower=0, upper=1) * 1.0,
        constraints=[],
        sense=ommx.Instance.MINIMIZE,
    )
    with pytest.raises(ValidationError, match="kind"):
        from_ommx(cont)
    unbounded = ommx.Instance.from_components(
        decision_variables=[ommx.DecisionVariable.integer(0)],
        objective=ommx.DecisionVariable.integer(0) * 1.0,
        constraints=[],
        sense=ommx.Instance.MINIMIZE,
    )
    with pytest.raises(ValidationError, match="unbounded"):
        from_ommx(unbounded)
    spin = ConstrainedModel.build({"s": "spin"}, {("s",): 1.0})
    with pytest.raises(ValidationError, match="spin"):
        to_ommx(spin)


QPLIB = """QBL_TEST
QBL
minimize
3
1
2
1 1 2.0
2 1 -1.0
0.0
1
1 1.0
0.5
3
1 1 1.0
1 2 1.0
1 3 1.0
1.0E30
1.0
0
1.0
0
0
0
0
0
0
0
0
0
"""


def test_an_empty_file_is_one_clean_line_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qevo_ir.cli.main import main

    empty = tmp_path / "empty.ommx"
    empty.write_bytes(b"")
    with pytest.raises(FormatError, match=r"the file is empty\) \(Field objective"):
        read_ommx(empty)
    assert main(["inspect", str(empty)]) == 2
    err = capsys.readouterr().err
    # OMMX's own log line ("Unspecified ommx.v1.instance.Sense found ...") is not printed, and the
    # Rust stack backtrace is not quoted
    assert err.count("\n") == 1, err
    assert "Sense" not in err, err
    assert "backtrace" not in err, err


def test_a_quadratization_beyond_float64_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from qevo_ir.cli.main import main

    big = {(1, 4, 5): -3, (2, 4, 0, 1, 6): 3, (5, 0, 7): 2, (0, 2, 4): -2, (4, 2, 0, 3, 5): -3}
    terms = {tuple(f"x{i}" for i in t): c * 3e14 for t, c in big.items()}
    terms.update({("x0",): -1.0, ("x7",): 1.0})
    model = ConstrainedModel.build({f"x{i}": "binary" for i in range(8)}, terms, [])
    path = tmp_path / "big.ommx"
    path.write_bytes(to_ommx(model).to_bytes())
    assert main(["solve", str(path), "-b", "exact"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "float64 resolves 52" in err, err


def test_qplib_through_ommx(tmp_path: Path) -> None:
    from qevo_ir.importers.ommx import read_qplib

    path = tmp_path / "t.qplib"
    path.write_text(QPLIB)
    model = read_qplib(path)
    inst = ommx.Instance.load_qplib(str(path))
    xs = _domain(model)
    ev = model.evaluate(xs)
    for k, x in enumerate(xs):
        sol = inst.evaluate({i: float(v) for i, v in enumerate(x)})
        assert sol.objective == pytest.approx(ev.objective[k], abs=1e-9)
        assert bool(sol.feasible) == bool(ev.feasible[k])
    assert ev.feasible.sum() == 3  # exactly one of three
    (tmp_path / "bad.qplib").write_text("QBL\n")
    with pytest.raises(FormatError, match="QPLIB"):
        read_qplib(tmp_path / "bad.qplib")
