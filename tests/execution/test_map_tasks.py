"""The execution layer: one map_tasks for every engine, seeds by index, typed task errors, and
a local pool that survives a killed worker."""

from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import psutil
import pytest

import qevo_ir
from qevo_ir.errors import (
    DeadlineExceeded,
    LimitExceeded,
    TaskError,
    ValidationError,
)
from qevo_ir.execution import TaskContext, derive_seed, map_tasks
from qevo_ir.results import SampleResult
from qevo_ir.testing.conformance import random_hamiltonian
from qevo_ir.testing.problems import chimera_ising


def _square(item: int, ctx: TaskContext[Any]) -> tuple[int, int, int | None, Any]:
    return item * item, ctx.index, ctx.seed, ctx.shared


def _dense(n: int) -> qevo_ir.Hamiltonian:
    row, col = np.triu_indices(n, 1)
    return qevo_ir.Hamiltonian(np.ones(n), row, col, np.ones(len(row)), 0.0, vartype="SPIN")


def _problems(count: int, n: int = 14) -> list[qevo_ir.Hamiltonian]:
    return [random_hamiltonian(n, "SPIN", seed=i) for i in range(count)]


def _same(a: list[SampleResult], b: list[SampleResult]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.samples, y.samples)
        np.testing.assert_array_equal(x.energies, y.energies)
        np.testing.assert_array_equal(x.num_occurrences, y.num_occurrences)


def test_seeds_depend_on_the_batch_seed_and_index_only() -> None:
    seeds = [derive_seed(7, i) for i in range(100)]
    assert len(set(seeds)) == 100
    assert all(0 <= s < 2**31 for s in seeds)
    assert seeds == [derive_seed(7, i) for i in range(100)]
    assert derive_seed(8, 0) != seeds[0]
    with pytest.raises(ValidationError, match="non-negative"):
        derive_seed(-1, 0)


def test_in_process_and_threads_give_the_same_results_in_input_order() -> None:
    here = map_tasks(_square, range(20), shared="S", seed=5)
    assert [r[0] for r in here] == [i * i for i in range(20)]
    assert [r[1] for r in here] == list(range(20))
    assert [r[2] for r in here] == [derive_seed(5, i) for i in range(20)]
    assert {r[3] for r in here} == {"S"}
    with ThreadPoolExecutor(4) as pool:
        assert map_tasks(_square, range(20), shared="S", seed=5, executor=pool) == here
    assert map_tasks(_square, [], workers=2) == []


def test_a_task_that_raises_is_named() -> None:
    def boom(item: int, ctx: TaskContext[Any]) -> int:
        if item == 3:
            raise ValueError("bad weight")
        return item

    with pytest.raises(TaskError, match=r"channel 3 failed: ValueError: bad weight") as info:
        map_tasks(boom, range(5), labels=[f"channel {i}" for i in range(5)])
    assert info.value.index == 3
    assert info.value.label == "channel 3"
    assert isinstance(info.value.error, ValueError)
    with ThreadPoolExecutor(2) as pool, pytest.raises(TaskError, match="channel 3"):
        map_tasks(boom, range(5), labels=[f"channel {i}" for i in range(5)], executor=pool)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValidationError, match="workers"):
        map_tasks(_square, [1], workers=0)
    with pytest.raises(ValidationError, match="not both"):
        map_tasks(_square, [1], workers=2, executor=ThreadPoolExecutor(1))
    for bad in (float("nan"), 0, -1.0, "5", True):
        with pytest.raises(ValidationError, match="timeout"):
            map_tasks(_square, [1], timeout=bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="labels"):
        map_tasks(_square, [1, 2], labels=["a"])


def test_local_pool_results_equal_in_process_for_1_and_2_workers() -> None:
    problems = _problems(8)
    here = qevo_ir.solve_many(problems, "sa", seed=11, num_reads=8, num_sweeps=200)
    one = qevo_ir.solve_many(problems, "sa", seed=11, num_reads=8, num_sweeps=200, workers=1)
    two = qevo_ir.solve_many(problems, "sa", seed=11, num_reads=8, num_sweeps=200, workers=2)
    _same(here, one)
    _same(here, two)
    assert [r.info["options"]["seed"] for r in two] == [derive_seed(11, i) for i in range(8)]


def test_a_failing_problem_is_a_typed_error_naming_it() -> None:
    problems: list[Any] = _problems(3, n=6)
    problems.insert(2, _dense(40))  # too wide for the tree method, too many to enumerate
    with pytest.raises(TaskError, match=r"problem 2 failed: LimitExceeded: .*at most 34") as info:
        qevo_ir.solve_many(problems, "exact", workers=2)
    assert info.value.index == 2
    assert isinstance(info.value.error, LimitExceeded)


def _pool_workers() -> list[psutil.Process]:
    """Processes of our local pools: children of the fork server (a child of this process)."""
    return [w for p in psutil.Process().children() for w in p.children()]


def test_a_killed_pool_worker_is_replaced_and_the_batch_completes_identically() -> None:
    problems = _problems(12, n=40)
    opts: dict[str, Any] = {"num_reads": 10, "num_sweeps": 2000}
    here = qevo_ir.solve_many(problems, "sa", seed=3, **opts)
    killed: list[int] = []

    def kill_one(done: int, total: int) -> None:
        if done == 2 and not killed:
            victim = _pool_workers()[0]
            killed.append(victim.pid)
            os.kill(victim.pid, signal.SIGKILL)

    pooled = qevo_ir.solve_many(problems, "sa", seed=3, workers=2, progress=kill_one, **opts)
    assert killed, "no pool worker was found to kill"
    _same(here, pooled)


def test_a_batch_deadline_kills_the_workers_and_keeps_what_finished() -> None:
    problems = [*_problems(2, n=6), chimera_ising(16)]  # the last: ~30 s of native SA
    qevo_ir.solve_many(problems[:2], "sa", workers=2)  # the fork server is up: time the batch
    start = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="2 of 3 tasks finished") as info:
        qevo_ir.solve_many(
            problems, "sa", seed=1, num_reads=1, num_sweeps=10**6, workers=2, timeout=3
        )
    assert time.monotonic() - start < 6
    assert sorted(info.value.completed) == [0, 1]
    assert all(isinstance(r, SampleResult) for r in info.value.completed.values())


def test_block_channels_ship_the_block_once_and_match_in_process() -> None:
    from qevo_ir.blocks import LinearRounding
    from qevo_ir.execution import solve_channels

    rng = np.random.default_rng(3)
    block = LinearRounding(rng.normal(size=(6, 12)) / 4, rng.normal(size=(40, 12)), bits=3)
    opts: dict[str, Any] = {"num_reads": 6, "num_sweeps": 100}
    here = solve_channels(block, "sa", seed=2, **opts)
    pooled = solve_channels(block, "sa", seed=2, workers=2, **opts)
    _same(here, pooled)
    for c, result in enumerate(here):
        np.testing.assert_allclose(result.energies, block.hamiltonian(c).energies(result.samples))
    with pytest.raises(TaskError, match="channel 4 failed"):
        solve_channels(block, "exact", channels=[4], max_variables=3)
