"""solve_block and compare_methods: the baselines' ordering and each solver route."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.blocks import IntegerWeights, LinearRounding, compare_methods, solve_block
from qevo_ir.errors import LimitExceeded, ValidationError


@st.composite
def small_layers(draw: st.DrawFn) -> LinearRounding:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out, d = draw(st.integers(1, 4)), draw(st.integers(1, 8))
    x = rng.normal(size=(draw(st.integers(2, 20)), d))
    if draw(st.booleans()):
        x = x @ rng.normal(size=(d, d))  # correlated inputs make rounding choices interact
    return LinearRounding(rng.normal(size=(out, d)), x, draw(st.integers(2, 4)))


@settings(max_examples=30, deadline=None)
@given(small_layers())
def test_exact_le_greedy_le_nearest(block: LinearRounding) -> None:
    near = solve_block(block, "nearest")
    greedy = solve_block(block, "greedy")
    exact = solve_block(block, "exact")
    tol = 1e-9 * (1 + near.objective)
    assert greedy.objective <= near.objective + tol
    assert exact.objective <= greedy.objective + tol
    np.testing.assert_allclose(near.weights, block.nearest())
    for sol in (near, greedy, exact):
        assert sol.weights.shape == block.weight.shape
        assert sol.objective == pytest.approx(block.objective(sol.weights))
        assert sol.seconds >= 0


def test_sa_and_qaoa_routes() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 6)) @ rng.normal(size=(6, 6))
    block = LinearRounding(rng.normal(size=(3, 6)), x, 3)
    exact = solve_block(block, "exact")
    sa = solve_block(block, "sa", num_reads=20, seed=5)
    assert sa.objective == pytest.approx(exact.objective, rel=1e-9)  # tiny: SA finds the optimum
    again = solve_block(block, "sa", num_reads=20, seed=5)
    np.testing.assert_array_equal(sa.bits, again.bits)
    qaoa = solve_block(block, "qaoa", p=1, shots=128, restarts=1, maxiter=20, seed=1)
    assert qaoa.objective >= exact.objective - 1e-9
    channels = qaoa.info["qaoa"]["channels"]
    assert len(channels) == 3
    for ch in channels:
        assert 0.0 <= ch["ground_probability"] <= 1.0
        assert ch["best_sampled"] >= ch["ground_energy"] - 1e-9


def test_integer_weights_spin_levels_through_sa() -> None:
    rng = np.random.default_rng(1)
    block = IntegerWeights(rng.normal(size=(2, 3)), rng.normal(size=(12, 3)), 2, "spin_levels")
    sa = solve_block(block, "sa", num_reads=20, seed=3)
    exact = solve_block(block, "exact")
    assert sa.objective == pytest.approx(exact.objective, rel=1e-9)


def test_limits_are_clear() -> None:
    rng = np.random.default_rng(2)
    block = LinearRounding(rng.normal(size=(1, 30)), rng.normal(size=(40, 30)), 4)
    with pytest.raises(LimitExceeded, match="max_variables=24"):
        solve_block(block, "exact")
    with pytest.raises(LimitExceeded, match="qubits"):
        solve_block(block, "qaoa")
    with pytest.raises(ValidationError, match="accepted: num_reads"):
        solve_block(block, "sa", reads=3)
    with pytest.raises(ValidationError, match="unknown method"):
        solve_block(block, "anneal")


def test_compare_methods_table() -> None:
    rng = np.random.default_rng(3)
    block = LinearRounding(rng.normal(size=(2, 5)), rng.normal(size=(20, 5)), 2)
    rows = compare_methods(block, ["sa"], options={"sa": {"seed": 1, "num_reads": 10}})
    methods = [r["method"] for r in rows]
    assert methods == ["nearest", "greedy", "sa", "exact"]  # baselines first, exact when small
    by = {r["method"]: r for r in rows}
    assert by["nearest"]["rel_to_nearest"] == 0.0
    assert by["greedy"]["rel_to_nearest"] <= 1e-12
    assert by["exact"]["gap_to_exact"] == 0.0
    assert all(r["status"] == "ok" for r in rows)
    # per-channel gaps to the proved floor/ceil optimum
    assert by["exact"]["channel_gaps"] == [0.0, 0.0]
    assert by["exact"]["channels_at_optimum"] == 2
    for r in rows:
        assert len(r["channel_gaps"]) == 2
        assert min(r["channel_gaps"]) >= -1e-9  # these methods stay on the floor/ceil choices
        assert sum(r["channel_gaps"]) == pytest.approx(
            r["objective"] - by["exact"]["objective"], abs=1e-9
        )
    big = LinearRounding(rng.normal(size=(1, 30)), rng.normal(size=(40, 30)), 4)
    rows = compare_methods(big, ["qaoa"])
    assert [r["method"] for r in rows] == ["nearest", "greedy", "qaoa"]
    assert rows[2]["status"].startswith("skipped")
    assert rows[2]["objective"] is None
