"""Warm starts: every searching method keeps, per channel, the better of its answer and init."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.blocks import LinearRounding, PruneMask, solve_block
from qevo_ir.blocks.methods import REGISTRY
from qevo_ir.errors import ValidationError


@st.composite
def layers(draw: st.DrawFn) -> LinearRounding:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    out, d = draw(st.integers(1, 5)), draw(st.integers(2, 10))
    x = rng.normal(size=(draw(st.integers(2, 30)), d)) @ rng.normal(size=(d, d))
    return LinearRounding(rng.normal(size=(out, d)), x, draw(st.integers(2, 3)))


@settings(max_examples=20, deadline=None)
@given(layers(), st.integers(0, 2**16))
def test_sa_with_gptq_init_is_never_worse_than_gptq(block: LinearRounding, seed: int) -> None:
    gptq = solve_block(block, "gptq")
    sa = solve_block(block, "sa", init="gptq", seed=seed, num_reads=4, num_sweeps=50)
    mine = block.channel_objectives(sa.weights)
    theirs = block.channel_objectives(gptq.weights)
    assert np.all(mine <= theirs)  # exactly: a kept channel is GPTQ's own weights
    assert set(sa.winner.tolist()) <= {"sa", "gptq"}
    kept = sa.winner == "gptq"
    w2, g2 = sa.weights.reshape(len(kept), -1), gptq.weights.reshape(len(kept), -1)
    np.testing.assert_array_equal(w2[kept], g2[kept])
    assert sa.info["init_wins"] == int(kept.sum())
    np.testing.assert_array_equal(sa.info["winner"], sa.winner)
    assert sa.objective == pytest.approx(float(mine.sum()))


def test_every_searching_method_takes_init() -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(40, 6)) @ rng.normal(size=(6, 6))
    block = LinearRounding(rng.normal(size=(3, 6)), x, 3)
    gptq = solve_block(block, "gptq")
    options = {
        "sa": {"num_reads": 4, "seed": 1},
        "tabu": {"seed": 1},
        "qaoa": {"p": 1, "shots": 32, "restarts": 1, "maxiter": 10, "seed": 1},
        "adaround": {"iters": 50},
        "gptq-block": {"block_size": 3},
    }
    searching = [name for name, m in REGISTRY.items() if m.searches]
    assert set(searching) == {"greedy", "sa", "tabu", "exact", "qaoa", "adaround", "gptq-block"}
    for name in searching:
        for init in ("gptq", gptq):  # by name, or an earlier solution
            sol = solve_block(block, name, init=init, **options.get(name, {}))
            assert np.all(sol.info["channel_objectives"] <= gptq.info["channel_objectives"])
            assert sol.info["init"] == "gptq"
    # greedy descends from the init's bits: never above the init
    bits = block.baseline_bits() ^ 1
    bits &= block.free.astype(np.int8)
    start = block.bit_objectives(bits)
    sol = solve_block(block, "greedy", init=bits)
    assert np.all(sol.info["channel_objectives"] <= start + 1e-12)
    assert set(sol.winner.tolist()) <= {"greedy", "init"}
    plain = solve_block(block, "greedy")
    np.testing.assert_array_equal(plain.winner, "greedy")


def test_constrained_block_and_bad_init() -> None:
    rng = np.random.default_rng(12)
    block = PruneMask(rng.normal(size=(3, 8)), rng.normal(size=(30, 8)), keep=3)
    sol = solve_block(block, "greedy", init="nearest")
    near = solve_block(block, "nearest")
    assert np.all(sol.info["channel_objectives"] <= near.info["channel_objectives"] + 1e-12)
    assert block.feasible(sol.bits)
    with pytest.raises(ValidationError, match="init must be"):
        solve_block(block, "greedy", init=np.zeros((2, 2)))
    with pytest.raises(ValidationError, match="method itself"):
        solve_block(block, "greedy", init="greedy")
    with pytest.raises(ValidationError, match="unknown method"):
        solve_block(block, "greedy", init="annealing")
    with pytest.raises(ValidationError, match="bits must be 0 or 1"):
        solve_block(block, "greedy", init=np.full((3, 8), 2))
    other = LinearRounding(rng.normal(size=(2, 5)), rng.normal(size=(9, 5)), 2)
    with pytest.raises(ValidationError, match="another block"):
        solve_block(block, "greedy", init=solve_block(other, "nearest"))
