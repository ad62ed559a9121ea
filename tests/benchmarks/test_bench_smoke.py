"""Smoke test of the benchmark harness: micro mode produces well-formed JSON and Markdown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("dimod")

from benchmarks.harness import Context, Report, Row, Target, measure
from benchmarks.run import main, run_workloads

ROW_KEYS = {
    "workload",
    "case",
    "ours",
    "ours_s",
    "peer",
    "peer_s",
    "ratio",
    "value",
    "target",
    "met",
    "extrapolated",
    "metrics",
    "note",
}


def test_target_reading() -> None:
    faster = Row("w", "c", "ours", 1.0, "peer", 4.0, Target("speedup", 2.0, "≥ 2×"))
    assert faster.ratio == pytest.approx(4.0)
    assert faster.met is True
    slow = Row("w", "c", "ours", 3.0, "peer", 2.0, Target("speedup", 1 / 1.5, "within 1.5×"))
    assert slow.met is True  # 2/3 of the peer's speed is within 1.5x
    assert Row("w", "c", "o", 0.2, target=Target("seconds", 0.1, "≤ 0.1 s")).met is False
    assert Row("w", "c", "o", None, target=Target("value", 7, "≤ 7"), value=7.0).met is True
    assert Row("w", "c", "o", None, "p", None, Target("speedup", 1, "x")).met is None


def test_measure_reports_every_run() -> None:
    calls = []
    timing = measure(lambda: calls.append(1), repeat=4, warmup=2)
    assert len(calls) == 6
    assert len(timing.runs) == 4
    assert timing.best <= timing.median


def test_micro_run_writes_json_and_markdown(tmp_path: Path) -> None:
    code = main(["--micro", "--only", "build", "exact", "-q", "--out", str(tmp_path)])
    assert code == 0
    data = json.loads((tmp_path / "bench.json").read_text(encoding="utf-8"))
    assert data["format"] == "qevo-ir-bench"
    assert data["version"] == 1
    assert data["mode"] == "micro"
    assert data["errors"] == {}
    assert {"cpu", "cores", "python", "packages"} <= set(data["machine"])
    rows = data["rows"]
    assert rows, "no rows"
    workloads = {r["workload"] for r in rows}
    assert workloads == {"1. build and lower", "4. exact"}
    for r in rows:
        assert set(r) == ROW_KEYS
        if r["ours_s"] is not None:
            assert r["ours_s"] > 0
        if r["ours_s"] and r["peer_s"]:
            assert r["ratio"] == pytest.approx(r["peer_s"] / r["ours_s"])
        if r["target"] is not None:
            assert r["target"]["kind"] in ("speedup", "seconds", "value")
            assert r["met"] in (True, False, None)
    summary = data["summary"]
    assert summary["rows"] == len(rows)
    assert summary["met"] + summary["missed"] + summary["unknown"] == summary["targets"]
    md = (tmp_path / "bench.md").read_text(encoding="utf-8")
    assert "### 1. build and lower" in md
    assert "### 4. exact" in md
    header = "| case | qevo_ir | time | peer | peer time | speed-up | target | |"
    assert md.count(header) == 2
    table_rows = [ln for ln in md.splitlines() if ln.startswith("| ") and ln != header]
    assert len(table_rows) == len(rows)
    assert all(ln.count(" | ") == 7 for ln in table_rows)
    assert "Targets:" in md


def test_failing_workload_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    import benchmarks.run as run_mod

    def boom(ctx: Context) -> list[Row]:
        raise RuntimeError("peer exploded")

    monkeypatch.setattr(run_mod, "load", lambda name: boom)
    report = run_workloads(Context(mode="micro", repeat=1, verbose=False), ["build"])
    assert isinstance(report, Report)
    assert report.errors == {"build": "RuntimeError: peer exploded"}
    assert "peer exploded" in report.to_markdown()
    assert json.loads(report.dumps())["errors"]["build"].startswith("RuntimeError")
