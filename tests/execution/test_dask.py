"""A real Dask cluster (two worker processes on the loopback): the same results as in process,
a worker killed mid-batch, shared data scattered once, typed task errors."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import qevo_ir
from qevo_ir.errors import LimitExceeded, TaskError
from qevo_ir.execution import TaskContext, derive_seed, map_tasks
from qevo_ir.results import SampleResult
from qevo_ir.testing.conformance import random_hamiltonian

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        silence_logs=50,
    )
    dask_client = distributed.Client(cluster)
    try:
        yield dask_client
    finally:
        dask_client.close()
        cluster.close()


def _same(a: list[SampleResult], b: list[SampleResult]) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.samples, y.samples)
        np.testing.assert_array_equal(x.energies, y.energies)
        np.testing.assert_array_equal(x.num_occurrences, y.num_occurrences)


def _row_dot(row: int, ctx: TaskContext[Any]) -> tuple[float, int | None, int]:
    gram = ctx.shared
    return float(gram[row] @ gram[row]), ctx.seed, os.getpid()


def test_dask_gives_the_in_process_results(client: Any) -> None:
    problems = [random_hamiltonian(16, "SPIN", seed=i) for i in range(10)]
    here = qevo_ir.solve_many(problems, "sa", seed=21, num_reads=8, num_sweeps=300)
    there = qevo_ir.solve_many(
        problems, "sa", seed=21, num_reads=8, num_sweeps=300, executor=client
    )
    _same(here, there)


def test_shared_data_is_scattered_once_to_every_worker(client: Any) -> None:
    gram = np.arange(64 * 64, dtype=np.float64).reshape(64, 64)
    copies: list[list[int]] = []

    def count_copies(done: int, total: int) -> None:
        if done == 1:
            held = client.has_what()
            copies.append(
                [sum(str(k).startswith("qevo-shared-") for k in v) for v in held.values()]
            )

    out = map_tasks(
        _row_dot, range(64), shared=gram, seed=4, executor=client, progress=count_copies
    )
    assert [o[0] for o in out] == [float(gram[i] @ gram[i]) for i in range(64)]
    assert [o[1] for o in out] == [derive_seed(4, i) for i in range(64)]
    assert copies == [[1, 1]]  # one copy on each of the two workers, not one per task
    assert {o[2] for o in out} == set(client.run(os.getpid).values())  # both workers worked


def test_a_worker_killed_mid_batch_still_completes_identically(client: Any) -> None:
    problems = [random_hamiltonian(40, "SPIN", seed=i) for i in range(16)]
    opts: dict[str, Any] = {"num_reads": 10, "num_sweeps": 2000}
    here = qevo_ir.solve_many(problems, "sa", seed=5, **opts)
    pids = list(client.run(os.getpid).values())
    killed: list[int] = []

    def kill_one(done: int, total: int) -> None:
        if done == 3 and not killed:
            killed.append(pids[0])
            os.kill(pids[0], signal.SIGKILL)

    there = qevo_ir.solve_many(problems, "sa", seed=5, executor=client, progress=kill_one, **opts)
    assert killed
    _same(here, there)
    client.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker


def test_task_errors_on_the_cluster_are_typed_and_named(client: Any) -> None:
    problems: list[Any] = [random_hamiltonian(6, "SPIN", seed=i) for i in range(3)]
    row, col = np.triu_indices(40, 1)  # dense: too wide for the tree, too many to enumerate
    dense = qevo_ir.Hamiltonian(np.ones(40), row, col, np.ones(len(row)), 0.0, vartype="SPIN")
    problems.insert(1, dense)
    with pytest.raises(TaskError, match=r"problem 1 failed: LimitExceeded") as info:
        qevo_ir.solve_many(problems, "exact", executor=client)
    assert info.value.index == 1
    assert isinstance(info.value.error, LimitExceeded)


def test_the_command_line_reaches_a_scheduler(
    client: Any, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    from qevo_ir.cli.main import main
    from qevo_ir.formats import write_hamiltonian

    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(3):
        write_hamiltonian(random_hamiltonian(8, "SPIN", seed=i), folder / f"p{i}.qevo.json")
    base = ["solve-many", str(folder), "--seed", "5", "--num-reads", "4", "--json"]
    assert main([*base, "-o", str(tmp_path / "here")]) == 0
    here = json.loads(capsys.readouterr().out)
    address = client.scheduler.address
    assert main([*base, "-o", str(tmp_path / "there"), "--scheduler", address]) == 0
    there = json.loads(capsys.readouterr().out)
    assert there["engine"] == "dask"
    assert [r["best_energy"] for r in here["problems"]] == [
        r["best_energy"] for r in there["problems"]
    ]
    assert main([*base, "-o", str(tmp_path / "x"), "--scheduler", address, "--workers", "2"]) == 2
    assert "not both" in capsys.readouterr().err


def test_block_channels_on_the_cluster_match_in_process(client: Any) -> None:
    from qevo_ir.blocks import LinearRounding
    from qevo_ir.execution import solve_channels

    rng = np.random.default_rng(3)
    block = LinearRounding(rng.normal(size=(6, 12)) / 4, rng.normal(size=(40, 12)), bits=3)
    opts: dict[str, Any] = {"num_reads": 6, "num_sweeps": 100}
    here = solve_channels(block, "sa", seed=2, **opts)
    there = solve_channels(block, "sa", seed=2, executor=client, **opts)
    _same(here, there)


def test_solve_block_on_dask_matches_a_local_pool(client: Any) -> None:
    from qevo_ir.blocks import LinearRounding, solve_block

    rng = np.random.default_rng(3)
    block = LinearRounding(rng.normal(size=(6, 10)), rng.normal(size=(40, 10)), 3)
    there = solve_block(block, "sa", executor=client, seed=5, num_reads=4, num_sweeps=100)
    here = solve_block(block, "sa", workers=1, seed=5, num_reads=4, num_sweeps=100)
    np.testing.assert_array_equal(there.bits, here.bits)
    assert there.objective == here.objective
    assert there.info["engine"]["per_channel_tasks"] == 6
