"""Issue 15, parts 1 and 2: a verifier that cannot be fooled by a tampered folder, and output
folders that change all at once (one commit step, signals deferred in every thread, leftovers
of killed runs cleaned, outputs only to regular files or new paths).

Each test is the regression test of one finding of the hostile campaign; the finding is quoted
in its docstring.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import qevo_ir
from qevo_ir import atomic
from qevo_ir.atomic import UnsafeOutput
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.verify import printable, verify_directory

# Asymmetric, so a permutation of the labels changes the energies; 3 variables, one ground state.
SOURCE = "# vartype=SPIN\n0 0 1.0\n0 1 -1.5\n1 2 0.5\n2 2 -0.25\n"


def _rehash(folder: Path, *names: str) -> None:
    """Update report.json's sha256 and bytes of ``names``: what a careful tamperer does."""
    report = json.loads((folder / "report.json").read_text())
    for name in names:
        data = (folder / name).read_bytes()
        report["artifacts"][name].update(sha256=hashlib.sha256(data).hexdigest(), bytes=len(data))
    (folder / "report.json").write_text(json.dumps(report, indent=1))


@pytest.fixture(scope="module")
def compiled_exact_dimod(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src") / "p.coo"
    src.write_text(SOURCE)
    out = tmp_path_factory.mktemp("out") / "c"
    qevo_ir.compile(str(src), "", target="exact,dimod").write(out)
    return out


@pytest.fixture
def folder(compiled_exact_dimod: Path, tmp_path: Path) -> Path:
    import shutil

    dst = tmp_path / "c"
    shutil.copytree(compiled_exact_dimod, dst)
    return dst


def _failed(folder: Path) -> dict[tuple[str, str], str]:
    return {(r.artifact, r.check): r.detail for r in verify_directory(folder) if not r.ok}


def test_untampered_folder_passes(folder: Path) -> None:
    results = verify_directory(folder)
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    checks = {(r.artifact, r.check) for r in results}
    assert ("compiled.qevo.json", "source") in checks
    assert ("bqm.json", "energies") in checks
    assert ("exact.json", "exact") in checks


def test_empty_artifact_list_with_garbage_files_is_refused(
    folder: Path, cli: Callable[..., Any]
) -> None:
    """Finding: a report.json of ``{"artifacts": {}}`` and 8 garbage bytes per artifact passed
    ("verified: every check passed", exit 0)."""
    for p in folder.iterdir():
        if p.is_file() and not p.name.startswith("."):
            p.write_bytes(b"\x00garbage")
    (folder / "report.json").write_text('{"artifacts": {}}')
    cli("verify", folder).assert_one_line_error("report.json", "not a qevo compile report")


def test_unlisted_file_is_reported(folder: Path) -> None:
    """Finding: an artifact missing from the report was never checked."""
    (folder / "qaoa.qasm").write_text("OPENQASM 2.0;\n")
    report = json.loads((folder / "report.json").read_text())
    del report["artifacts"]["bqm.coo"]
    (folder / "report.json").write_text(json.dumps(report))
    failed = _failed(folder)
    assert ("qaoa.qasm", "unexpected") in failed
    assert ("bqm.coo", "unexpected") in failed


def test_exact_json_with_false_ground_states_fails(folder: Path) -> None:
    """Finding: with the report's hashes updated, an exact.json whose ground_states are not
    ground states was accepted."""
    doc = json.loads((folder / "exact.json").read_text())
    doc["levels"][0]["states"] = [[1, 1, 1]]
    doc["ground_states"] = [{"0": 1, "1": 1, "2": 1}]
    (folder / "exact.json").write_text(json.dumps(doc))
    _rehash(folder, "exact.json")
    assert "ground energy" in _failed(folder)[("exact.json", "exact")]


def test_exact_json_labels_matched_by_name(folder: Path) -> None:
    """The same ground state written with the labels in another order is still correct."""
    doc = json.loads((folder / "exact.json").read_text())
    state = doc["levels"][0]["states"][0]
    doc["labels"] = doc["labels"][::-1]
    doc["levels"][0]["states"] = [state[::-1]]
    (folder / "exact.json").write_text(json.dumps(doc))
    _rehash(folder, "exact.json")
    assert ("exact.json", "exact") not in _failed(folder)


def test_bqm_with_reversed_labels_fails(folder: Path) -> None:
    """Finding: a bqm.json with its labels reversed passed (energies compared by position)."""
    doc = json.loads((folder / "bqm.json").read_text())
    doc["variable_labels"] = doc["variable_labels"][::-1]
    (folder / "bqm.json").write_text(json.dumps(doc))
    _rehash(folder, "bqm.json")
    assert "energy mismatch" in _failed(folder)[("bqm.json", "energies")]


def test_ir_and_artifacts_rescaled_together_fail(folder: Path) -> None:
    """Finding: an IR and a BQM rescaled together (hashes updated) passed."""
    from qevo_ir.formats import read_hamiltonian, write_hamiltonian

    ham = read_hamiltonian(folder / "compiled.qevo.json")
    write_hamiltonian(ham.scaled(2.0), folder / "compiled.qevo.json", force=True)
    doc = json.loads((folder / "bqm.json").read_text())
    doc["linear_biases"] = [2 * b for b in doc["linear_biases"]]
    doc["quadratic_biases"] = [2 * b for b in doc["quadratic_biases"]]
    doc["offset"] = 2 * doc["offset"]
    (folder / "bqm.json").write_text(json.dumps(doc))
    (folder / "bqm.coo").unlink()
    report = json.loads((folder / "report.json").read_text())
    del report["artifacts"]["bqm.coo"], report["artifacts"]["exact.json"]
    (folder / "report.json").write_text(json.dumps(report))
    (folder / "exact.json").unlink()
    _rehash(folder, "compiled.qevo.json", "bqm.json")
    failed = _failed(folder)
    assert ("bqm.json", "energies") not in failed  # consistent with the (rescaled) IR
    assert "certified bound" in failed[("compiled.qevo.json", "source")]


def test_source_swapped_with_its_hash_fails(folder: Path) -> None:
    """A source.qevo.json replaced (its hash in the artifact list updated) no longer matches
    the report's source content hash."""
    from qevo_ir.formats import read_hamiltonian, write_hamiltonian

    ham = read_hamiltonian(folder / "source.qevo.json")
    write_hamiltonian(ham.scaled(3.0), folder / "source.qevo.json", force=True)
    _rehash(folder, "source.qevo.json")
    assert "content hash" in _failed(folder)[("compiled.qevo.json", "source")]


def test_report_numbers_must_match_the_pipeline(folder: Path) -> None:
    report = json.loads((folder / "report.json").read_text())
    report["energy_scale"] = 2.0
    (folder / "report.json").write_text(json.dumps(report))
    assert "energy_scale" in _failed(folder)[("compiled.qevo.json", "source")]


def test_size_cap_before_reading(folder: Path) -> None:
    with open(folder / "bqm.json", "ab") as fh:
        fh.write(b" " * 5000)
    results = verify_directory(folder, max_bytes=4096)
    by = {(r.artifact, r.check): r for r in results}
    assert not by[("bqm.json", "size")].ok
    assert ("bqm.json", "energies") not in by  # never parsed


def test_printed_names_are_escaped(folder: Path, cli: Callable[..., Any]) -> None:
    """Finding: a newline in an artifact name forged an "ok" line in verify's output; labels
    with terminal escape sequences were printed raw."""
    (folder / "x\nok    bqm.json  sha256  forged").write_text("")
    (folder / "\x1b[31mred").write_text("")
    res = cli("verify", folder)
    assert res.code == 1
    assert "\x1b" not in res.out
    lines = res.out.splitlines()
    assert not any(line.startswith("ok    bqm.json  sha256  forged") for line in lines)
    assert any("\\n" in line and "unexpected" in line for line in lines)
    assert printable("a\u202eb\udc80\x1b") == "a\\u202eb\\udc80\\x1b"


def test_verify_waits_for_a_writer_holding_the_lock(folder: Path) -> None:
    """verify holds a shared lock: it never reads a folder while a compile commits into it."""
    fd = os.open(folder / ".qevo.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    done: list[bool] = []
    t = threading.Thread(target=lambda: done.append(all(r.ok for r in verify_directory(folder))))
    t.start()
    time.sleep(0.5)
    assert not done  # still waiting
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    t.join(60)
    assert done == [True]


def _limit_as(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


@pytest.mark.parametrize("gib", [3])
def test_verify_under_a_low_address_space_limit(
    folder: Path, gib: int, child_env: Callable[..., dict[str, str]]
) -> None:
    """Finding: ``internal error: SubprocessError`` whenever RLIMIT_AS was below 4 GiB (the
    worker tried to raise its limit to 4 GiB)."""
    proc = subprocess.run(
        [sys.executable, "-m", "qevo_ir.cli.main", "verify", str(folder)],
        capture_output=True,
        text=True,
        env=child_env(),
        preexec_fn=_limit_as(gib << 30),
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "verified: every check passed" in proc.stdout


def test_verify_refuses_cleanly_below_the_worker_floor(
    folder: Path, child_env: Callable[..., dict[str, str]]
) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "qevo_ir.cli.main", "verify", str(folder)],
        capture_output=True,
        text=True,
        env=child_env(),
        preexec_fn=_limit_as(900 << 20),
        timeout=120,
        check=False,
    )
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, proc.stderr
    assert len(lines) == 1
    assert "ulimit -v" in lines[0]
    assert "internal error" not in lines[0]


# ----------------------------------------------------------------------------- output folders
@pytest.fixture
def ham() -> Hamiltonian:
    return Hamiltonian.from_ising({0: 1.0, 2: -0.25}, {(0, 1): -1.5, (1, 2): 0.5})


def _names(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_force_removes_every_file_of_the_previous_compile(ham: Hamiltonian, tmp_path: Path) -> None:
    """Finding: ``--force`` kept stale ``embedded_target.qevo.json`` and ``qaoa.*`` from an earlier
    compile, which then made verify fail a correct folder."""
    out = tmp_path / "c"
    qevo_ir.compile(ham, "", target="exact,dimod").write(out)
    (out / "qaoa.qasm").write_text("stale")  # a known artifact name from an older compile
    qevo_ir.compile(ham, "", target="exact").write(out, force=True)
    assert _names(out) == {
        ".qevo.lock",
        "report.json",
        "source.qevo.json",
        "compiled.qevo.json",
        "exact.json",
    }
    assert all(r.ok for r in verify_directory(out))


def test_without_force_a_stray_artifact_name_is_refused(ham: Hamiltonian, tmp_path: Path) -> None:
    out = tmp_path / "c"
    out.mkdir()
    (out / "qaoa.qasm").write_text("someone else's")
    with pytest.raises(atomic.OutputExists, match=r"qaoa\.qasm"):
        qevo_ir.compile(ham, "", target="exact").write(out)
    assert (out / "qaoa.qasm").read_text() == "someone else's"


def test_failing_forced_compile_leaves_the_old_set(
    ham: Hamiltonian, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding: a failing ``compile --force`` left the new source and IR beside the old
    exact.json with no report."""
    out = tmp_path / "c"
    qevo_ir.compile(ham, "", target="exact").write(out)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    compiled = qevo_ir.compile(ham.scaled(2.0), "", target="exact,dimod")
    from qevo_dimod.backend import DimodBackend

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(DimodBackend, "write", boom)
    with pytest.raises(OSError, match="No space"):
        compiled.write(out, force=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def _interrupted_commit(out: Path, ham: Hamiltonian) -> None:
    """What SIGKILL between two renames of a commit leaves: the journal, no report, part of the
    new set, part of the old one."""
    qevo_ir.compile(ham, "", target="exact,dimod").write(out)
    report = json.loads((out / "report.json").read_text())
    journal = {
        "placing": ["source.qevo.json", "compiled.qevo.json", "exact.json"],
        "removing": ["bqm.json", "bqm.coo"],
        "manifest_sha256": "0" * 64,
    }
    (out / atomic.JOURNAL_NAME).write_text(json.dumps(journal))
    (out / "report.json").unlink()
    (out / "bqm.json").unlink()
    assert report["artifacts"]


def test_killed_commit_is_repaired_by_the_next_run(ham: Hamiltonian, tmp_path: Path) -> None:
    """Finding: SIGTERM/--timeout between the final renames left 1-3 of 4 files; a staging
    folder and a 35 MB ``.tmp`` stayed after SIGKILL."""
    out = tmp_path / "c"
    _interrupted_commit(out, ham)
    stale = out / f"{atomic.STAGING_PREFIX}dead"
    stale.mkdir()
    (stale / ".owner").write_text("")
    (stale / "bqm.json").write_text("x" * 1000)
    tmp = out / ".bqm.json.abc123.tmp"
    tmp.write_text("partial")
    # the next compile, without --force: the partial set is not "an existing compile"
    qevo_ir.compile(ham, "", target="exact").write(out)
    assert _names(out) == {
        ".qevo.lock",
        "report.json",
        "source.qevo.json",
        "compiled.qevo.json",
        "exact.json",
    }
    assert all(r.ok for r in verify_directory(out))


def test_live_staging_folder_is_not_removed(tmp_path: Path) -> None:
    with atomic.staging_dir(tmp_path) as live:
        assert atomic.remove_stale_staging(tmp_path) == []
        assert live.is_dir()


def test_planted_lock_symlink_is_refused(
    ham: Hamiltonian, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """Finding: a planted ``.qevo.lock`` symlink made compile write outside OUTDIR."""
    out = tmp_path / "c"
    out.mkdir()
    victim = tmp_path / "victim"
    (out / ".qevo.lock").symlink_to(victim)
    src = tmp_path / "p.coo"
    src.write_text(SOURCE)
    cli("compile", src, "--target", "exact", "-o", out).assert_one_line_error(
        ".qevo.lock", "symbolic link"
    )
    assert not victim.exists()
    assert not (out / "report.json").exists()


def test_convert_refuses_a_fifo_without_blocking(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """Finding: run as root, ``convert FILE /dev/null --force`` replaced the device node with a
    regular file, FIFOs too. Outputs are regular files or new paths (tested on a FIFO made here,
    never on a real device)."""
    src = tmp_path / "p.coo"
    src.write_text(SOURCE)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    res = cli("convert", src, fifo, "--force")
    res.assert_one_line_error("fifo", "regular file")
    assert res.seconds < 5
    assert fifo.is_fifo()
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "elsewhere.json")
    cli("convert", src, link, "--force").assert_one_line_error("symbolic link")
    assert link.is_symlink()
    assert not (tmp_path / "elsewhere.json").exists()


def test_compile_refuses_a_fifo_at_an_artifact_name(ham: Hamiltonian, tmp_path: Path) -> None:
    out = tmp_path / "c"
    out.mkdir()
    os.mkfifo(out / "exact.json")
    with pytest.raises(UnsafeOutput, match="FIFO"):
        qevo_ir.compile(ham, "", target="exact").write(out, force=True)
    assert (out / "exact.json").is_fifo()
    assert not (out / "report.json").exists()


def test_stale_temporary_of_a_dead_writer_is_removed(tmp_path: Path) -> None:
    stale = tmp_path / ".out.json.dead.tmp"
    stale.write_text("x" * 100)
    atomic.atomic_write_text(tmp_path / "out.json", "{}")
    assert _names(tmp_path) == {"out.json"}


@pytest.fixture
def slow_replace(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``os.replace`` sends SIGINT to this process at the commit's first rename."""
    calls: list[str] = []
    real = os.replace

    def replace(src: Any, dst: Any) -> None:
        if Path(src).parent == Path(dst).parent or not Path(src).parent.name.startswith(
            atomic.STAGING_PREFIX
        ):
            real(src, dst)  # a write inside the staging folder, not the commit
            return
        calls.append(os.fspath(dst))
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.2)  # the signal is delivered (to some thread) meanwhile
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return calls


def test_sigint_during_commit_lands_after_it(
    ham: Hamiltonian, tmp_path: Path, slow_replace: list[str]
) -> None:
    """Signals are deferred in every thread: with a helper thread running (which the kernel may
    pick to receive the signal), SIGINT at the first rename lands after the last."""
    out = tmp_path / "c"
    compiled = qevo_ir.compile(ham, "", target="exact,dimod")
    stop = threading.Event()
    helper = threading.Thread(target=stop.wait)
    helper.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            compiled.write(out)
    finally:
        stop.set()
        helper.join()
    assert (out / "report.json").exists()
    assert all(r.ok for r in verify_directory(out))


def test_sigint_during_commit_in_a_worker_thread(
    ham: Hamiltonian, tmp_path: Path, slow_replace: list[str]
) -> None:
    """A commit in a non-main thread: the KeyboardInterrupt goes to the main thread and the
    commit thread completes the whole set."""
    out = tmp_path / "c"
    compiled = qevo_ir.compile(ham, "", target="exact,dimod")
    errors: list[BaseException] = []

    def write() -> None:
        try:
            compiled.write(out)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=write)
    interrupted = False
    try:
        t.start()
        while t.is_alive():
            time.sleep(0.01)
    except KeyboardInterrupt:
        interrupted = True
    t.join()
    assert interrupted
    assert not errors
    assert all(r.ok for r in verify_directory(out))


_KILL_MID_COMMIT = """
import os, signal, sys
from pathlib import Path
import qevo_ir
from qevo_ir import Hamiltonian
from qevo_ir.atomic import STAGING_PREFIX

out = Path(sys.argv[1])
ham = Hamiltonian.from_ising({0: 1.0, 2: -0.25}, {(0, 1): -1.5, (1, 2): 0.5})
qevo_ir.compile(ham, "", target="exact,dimod").write(out)  # the previous, complete set
compiled = qevo_ir.compile(ham.scaled(2.0), "", target="exact")
real, moved = os.replace, []

def replace(src, dst):
    if Path(src).parent.name.startswith(STAGING_PREFIX) and Path(src).parent != Path(dst).parent:
        moved.append(dst)
        if len(moved) == 2:
            os.kill(os.getpid(), signal.SIGKILL)  # between two renames of the commit
    real(src, dst)

os.replace = replace
compiled.write(out, force=True)
"""


def test_sigkill_mid_commit_leaves_no_report_and_is_repaired(
    tmp_path: Path, child_env: Callable[..., dict[str, str]], cli: Callable[..., Any]
) -> None:
    """A real SIGKILL between two renames of the commit: ``report.json`` is gone (a reader sees
    "no compile", never a torn set), the journal and the staging folder stay; the next compile,
    without ``--force``, removes the partial set and writes a complete one."""
    out = tmp_path / "c"
    proc = subprocess.run(
        [sys.executable, "-c", _KILL_MID_COMMIT, str(out)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    names = _names(out)
    assert "report.json" not in names
    assert atomic.JOURNAL_NAME in names
    assert any(n.startswith(atomic.STAGING_PREFIX) for n in names)
    cli("verify", out).assert_one_line_error("no report.json")
    src = tmp_path / "p.coo"
    src.write_text(SOURCE)
    res = cli("compile", src, "--target", "exact", "-o", out)
    assert res.code == 0, res.err
    assert _names(out) == {
        ".qevo.lock",
        "report.json",
        "source.qevo.json",
        "compiled.qevo.json",
        "exact.json",
    }
    assert all(r.ok for r in verify_directory(out))


def test_a_hamiltonian_compile_without_its_source_is_not_tied(folder: Path) -> None:
    """Removing the source (file and listing, hashes consistent) cannot pass as verified."""
    (folder / "source.qevo.json").unlink()
    report = json.loads((folder / "report.json").read_text())
    del report["artifacts"]["source.qevo.json"]
    (folder / "report.json").write_text(json.dumps(report, indent=1))
    assert "not tied" in _failed(folder)[("report.json", "source")]


def test_a_constrained_compile_verifies_against_its_ir_and_says_not_tied(tmp_path: Path) -> None:
    """A ConstrainedModel has no qevo file: the folder verifies, saying what was not checked."""
    from qevo_ir.constrained import ConstrainedModel

    objective = Hamiltonian.from_qubo({(0, 0): 1.0, (1, 1): -2.0, (0, 1): 3.0})
    model = ConstrainedModel.from_objective(objective, "max")
    qevo_ir.compile(model, "", target="exact,dimod").write(tmp_path / "c")
    results = verify_directory(tmp_path / "c")
    assert all(r.ok for r in results), [r for r in results if not r.ok]
    source = [r for r in results if (r.artifact, r.check) == ("report.json", "source")]
    assert source
    assert "not tied" in source[0].detail


@pytest.mark.parametrize("size", ["10000000", "999999999", "9" * 40])
def test_a_qasm_declaring_millions_of_qubits_is_refused_before_parsing(
    tmp_path: Path, size: str
) -> None:
    """Campaign finding (2026-12-04): `qreg q[10000000];` made verify take 13-21 s and 2.2 GB,
    and the reader's exhausted heap was blamed on the next, untouched artifact (qaoa.qpy)."""
    pytest.importorskip("qiskit")
    src = tmp_path / "p.coo"
    src.write_text(SOURCE)
    out = tmp_path / "c"
    qevo_ir.compile(str(src), "", target="qiskit").write(out)
    (out / "qaoa.qasm").write_text(f"OPENQASM 2.0;\nqreg q[{size}];\n")
    _rehash(out, "qaoa.qasm")
    start = time.monotonic()
    results = verify_directory(out)
    elapsed = time.monotonic() - start
    failed = {(r.artifact, r.check): r.detail for r in results if not r.ok}
    assert list(failed) == [("qaoa.qasm", "qaoa")], failed
    assert "over the reader's limit" in failed[("qaoa.qasm", "qaoa")]
    assert elapsed < 8.0, elapsed  # refused from the text, not after the parser's allocation


def test_an_artifact_over_the_size_cap_fails_its_own_check(tmp_path: Path) -> None:
    """Campaign finding (2026-12-04): a report listing an artifact larger than verify's cap was
    "not a qevo compile report" (exit 2); specs/robustness.md says such files fail (exit 1)."""
    pytest.importorskip("cirq")
    src = tmp_path / "p.coo"
    src.write_text(SOURCE)
    out = tmp_path / "c"
    qevo_ir.compile(str(src), "", target="exact,cirq").write(out)
    big = (out / "qaoa.cirq.json").stat().st_size
    report = (out / "report.json").stat().st_size
    cap = max(report, (out / "compiled.qevo.json").stat().st_size, 2048) + 1
    assert big > cap
    failed = {(r.artifact, r.check) for r in verify_directory(out, max_bytes=cap) if not r.ok}
    assert failed == {("qaoa.cirq.json", "size")}
