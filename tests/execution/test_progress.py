"""Progress bars: on stderr when it is a terminal (or asked for), never when quiet or piped, and
no error without tqdm."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest

import qevo_ir
from qevo_ir.execution import TaskContext, map_tasks, plan_reads, progress_enabled, quiet
from qevo_ir.testing.conformance import random_hamiltonian

pytest.importorskip("tqdm")


def _double(item: int, ctx: TaskContext[Any]) -> int:
    return 2 * item


def test_no_bar_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    assert map_tasks(_double, range(4), desc="doubling") == [0, 2, 4, 6]
    assert capsys.readouterr().err == ""


def test_a_bar_when_stderr_is_a_terminal(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert map_tasks(_double, range(4), desc="doubling") == [0, 2, 4, 6]
    assert "doubling" in capsys.readouterr().err
    quiet(True)
    try:
        assert not progress_enabled(None)
        map_tasks(_double, range(4), desc="doubling")
        assert capsys.readouterr().err == ""
    finally:
        quiet(False)


def test_sampler_reads_and_qaoa_restarts_report_progress() -> None:
    from qevo_ir.testing.problems import chimera_ising

    calls: list[tuple[int, int]] = []
    mid = chimera_ising(8)
    result = qevo_ir.solve(
        mid, "sa", num_reads=80, seed=1, progress=lambda d, t: calls.append((d, t))
    )
    plan = plan_reads("sa", mid, {"num_reads": 80})
    assert plan is not None
    assert result.info["read_chunks"]["reads"] == plan
    assert calls == [(int(d), 80) for d in np.cumsum(plan)]
    restarts: list[tuple[int, int]] = []
    qevo_ir.solve(
        random_hamiltonian(5, "SPIN", seed=2),
        "qaoa",
        restarts=3,
        seed=1,
        progress=lambda d, t: restarts.append((d, t)),
    )
    assert restarts == [(1, 3), (2, 3), (3, 3)]


def test_without_tqdm_there_is_no_bar_and_no_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm now raises ImportError
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert not progress_enabled(True)
    assert map_tasks(_double, range(3), progress=True) == [0, 2, 4]


def _nap(seconds: float, ctx: TaskContext[Any]) -> float:
    import time

    time.sleep(seconds)
    return seconds


def test_heartbeat_beats_while_a_local_worker_runs() -> None:
    beats: list[int] = []
    out = map_tasks(_nap, [0.8], timeout=30, progress=False, heartbeat=lambda: beats.append(1))
    assert out == [0.8]
    # every 0.25 s while the 0.8 s task runs (and while its worker starts: no upper bound, a
    # loaded machine starts workers slowly)
    assert len(beats) >= 2
    # in-process: nothing to wait on, no beats
    assert map_tasks(_nap, [0.0], progress=False, heartbeat=lambda: beats.append(2)) == [0.0]
    assert 2 not in beats


def test_embedding_search_with_a_bar_runs_in_a_worker_and_finds_the_same_chains() -> None:
    from qevo_ir.hamiltonian import Hamiltonian
    from qevo_ir.passes.embed import find_chains, target_graph

    pytest.importorskip("minorminer")
    rng = np.random.default_rng(5)
    ham = Hamiltonian.from_ising(
        np.zeros(12), np.triu(rng.normal(size=(12, 12)) * (rng.random((12, 12)) < 0.3), 1)
    )
    graph = target_graph("chimera", 3)
    calls: list[tuple[int, int]] = []
    here, how = find_chains(ham, graph, method="heuristic", seed=11, progress=False)
    watched, how2 = find_chains(
        ham,
        graph,
        method="heuristic",
        seed=11,
        timeout=7.0,
        progress=lambda d, t: calls.append((d, t)),
    )
    assert (watched, how2) == (here, how)
    assert all(t == 7 and 0 <= d <= 7 for d, t in calls)
