"""solve_block, compare_methods and quantize_model on the execution layer: the same answer on
any engine, per-channel tasks for the per-channel methods, deadlines that stop."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from qevo_ir.blocks import LinearRounding, compare_methods, solve_block
from qevo_ir.errors import DeadlineExceeded, LimitExceeded


def _block(channels: int = 5, inputs: int = 8, seed: int = 0) -> LinearRounding:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(channels, inputs))
    x = rng.normal(size=(3 * inputs, inputs))
    return LinearRounding(w, x, 3)


def test_sa_per_channel_tasks_are_engine_independent() -> None:
    block = _block()
    opts = {"seed": 11, "num_reads": 4, "num_sweeps": 200}
    with ThreadPoolExecutor(3) as pool:
        threads = solve_block(block, "sa", executor=pool, **opts)
    pooled = solve_block(block, "sa", workers=2, **opts)
    np.testing.assert_array_equal(threads.bits, pooled.bits)
    assert threads.objective == pooled.objective
    assert threads.info["engine"]["per_channel_tasks"] == block.num_channels
    # a per-channel answer is a real answer: never worse than nearest in total here
    assert threads.objective <= solve_block(block, "nearest").objective + 1e-12


def test_exact_on_an_engine_equals_in_process_exact() -> None:
    block = _block(channels=4, inputs=6)
    with ThreadPoolExecutor(2) as pool:
        there = solve_block(block, "exact", executor=pool)
    here = solve_block(block, "exact")
    assert there.objective == pytest.approx(here.objective, rel=1e-12, abs=1e-12)
    with ThreadPoolExecutor(2) as pool, pytest.raises(LimitExceeded, match="max_variables=3"):
        solve_block(block, "exact", executor=pool, max_variables=3)


def test_whole_layer_methods_run_as_one_task_with_a_deadline() -> None:
    block = _block()
    for method in ("gptq", "greedy"):
        here = solve_block(block, method)
        there = solve_block(block, method, timeout=60)  # one local worker process
        np.testing.assert_array_equal(here.weights, there.weights)
    warm = solve_block(block, "greedy", init="gptq", timeout=60)
    assert warm.objective <= solve_block(block, "gptq").objective + 1e-12


def test_a_deadline_that_passes_raises_deadline_exceeded() -> None:
    block = _block(channels=8, inputs=12)
    with pytest.raises(DeadlineExceeded):
        solve_block(block, "sa", timeout=0.05, seed=1, num_reads=200, num_sweeps=20000)


def test_compare_methods_passes_the_engine_down() -> None:
    block = _block(channels=3, inputs=6)
    opts = {"sa": {"seed": 2, "num_reads": 4, "num_sweeps": 100}}
    with ThreadPoolExecutor(2) as pool:
        a = compare_methods(block, ("gptq", "sa"), options=opts, executor=pool)
    with ThreadPoolExecutor(1) as pool:
        b = compare_methods(block, ("gptq", "sa"), options=opts, executor=pool)
    assert [r["method"] for r in a] == ["nearest", "greedy", "gptq", "sa", "exact"]
    assert [r["objective"] for r in a] == [r["objective"] for r in b]


def test_quantize_model_takes_an_executor() -> None:
    torch = pytest.importorskip("torch")
    from qevo_ir.blocks import quantize_model

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(6, 5), torch.nn.ReLU(), torch.nn.Linear(5, 3))
    x = torch.randn(32, 6)
    with ThreadPoolExecutor(2) as pool:
        q1, r1 = quantize_model(model, x, 3, "sa", executor=pool, num_reads=4, num_sweeps=100)
    with ThreadPoolExecutor(1) as pool:
        q2, r2 = quantize_model(model, x, 3, "sa", executor=pool, num_reads=4, num_sweeps=100)
    for name in ("0", "2"):
        assert r1[name].objective == r2[name].objective
    for p1, p2 in zip(q1.parameters(), q2.parameters(), strict=True):
        assert torch.equal(p1, p2)
