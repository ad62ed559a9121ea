"""The command line's execution flags: --timeout that stops native samplers, --workers,
solve-many, compile-block on a pool, --quiet."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from qevo_ir.cli.main import main
from qevo_ir.formats import write_hamiltonian
from qevo_ir.testing.conformance import random_hamiltonian
from qevo_ir.testing.problems import chimera_ising

QEVO = [sys.executable, "-m", "qevo_ir.cli.main"]


def _env() -> dict[str, str]:
    root = Path(__file__).resolve().parents[2]
    path = os.pathsep.join([str(root), str(root / "backends"), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path}


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "chimera2048.qevo.json"
    write_hamiltonian(chimera_ising(16, seed=0), path)
    return path


def test_timeout_cuts_a_native_sampler_short_and_keeps_its_reads(big: Path) -> None:
    # 1000 reads of SA on 2048 spins take about 25 s; the command must end near its deadline
    # (counted from the start of the process: imports take seconds on a loaded machine).
    start = time.monotonic()
    proc = subprocess.run(
        [*QEVO, "--timeout", "6", "solve", str(big), "-b", "sa", "--num-reads", "1000", "--json"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )
    elapsed = time.monotonic() - start
    assert proc.returncode == 0, proc.stderr
    assert elapsed < 8.0
    out = json.loads(proc.stdout)
    assert out["info"]["cut_short"] is True
    assert 0 < out["info"]["reads_finished"] < 1000
    assert proc.stderr == ""  # --json: no progress bar, nothing else


def test_solve_reads_split_across_workers_give_the_in_process_result(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "chimera512.qevo.json"
    write_hamiltonian(chimera_ising(8, seed=2), path)  # 80 reads: split in seeded chunks
    base = ["solve", str(path), "-b", "sa", "--num-reads", "80", "--seed", "3", "--json"]
    assert main(base) == 0
    here = json.loads(capsys.readouterr().out)
    assert main([*base, "--workers", "2"]) == 0
    pooled = json.loads(capsys.readouterr().out)
    assert here["info"]["read_chunks"] == pooled["info"]["read_chunks"]
    assert here["samples"] == pooled["samples"]


def _write_problems(folder: Path, count: int) -> list[Path]:
    folder.mkdir()
    paths = [folder / f"p{i}.qevo.json" for i in range(count)]
    for i, p in enumerate(paths):
        write_hamiltonian(random_hamiltonian(10, "SPIN", seed=i), p)
    return paths


def test_solve_many_writes_one_result_per_file_the_same_on_a_pool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_problems(tmp_path / "in", 5)
    base = ["solve-many", str(tmp_path / "in"), "--seed", "7", "--num-reads", "6", "--json"]
    assert main([*base, "-o", str(tmp_path / "a")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["counts"] == {"ok": 5, "error": 0, "timeout": 0}
    assert main(["--quiet", *base, "-o", str(tmp_path / "b"), "--workers", "2"]) == 0
    pooled = json.loads(capsys.readouterr().out)
    assert pooled["engine"] == "local pool (2 workers)"
    for row in summary["problems"]:
        a = json.loads((tmp_path / "a" / row["result"]).read_text())
        b = json.loads((tmp_path / "b" / row["result"]).read_text())
        assert a["samples"] == b["samples"]
        assert a["info"]["options"]["seed"] == b["info"]["options"]["seed"]
    assert main([*base, "-o", str(tmp_path / "a")]) == 2  # results exist: --force needed
    assert "--force" in capsys.readouterr().err


def test_solve_many_keeps_going_past_a_bad_file_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = _write_problems(tmp_path / "in", 2)
    bad = tmp_path / "in" / "bad.coo"
    bad.write_text("0 1 nan\n")
    code = main(["solve-many", *map(str, [*paths, bad]), "-o", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert code == 2
    assert "1 failed (first:" in captured.err
    assert "bad.coo" in captured.err
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert [r["status"] for r in summary["problems"]] == ["ok", "ok", "error"]
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == [
        "p0.qevo.json.result.json",
        "p1.qevo.json.result.json",
        "summary.json",
    ]


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["-b", "nope"], "unknown backend 'nope'"),
        (["--num-reads", "0"], "--num-reads must be at least 1"),
        (["--pipeline", "bogus"], "bogus"),
        (["--show", "-1"], "--show must be 0 or more"),
    ],
)
def test_solve_many_refuses_bad_arguments_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], says: str
) -> None:
    # Campaign finding (2026-12-04): these were found per problem, after OUTDIR/summary.json
    # had been written with every problem failed.
    paths = _write_problems(tmp_path / "in", 1)
    out = tmp_path / "o"
    assert main(["solve-many", *map(str, paths), "-o", str(out), *extra]) == 2
    err = capsys.readouterr().err
    assert says in err
    assert err.count("\n") == 1
    assert not out.exists()


def test_solve_many_refuses_a_linked_summary_before_solving_and_reports_odd_entries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = _write_problems(tmp_path / "in", 1)
    out = tmp_path / "o"
    out.mkdir()
    (out / "summary.json").symlink_to(paths[0])
    assert main(["solve-many", str(tmp_path / "in"), "-o", str(out), "--force"]) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["summary.json"]  # no result written
    # a FIFO with a problem file's name is an error row, not silently left out
    os.mkfifo(tmp_path / "in" / "pipe.qubo")
    out2 = tmp_path / "o2"
    assert main(["solve-many", str(tmp_path / "in"), "-o", str(out2), "--seed", "1"]) == 2
    summary = json.loads((out2 / "summary.json").read_text())
    rows = {Path(r["file"]).name: r for r in summary["problems"]}
    assert rows["pipe.qubo"]["status"] == "error"
    assert "FIFO" in rows["pipe.qubo"]["error"]
    assert rows["p0.qevo.json"]["status"] == "ok"
    err = capsys.readouterr().err
    assert "pipe.qubo: pipe.qubo" not in err
    assert str(tmp_path) in err


def test_compile_block_on_a_pool_writes_the_same_channels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(1)
    path = tmp_path / "layer.npz"
    np.savez(
        path, weight=rng.normal(size=(3, 6)), inputs=rng.normal(size=(30, 6)), bits=np.array(2)
    )
    base = ["compile-block", str(path), "--target", "exact,dimod", "--json"]
    assert main([*base, "-o", str(tmp_path / "a")]) == 0
    assert main([*base, "-o", str(tmp_path / "b"), "--workers", "2"]) == 0
    capsys.readouterr()
    for c in range(3):
        folder = f"channel_{c:04d}"
        a = (tmp_path / "a" / folder / "bqm.json").read_bytes()
        assert a == (tmp_path / "b" / folder / "bqm.json").read_bytes()
        ea, eb = (json.loads((tmp_path / d / folder / "exact.json").read_text()) for d in "ab")
        assert ea["ground_energy"] == eb["ground_energy"]
        assert ea["ground_states"] == eb["ground_states"]
    assert main([*base, "-o", str(tmp_path / "c"), "--workers", "0"]) == 2
    assert "--workers" in capsys.readouterr().err


def test_timeout_stops_an_embedding_search(tmp_path: Path) -> None:
    path = tmp_path / "dense60.qevo.json"
    write_hamiltonian(random_hamiltonian(60, "SPIN", seed=1), path)
    # K60 does not fit Chimera C(4): minorminer searches until its own 60 s limit
    pipeline = "embed(topology=chimera,m=4,method=heuristic,tries=1000,cache=false)"
    start = time.monotonic()
    proc = subprocess.run(
        [*QEVO, "--timeout", "3", "compile", str(path), "--pipeline", pipeline, "-t", "dimod",
         "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )  # fmt: skip
    assert time.monotonic() - start < 5.5
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "--timeout" in proc.stderr
    assert not (tmp_path / "out" / "report.json").exists()


WATCHDOG_SCRIPT = """
import signal, sys, time
from qevo_ir.cli.commands import inspect_cmd
from qevo_ir.cli.main import main

def deaf(args):  # native code that never sees the alarm
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    time.sleep(30)

inspect_cmd.run = deaf
sys.exit(main(["--timeout", "1", "inspect", "anything.json"]))
"""


def test_the_watchdog_ends_a_command_deaf_to_the_alarm() -> None:
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", WATCHDOG_SCRIPT],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=60,
        check=False,
    )
    assert time.monotonic() - start < 5.0  # 1 s, the 0.5 s grace, interpreter start
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "qevo: error: the command ran past its --timeout and was stopped; nothing was written"
    ]


def test_a_timeout_spent_on_start_up_is_enforced_even_on_fast_commands(tmp_path: Path) -> None:
    # Campaign finding (2026-12-04): `qevo --timeout 0.001 inspect r.json` printed its result
    # and exited 0 in some runs (the alarm was armed at 1 ms although the imports had already
    # used the whole timeout).
    path = _write_problems(tmp_path / "in", 1)[0]
    for timeout in ("0.001", "5e-324"):
        proc = subprocess.run(
            [*QEVO, "--timeout", timeout, "inspect", str(path)],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=120,
            check=False,
        )
        assert proc.returncode == 2, proc.stdout
        assert proc.stdout == ""
        assert proc.stderr.startswith("qevo: error: the command ran past its --timeout")
