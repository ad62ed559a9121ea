"""Fixtures of the robustness suite: the malformed-input corpus, an in-process ``qevo`` runner and
a real-subprocess runner (for exit codes, signals and concurrency).

Tests that take a ``corpus_entry`` argument run once per input file of the corpus manifest;
``report_entry`` once per corrupted ``report.json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from qevo_ir.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus" / "files"


@cache
def manifest() -> tuple[dict[str, Any], ...]:
    """The corpus manifest's entries, in file order."""
    data = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
    return tuple(data["entries"])


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name, kind in (("corpus_entry", "hamiltonian"), ("report_entry", "report")):
        if name in metafunc.fixturenames:
            entries = [e for e in manifest() if e["kind"] == kind]
            metafunc.parametrize(name, entries, ids=[e["file"] for e in entries])


@dataclass(frozen=True)
class CliResult:
    """Exit code, stdout and stderr of one ``qevo`` run, and how long it took."""

    code: int
    out: str
    err: str
    seconds: float

    def assert_one_line_error(self, *needles: str, code: int = 2) -> str:
        """The run failed with ``code`` and exactly one ``qevo: error:`` line naming ``needles``."""
        lines = self.err.strip().splitlines()
        assert self.code == code, (self.code, self.err, self.out)
        assert "Traceback" not in self.err, self.err
        assert len(lines) == 1, self.err
        assert lines[0].startswith("qevo: error: "), lines[0]
        for needle in needles:
            assert needle.lower() in lines[0].lower(), (needle, lines[0])
        return lines[0]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``qevo ARGS...`` in this process (fast); argparse exits become exit codes."""

    def run(*argv: str | os.PathLike[str]) -> CliResult:
        capsys.readouterr()
        start = time.perf_counter()
        try:
            code = main([os.fspath(a) for a in argv])
        except SystemExit as exc:
            code = int(exc.code or 0)
        seconds = time.perf_counter() - start
        out, err = capsys.readouterr()
        return CliResult(code, out, err, seconds)

    return run


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a child ``python``: this checkout first on the path."""
    env = dict(os.environ)
    paths = [str(ROOT), str(ROOT / "backends")]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.pop("QEVO_DEBUG", None)
    env.update(extra)
    return env


QEVO = [sys.executable, "-m", "qevo_ir.cli.main"]


def run_qevo(*argv: str | os.PathLike[str], timeout: float = 60.0, **env: str) -> CliResult:
    """Run the real ``qevo`` in a child process (killed after ``timeout`` seconds)."""
    start = time.perf_counter()
    proc = subprocess.run(
        [*QEVO, *(os.fspath(a) for a in argv)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=subprocess_env(**env),
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - start)


@pytest.fixture(scope="session")
def qevo_proc() -> Callable[..., CliResult]:
    """:func:`run_qevo` as a fixture."""
    return run_qevo


def stray_temporaries(directory: Path) -> list[Path]:
    """Leftovers of an atomic write or a staged compile under ``directory``."""
    return [
        p
        for p in directory.rglob("*")
        if (p.name.startswith(".") and p.name.endswith(".tmp"))
        or p.name.startswith(".qevo-staging-")
    ]


@pytest.fixture(scope="session")
def child_env() -> Callable[..., dict[str, str]]:
    """:func:`subprocess_env` as a fixture."""
    return subprocess_env


@pytest.fixture(scope="session")
def stray() -> Callable[[Path], list[Path]]:
    """:func:`stray_temporaries` as a fixture."""
    return stray_temporaries


@pytest.fixture(scope="session")
def corpus() -> Path:
    """The committed corpus folder."""
    return CORPUS


@pytest.fixture(scope="session")
def entries() -> tuple[dict[str, Any], ...]:
    """Every manifest entry."""
    return manifest()


# A stand-in for ``qevo`` whose writes (or solves) stall, so a signal lands mid-operation.
# QEVO_TEST_HOOK=fsync: the first fsync of an atomic write announces itself and sleeps, after the
# temporary file is fully written but before the rename. QEVO_TEST_HOOK=solve: ``solve``
# announces itself, then runs as usual.
HOOKED_QEVO = """
import os, sys, time
ready = os.environ["QEVO_TEST_READY"]
def announce():
    with open(ready, "w"):
        pass
if os.environ["QEVO_TEST_HOOK"] == "fsync":
    real_fsync = os.fsync
    def slow_fsync(fd):
        announce()
        time.sleep(120)
        real_fsync(fd)
    os.fsync = slow_fsync
else:
    import qevo_ir.compiler as compiler
    real_solve = compiler.solve
    def announced_solve(*args, **kwargs):
        announce()
        return real_solve(*args, **kwargs)
    compiler.solve = announced_solve
from qevo_ir.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def interrupt(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., tuple[int, str]]:
    """``interrupt(hook, signal, *argv, delay=...)``: run the hooked ``qevo ARGV`` in a child,
    wait until it reaches the hook, send ``signal`` ``delay`` seconds later; returns the exit
    status and stderr. The child is killed if it does not stop within 30 s."""
    scratch = tmp_path_factory.mktemp("hook")
    script = scratch / "hooked_qevo.py"
    script.write_text(HOOKED_QEVO)

    def run(
        hook: str, sig: int, *argv: str | os.PathLike[str], delay: float = 0.05
    ) -> tuple[int, str]:
        ready = scratch / "ready"
        ready.unlink(missing_ok=True)
        proc = subprocess.Popen(
            [sys.executable, str(script), *(os.fspath(a) for a in argv)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=subprocess_env(QEVO_TEST_HOOK=hook, QEVO_TEST_READY=str(ready)),
        )
        try:
            end = time.monotonic() + 60
            while not ready.exists():
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < end, "the hooked qevo never reached its hook"
                time.sleep(0.01)
            time.sleep(delay)
            proc.send_signal(sig)
            _, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        return proc.returncode, err

    return run
