"""Timeouts that stop native code: the solve runs in a worker process killed at the deadline;
a sampler whose reads are split keeps the reads that finished."""

from __future__ import annotations

import time

import numpy as np
import psutil
import pytest

import qevo_ir
from qevo_ir.errors import DeadlineExceeded
from qevo_ir.execution import plan_reads
from qevo_ir.testing.problems import chimera_ising

BIG = chimera_ising(16, seed=0)  # 2048 spins; 1000 SA reads take about 25 s


def _children() -> set[int]:
    return {p.pid for p in psutil.Process().children(recursive=True) if p.is_running()}


def test_the_read_layout_depends_on_the_problem_and_options_only() -> None:
    plan = plan_reads("sa", BIG, {"num_reads": 1000})
    assert plan is not None
    assert sum(plan) == 1000
    assert plan[:4] == [1, 2, 4, 8]
    assert plan_reads("sa", BIG, {"num_reads": 1000}) == plan
    small = chimera_ising(2, seed=0)
    assert plan_reads("sa", small, {"num_reads": 100}) is None  # one call, as before
    assert plan_reads("sa", BIG, {"num_reads": 1}) is None
    assert plan_reads("exact", BIG, {}) is None


def test_sa_is_cut_short_at_the_deadline_and_keeps_its_finished_reads() -> None:
    before = _children()
    start = time.monotonic()
    result = qevo_ir.solve(BIG, "sa", num_reads=1000, seed=2, timeout=1.5)
    elapsed = time.monotonic() - start
    assert elapsed < 2.5
    assert result.info["cut_short"] is True
    assert 0 < result.info["reads_finished"] < 1000
    assert int(result.num_occurrences.sum()) == result.info["reads_finished"]
    np.testing.assert_allclose(result.energies, BIG.energies(result.samples))
    time.sleep(0.2)
    assert _children() <= before  # the worker running the sampler is gone


def test_a_cut_short_result_holds_reads_of_the_full_run() -> None:
    # chunk k is seeded derive_seed(seed, k) wherever it runs: the chunks that finished before
    # the deadline are chunks of the full run
    full = qevo_ir.solve(BIG, "sa", num_reads=100, num_sweeps=500, seed=4)  # about 1.4 s
    cut = qevo_ir.solve(BIG, "sa", num_reads=100, num_sweeps=500, seed=4, timeout=0.8)
    assert cut.info.get("cut_short") is True
    rows = {r.tobytes() for r in full.samples}
    assert all(r.tobytes() in rows for r in cut.samples)


def test_a_solve_that_cannot_be_cut_raises_promptly() -> None:
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="nothing finished"):
        qevo_ir.solve(BIG, "sa", num_reads=1, num_sweeps=10**6, seed=1, timeout=1.0)
    assert time.monotonic() - start < 2.0


def test_results_with_a_generous_timeout_equal_results_without() -> None:
    mid = chimera_ising(8, seed=1)  # 512 spins: 80 reads are split into chunks
    plain = qevo_ir.solve(mid, "sa", num_reads=80, seed=9)
    bounded = qevo_ir.solve(mid, "sa", num_reads=80, seed=9, timeout=120)
    assert "cut_short" not in bounded.info
    np.testing.assert_array_equal(plain.samples, bounded.samples)
    np.testing.assert_array_equal(plain.num_occurrences, bounded.num_occurrences)
    assert plain.info["read_chunks"] == bounded.info["read_chunks"]
