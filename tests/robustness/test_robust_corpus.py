"""The corpus itself: reproducible from its script, covering the brief, and its two traps (a pickle
payload that would create a marker file, and sizes that would allocate gigabytes) never sprung."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qevo_ir.errors import QevoError
from qevo_ir.formats import detect_format, qevo_npz, read_document, read_hamiltonian
from qevo_ir.verify import verify_directory

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "corpus" / "make_corpus.py"
MARKER_ENV = "QEVO_PICKLE_MARKER"

REQUIRED_CATEGORIES = {
    "truncated", "version", "missing-key", "non-finite", "huge-coefficient", "labels",
    "self-loop", "shape", "size", "nesting", "pickle", "garbage", "dimod-index", "coo", "qubo",
    "valid", "report",
}  # fmt: skip


def _load_script() -> Any:
    spec = importlib.util.spec_from_file_location("qevo_make_corpus", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


def test_committed_corpus_is_what_the_script_writes(tmp_path: Path, corpus: Path) -> None:
    fresh = tmp_path / "fresh"
    _load_script().build(fresh)
    committed = sorted(p.name for p in corpus.iterdir())
    assert sorted(p.name for p in fresh.iterdir()) == committed
    for name in committed:
        assert (fresh / name).read_bytes() == (corpus / name).read_bytes(), name


def test_corpus_covers_the_brief(corpus: Path, entries: tuple[dict[str, Any], ...]) -> None:
    files = {p.name for p in corpus.iterdir()} - {"manifest.json"}
    assert files == {e["file"] for e in entries}
    assert len(entries) >= 60
    assert {e["category"] for e in entries} >= REQUIRED_CATEGORIES
    assert sum(p.stat().st_size for p in corpus.iterdir()) < 2 * 1024 * 1024
    ok = [e for e in entries if e["expect"] == "ok"]
    assert len(ok) >= 15  # valid-but-weird files are part of the corpus, not only failures
    for e in entries:
        assert e["expect"] in ("ok", "error")
        if e["kind"] == "hamiltonian" and e["expect"] == "ok":
            assert e["compute"] in ("ok", "error"), e["file"]


def _pickle_entries(entries: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [e for e in entries if e["category"] == "pickle"]


def test_pickle_payload_is_live(tmp_path: Path, corpus: Path) -> None:
    """Control: unpickling the corpus payload on purpose does create the marker file."""
    marker = tmp_path / "marker"
    code = (
        "import numpy as np, sys\n"
        "with np.load(sys.argv[1], allow_pickle=True) as z:\n"
        "    z[sys.argv[2]]\n"
    )
    cases = (("pickle_extra_member.npz", "payload"), ("pickle_as_linear.npz", "linear"))
    for name, member in cases:
        marker.unlink(missing_ok=True)
        subprocess.run(
            [sys.executable, "-c", code, str(corpus / name), member],
            env={"PATH": "/usr/bin:/bin", MARKER_ENV: str(marker)},
            check=True,
            capture_output=True,
            timeout=60,
        )
        assert marker.exists(), name


def test_pickle_payload_is_never_unpickled(
    tmp_path: Path,
    corpus: Path,
    entries: tuple[dict[str, Any], ...],
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = tmp_path / "marker"
    monkeypatch.setenv(MARKER_ENV, str(marker))
    for e in _pickle_entries(entries):
        path = corpus / e["file"]
        for load in (read_hamiltonian, read_document, qevo_npz.read):
            with pytest.raises(QevoError):
                load(path)
        with contextlib.suppress(QevoError):
            detect_format(path)
        for argv in (
            ["inspect", path],
            ["solve", path, "--backend", "exact"],
            ["convert", path, tmp_path / "out.json"],
            ["compile", path, "-o", tmp_path / "outdir"],
        ):
            cli(*argv).assert_one_line_error(str(path))
        assert not (tmp_path / "out.json").exists()
        assert not (tmp_path / "outdir").exists()
        assert not marker.exists(), e["file"]

    # verify reads the compiled IR back: plant the payload there.
    out = tmp_path / "compiled"
    assert cli("compile", corpus / "valid_n1.json", "-o", out).code == 0
    shutil.copy(corpus / "pickle_as_linear.npz", out / "compiled.qevo.json")
    results = verify_directory(out)
    assert any(r.artifact == "compiled.qevo.json" and not r.ok for r in results)
    assert not marker.exists()


def test_pickle_payload_in_a_real_process(
    tmp_path: Path, corpus: Path, qevo_proc: Callable[..., Any]
) -> None:
    marker = tmp_path / "marker"
    path = corpus / "pickle_extra_member.npz"
    res = qevo_proc("inspect", path, **{MARKER_ENV: str(marker)})
    res.assert_one_line_error(str(path), "payload.npy")
    assert not marker.exists()


_RSS_PROBE = """
import json, resource, sys, time
from qevo_ir.errors import QevoError
from qevo_ir.formats import read_hamiltonian
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = []
for path in sys.argv[1:]:
    start = time.perf_counter()
    try:
        read_hamiltonian(path)
        outcome = "loaded"
    except QevoError as exc:
        outcome = type(exc).__name__ + ": " + str(exc)
    out.append({"file": path, "outcome": outcome, "seconds": time.perf_counter() - start})
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"base_kib": base, "peak_kib": peak, "reads": out}))
"""


def test_huge_declared_sizes_fail_fast_without_allocating(
    corpus: Path, entries: tuple[dict[str, Any], ...], child_env: Callable[..., dict[str, str]]
) -> None:
    """Files declaring 10^9 variables (8 GB of float64) fail in milliseconds, and the reader's
    peak resident memory grows by less than 32 MiB over the interpreter's own."""
    huge = [e for e in entries if e.get("declares", 0) >= 10**9]
    assert len(huge) >= 5
    proc = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, *(str(corpus / e["file"]) for e in huge)],
        capture_output=True,
        text=True,
        env=child_env(),
        timeout=120,
        check=True,
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    for read in report["reads"]:
        assert read["outcome"] != "loaded", read
        assert read["seconds"] < 1.0, read
    assert (report["peak_kib"] - report["base_kib"]) < 32 * 1024, report
