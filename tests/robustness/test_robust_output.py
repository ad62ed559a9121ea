"""Safe output: every file appears by rename (never half-written), failures and interrupts leave
no temporary files and no partial output, concurrent compiles into one folder leave one complete
and verifiable set, and existing outputs are never replaced without ``--force``."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qevo_ir import Hamiltonian, write_hamiltonian
from qevo_ir.compiler import compile as compile_ir
from qevo_ir.formats import read_hamiltonian
from qevo_ir.verify import verify_directory

SIGNALS = [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")]


@pytest.mark.parametrize(("sig", "code", "word"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_signal_during_convert_leaves_nothing(
    sig: int,
    code: int,
    word: str,
    tmp_path: Path,
    corpus: Path,
    interrupt: Callable[..., tuple[int, str]],
    stray: Callable[[Path], list[Path]],
) -> None:
    out = tmp_path / "out" / "converted.npz"
    rc, err = interrupt("fsync", sig, "convert", corpus / "valid_npz.npz", out)
    assert rc == code, err
    assert err.strip().splitlines() == [f"qevo: {word}; nothing partial was written"]
    assert not out.exists()
    assert stray(tmp_path) == []


@pytest.mark.parametrize("when", ["before the work", "after the work"])
def test_sigterm_outside_the_work_is_one_line_not_a_silent_death(
    when: str, tmp_path: Path, corpus: Path
) -> None:
    # A campaign finding: SIGTERM just after a compile had committed (the handler already put
    # back to the default) ended the process with -15 and no line.
    out = tmp_path / "x.json"
    script = f"""
import os, signal, sys
sys.argv = ["qevo", "convert", {str(corpus / "valid_npz.npz")!r}, {str(out)!r}]
import qevo_ir.cli.main as cli
if {when == "before the work"!r}:  # SIGTERM while the options are parsed
    real = cli.build_parser
    def build_parser():
        os.kill(os.getpid(), signal.SIGTERM)
        return real()
    cli.build_parser = build_parser
code = cli.main()
os.kill(os.getpid(), signal.SIGTERM)  # the work done, the exit under way
sys.exit(code)
"""
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 143, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert lines == ["qevo: terminated; nothing partial was written"], proc.stderr
    # after the work, its output is complete; before it, nothing was written
    assert out.exists() == (when == "after the work")


@pytest.mark.parametrize(("sig", "code", "word"), SIGNALS, ids=["SIGINT", "SIGTERM"])
def test_signal_during_compile_leaves_nothing(
    sig: int,
    code: int,
    word: str,
    tmp_path: Path,
    corpus: Path,
    interrupt: Callable[..., tuple[int, str]],
    stray: Callable[[Path], list[Path]],
) -> None:
    out = tmp_path / "compiled"
    argv = ["compile", corpus / "valid_npz.npz", "--target", "exact,dimod", "-o", out]
    rc, err = interrupt("fsync", sig, *argv)
    assert rc == code, err
    assert err.strip().splitlines() == [f"qevo: {word}; nothing partial was written"]
    assert list(out.rglob("*")) == []  # the folder may exist; it holds nothing
    assert stray(tmp_path) == []


def test_sigterm_during_a_large_real_write(
    tmp_path: Path, child_env: Callable[..., dict[str, str]], stray: Callable[[Path], list[Path]]
) -> None:
    """No hook: a 1M-coupling problem converted to JSON is signalled the moment its temporary
    file appears. Whichever side of the rename the signal lands, the output is all or nothing."""
    rng = np.random.default_rng(3)
    n, m = 3000, 1_000_000
    pairs = rng.choice(n * (n - 1) // 2, size=m, replace=False)
    row, col = np.triu_indices(n, 1)
    ham = Hamiltonian(rng.normal(size=n), row[pairs], col[pairs], rng.normal(size=m), 0.0,
                      vartype="SPIN")  # fmt: skip
    src = tmp_path / "big.npz"
    write_hamiltonian(ham, src)
    outdir = tmp_path / "out"
    outdir.mkdir()
    out = outdir / "big.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "qevo_ir.cli.main", "convert", str(src), str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=child_env(),
    )
    end = time.monotonic() + 120
    while proc.poll() is None and not any(p.name.endswith(".tmp") for p in outdir.iterdir()):
        assert time.monotonic() < end
        time.sleep(0.002)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:  # the rename won the race: the whole file is there
        assert read_hamiltonian(out) == ham
    else:
        assert proc.returncode == 143, err
        assert err.strip().splitlines() == ["qevo: terminated; nothing partial was written"]
        assert not out.exists()
    assert stray(tmp_path) == []


# ----------------------------------------------------------------------------- in-process
def test_every_output_arrives_by_rename(
    tmp_path: Path, corpus: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
    stray: Callable[[Path], list[Path]],
) -> None:  # fmt: skip
    """Each file ``convert``, ``solve -o`` and ``compile`` leave behind was moved into place by
    ``os.replace`` (from a temporary or staging file), and no temporary survives."""
    renamed: list[Path] = []
    real_replace = os.replace

    def recording_replace(src: Any, dst: Any) -> None:
        renamed.append(Path(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", recording_replace)
    src = corpus / "labels_unicode.json"
    assert cli("convert", src, tmp_path / "a.npz").code == 0
    assert cli("convert", src, tmp_path / "a.bqm.json").code == 0
    assert cli("solve", src, "-o", tmp_path / "solved.json").code == 0
    assert cli("compile", src, "--target", "all", "-o", tmp_path / "c").code == 0
    produced = {p for p in tmp_path.rglob("*") if p.is_file() and p.name != ".qevo.lock"}
    assert produced <= set(renamed)
    assert stray(tmp_path) == []


@pytest.mark.parametrize("verb", ["convert", "solve", "compile"])
def test_failed_write_leaves_nothing(
    verb: str,
    tmp_path: Path,
    corpus: Path,
    cli: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    stray: Callable[[Path], list[Path]],
) -> None:
    """A full disk (fsync fails) after content was written: exit 2, one line, no output."""

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", full_disk)
    src = corpus / "valid_npz.npz"
    out = tmp_path / "out"
    argv = {
        "convert": ["convert", src, out / "new" / "x.json"],
        "solve": ["solve", src, "-o", out / "new" / "x.json"],
        "compile": ["compile", src, "--target", "exact,dimod", "-o", out],
    }[verb]
    res = cli(*argv)
    res.assert_one_line_error("No space left on device")
    # no file, and no folder the command created for its output (convert/solve made out/new)
    assert not out.exists(), sorted(out.rglob("*"))
    assert stray(tmp_path) == []


# ----------------------------------------------------------------------------- concurrency
def test_two_concurrent_compiles_into_one_folder(
    tmp_path: Path, corpus: Path, child_env: Callable[..., dict[str, str]]
) -> None:
    """Two real ``qevo compile --force`` processes, different inputs, one folder: both succeed,
    and what is left is one run's complete set (sha256s match, ``qevo verify`` passes)."""
    out = tmp_path / "shared"
    sources = [corpus / "valid_npz.npz", corpus / "labels_unicode.json"]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "qevo_ir.cli.main", "compile", str(src), "--target",
             "exact,dimod", "-o", str(out), "--force"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=child_env(),
        )
        for src in sources
    ]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    _assert_consistent(out, [read_hamiltonian(s) for s in sources])
    results = verify_directory(out)
    assert all(r.ok for r in results), [r for r in results if not r.ok]


def _assert_consistent(out: Path, candidates: list[Hamiltonian]) -> None:
    import hashlib

    report = json.loads((out / "report.json").read_text())
    for name, meta in report["artifacts"].items():
        assert hashlib.sha256((out / name).read_bytes()).hexdigest() == meta["sha256"], name
    compiled = read_hamiltonian(out / "compiled.qevo.json")
    assert compiled in candidates
    exact = json.loads((out / "exact.json").read_text())
    states = np.array(exact["levels"][0]["states"], dtype=np.int8)
    assert np.allclose(compiled.energies(states), exact["ground_energy"])
    assert not [p for p in out.iterdir() if p.name.startswith(".qevo-staging-")]


def test_many_threads_writing_one_folder(tmp_path: Path) -> None:
    """Six writers, three rounds each, ``force=True``: the folder always ends consistent."""
    rng = np.random.default_rng(11)
    hams = [Hamiltonian(rng.normal(size=6), np.arange(5), np.arange(1, 6), rng.normal(size=5),
                        float(k), vartype="SPIN") for k in range(6)]  # fmt: skip
    compiled = [compile_ir(h, "", "exact,dimod") for h in hams]
    out = tmp_path / "shared"
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for _ in range(3):
                compiled[k].write(out, force=True)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(len(hams))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    _assert_consistent(out, hams)


# ----------------------------------------------------------------------------- --force
def test_existing_outputs_need_force(tmp_path: Path, corpus: Path, cli: Callable[..., Any]) -> None:
    src = corpus / "valid_npz.npz"
    for verb, argv in (
        ("convert", ["convert", src, tmp_path / "existing.json"]),
        ("solve", ["solve", src, "-o", tmp_path / "existing.json"]),
    ):
        target = tmp_path / "existing.json"
        target.write_text("precious\n")
        cli(*argv).assert_one_line_error("--force", str(target))
        assert target.read_text() == "precious\n", verb
        assert cli(*argv, "--force").code == 0
        assert target.read_text() != "precious\n"
        target.unlink()

    # A folder with an earlier compile, and one with a stranger's file of an artifact's name.
    earlier = tmp_path / "earlier"
    assert cli("compile", src, "-o", earlier).code == 0
    before = {p.name: p.read_bytes() for p in earlier.iterdir()}
    cli("compile", corpus / "valid_n1.json", "-o", earlier).assert_one_line_error("--force")
    assert {p.name: p.read_bytes() for p in earlier.iterdir()} == before

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "bqm.json").write_text("my own notes\n")
    res = cli("compile", src, "--target", "dimod", "-o", mine)
    res.assert_one_line_error("bqm.json", "--force")
    assert sorted(p.name for p in mine.iterdir() if not p.name.startswith(".")) == ["bqm.json"]
    assert (mine / "bqm.json").read_text() == "my own notes\n"
    assert not [p for p in mine.iterdir() if p.name.startswith(".qevo-staging-")]
    assert cli("compile", src, "--target", "dimod", "-o", mine, "--force").code == 0
    assert (mine / "report.json").is_file()
