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
