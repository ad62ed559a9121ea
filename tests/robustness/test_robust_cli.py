"""Every ``qevo`` verb that takes a file gets every corpus file.

Malformed input: exit 2, one ``qevo: error:`` line naming the file and the problem, no traceback,
in well under 5 s, and no output file (whole or partial). Valid-but-weird input: the verbs work,
except that ``solve``/``compile`` refuse coefficients too large to compute with (exit 2).
In-process for speed; a sample runs as real subprocesses to prove exit codes and stderr.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qevo_ir.formats import read_hamiltonian

SECONDS = 5.0


def _vartype_args(entry: dict[str, Any]) -> list[str]:
    return ["--vartype", entry["vartype"]] if entry.get("vartype") else []


def test_every_verb(
    corpus_entry: dict[str, Any],
    corpus: Path,
    tmp_path: Path,
    cli: Callable[..., Any],
    stray: Callable[[Path], list[Path]],
) -> None:
    path = corpus / corpus_entry["file"]
    vt = _vartype_args(corpus_entry)
    out_file = tmp_path / "converted.json"
    out_dir = tmp_path / "compiled"
    solved = tmp_path / "solved.json"
    runs = {
        "inspect": cli("inspect", path, *vt),
        "convert": cli("convert", path, out_file, *vt),
        "solve": cli("solve", path, "--backend", "exact", "-o", solved, *vt),
        "compile": cli("compile", path, "--target", "exact", "-o", out_dir, *vt),
    }
    for verb, res in runs.items():
        assert res.seconds < SECONDS, (verb, res.seconds)
    if corpus_entry["expect"] == "error":
        for res in runs.values():
            res.assert_one_line_error(str(path), corpus_entry["match"])
        assert list(tmp_path.iterdir()) == []  # nothing written, not even a folder
        return

    # Loadable: inspect and convert always work (storage is lossless)...
    for verb in ("inspect", "convert"):
        assert runs[verb].code == 0, (verb, runs[verb].err)
        assert runs[verb].err == "", runs[verb].err
    assert read_hamiltonian(out_file) == read_hamiltonian(path, vartype=corpus_entry.get("vartype"))
    # ...and solve/compile either work or refuse with the documented message.
    if corpus_entry["compute"] == "ok":
        for verb in ("solve", "compile"):
            assert runs[verb].code == 0, (verb, runs[verb].err)
            assert runs[verb].err == "", runs[verb].err
        result = json.loads(solved.read_text())
        assert result["num_variables"] == read_hamiltonian(out_file).num_variables
        assert (out_dir / "report.json").is_file()
    else:
        for verb in ("solve", "compile"):
            runs[verb].assert_one_line_error(str(path), corpus_entry["compute_match"])
        assert not solved.exists()
        assert not out_dir.exists()
    assert stray(tmp_path) == []


def test_inspect_json_has_no_non_finite_numbers(
    corpus: Path, entries: tuple[dict[str, Any], ...], cli: Callable[..., Any]
) -> None:
    """``inspect --json`` of every loadable file is strict JSON (no NaN/Infinity), even for
    coefficients near DBL_MAX."""
    for e in entries:
        if e["kind"] != "hamiltonian" or e["expect"] != "ok":
            continue
        res = cli("inspect", corpus / e["file"], "--json", *_vartype_args(e))
        assert res.code == 0, (e["file"], res.err)
        assert "Infinity" not in res.out
        assert "NaN" not in res.out
        json.loads(res.out)


# ----------------------------------------------------------------------------- verify
@pytest.fixture(scope="module")
def compiled_dir(tmp_path_factory: pytest.TempPathFactory, corpus: Path) -> Path:
    from qevo_ir.cli.main import main

    out = tmp_path_factory.mktemp("base") / "compiled"
    src = corpus / "valid_n1.json"
    assert main(["compile", str(src), "--target", "exact", "-o", str(out)]) == 0
    return out


def test_verify_with_corrupted_report(
    report_entry: dict[str, Any],
    corpus: Path,
    compiled_dir: Path,
    tmp_path: Path,
    cli: Callable[..., Any],
) -> None:
    """A damaged ``report.json`` is bad input (exit 2, one line); a well-formed report that does
    not match the files is a verification failure (exit 1, the mismatch named)."""
    target = tmp_path / "c"
    shutil.copytree(compiled_dir, target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    shutil.copy(corpus / report_entry["file"], target / "report.json")
    res = cli("verify", target)
    assert res.seconds < SECONDS
    if report_entry["verify"] == "error":
        res.assert_one_line_error("report.json", report_entry["match"])
    else:
        assert res.code == 1, res.err
        assert "Traceback" not in res.err
        assert "verification FAILED" in res.out
        assert report_entry["match"] in res.out
    # verify never writes
    after = {p.name: p.read_bytes() for p in target.iterdir() if p.name != "report.json"}
    assert after == {k: v for k, v in before.items() if k != "report.json"}


def test_verify_with_every_malformed_ir(
    corpus: Path,
    entries: tuple[dict[str, Any], ...],
    compiled_dir: Path,
    tmp_path: Path,
    cli: Callable[..., Any],
) -> None:
    """``compiled.qevo.json`` replaced by each malformed corpus file: exit 1, the IR named as
    changed (sha256) and not parsed; with the report's hash and size updated to match (a
    tampered folder), the IR is parsed and named unreadable with the reader's own message. No
    traceback, no hang."""
    for e in entries:
        if e["kind"] != "hamiltonian" or e["expect"] != "error":
            continue
        target = tmp_path / e["file"]
        shutil.copytree(compiled_dir, target)
        shutil.copy(corpus / e["file"], target / "compiled.qevo.json")
        res = cli("verify", target, "--json")
        assert res.seconds < SECONDS, e["file"]
        assert res.code == 1, (e["file"], res.err)
        assert res.err == ""
        checks = json.loads(res.out)["checks"]
        failed = {(c["artifact"], c["check"]) for c in checks if not c["ok"]}
        assert ("compiled.qevo.json", "sha256") in failed, e["file"]
        report = json.loads((target / "report.json").read_text())
        data = (target / "compiled.qevo.json").read_bytes()
        report["artifacts"]["compiled.qevo.json"].update(
            sha256=hashlib.sha256(data).hexdigest(), bytes=len(data)
        )
        (target / "report.json").write_text(json.dumps(report))
        res = cli("verify", target, "--json")
        assert res.seconds < SECONDS, e["file"]
        assert res.code == 1, (e["file"], res.err)
        checks = json.loads(res.out)["checks"]
        failed = {(c["artifact"], c["check"]) for c in checks if not c["ok"]}
        assert ("compiled.qevo.json", "read") in failed, e["file"]
        shutil.rmtree(target)


def test_verify_refuses_special_files_without_hanging(
    compiled_dir: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """FIFOs and symbolic links planted in an output folder are reported, never opened."""
    target = tmp_path / "c"
    shutil.copytree(compiled_dir, target)
    (target / "exact.json").unlink()
    os.mkfifo(target / "exact.json")  # opening it would block forever
    (target / "source.qevo.json").unlink()
    (target / "source.qevo.json").symlink_to("/dev/zero")  # reading it would never end
    res = cli("verify", target, "--json")
    assert res.seconds < SECONDS
    assert res.code == 1
    by_name = {c["artifact"]: c for c in json.loads(res.out)["checks"]}
    assert "not a regular file" in by_name["exact.json"]["detail"]
    assert "symbolic link" in by_name["source.qevo.json"]["detail"]

    (target / "compiled.qevo.json").unlink()
    os.mkfifo(target / "compiled.qevo.json")
    res = cli("verify", target, "--json")
    assert res.seconds < SECONDS
    assert res.code == 1
    details = [c["detail"] for c in json.loads(res.out)["checks"]]
    assert any("not a regular file" in d for d in details)


def test_verify_passes_for_loadable_weird_files(
    corpus: Path, tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """Weird but valid inputs compile to every target that takes them and verify cleanly."""
    cases = (("labels_pathlike.json", "exact,dimod"), ("labels_unicode.json", "exact"))
    for name, targets in cases:
        out = tmp_path / name
        res = cli("compile", corpus / name, "--target", targets, "-o", out)
        assert res.code == 0, res.err
        res = cli("verify", out)
        assert res.code == 0, res.out
        assert "verified: every check passed" in res.out


# ----------------------------------------------------------------------------- subprocesses
SAMPLE = [
    ("inspect", "trunc_qevo_half.json"),
    ("inspect", "pickle_as_linear.npz"),
    ("inspect", "deep_list.json"),
    ("solve", "dimod_head_2e31.bqm.json"),
    ("solve", "huge_qevo_1e308.json"),
    ("convert", "nan_coo.coo"),
    ("compile", "qubo_wrong_ncouplers.qubo"),
    ("compile", "garbage_random.bin"),
]


@pytest.mark.parametrize(("verb", "name"), SAMPLE, ids=[f"{v}-{n}" for v, n in SAMPLE])
def test_real_process_exit_code_and_one_line(
    verb: str,
    name: str,
    corpus: Path,
    tmp_path: Path,
    entries: tuple[dict[str, Any], ...],
    qevo_proc: Callable[..., Any],
) -> None:
    entry = next(e for e in entries if e["file"] == name)
    path = corpus / name
    extra = {"convert": [str(tmp_path / "out.npz")], "compile": ["-o", str(tmp_path / "o")]}
    res = qevo_proc(verb, path, *extra.get(verb, []), timeout=30)
    res.assert_one_line_error(str(path), entry.get("compute_match") or entry["match"])
    assert res.out == ""
    assert list(tmp_path.iterdir()) == []


def test_valid_labels_are_data_never_paths(
    tmp_path: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Labels naming files next to (and above) the working folder are carried through every
    verb as data; no file of those names is ever created or read."""
    from qevo_ir import Hamiltonian, write_hamiltonian

    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    victims = [tmp_path / "victim", "../escape.txt", "report.json", "./bqm.json", str(work)]
    labels = [str(v) for v in victims]
    ham = Hamiltonian.from_ising(dict.fromkeys(labels, 0.5), {(labels[0], labels[1]): -1.0})
    src = tmp_path / "labelled.json"
    write_hamiltonian(ham, src)
    assert cli("inspect", src).code == 0
    assert cli("solve", src, "-o", tmp_path / "solved.json").code == 0
    assert cli("convert", src, tmp_path / "labelled.npz").code == 0
    assert cli("convert", src, tmp_path / "labelled.bqm.json").code == 0
    assert cli("compile", src, "--target", "exact,dimod", "-o", tmp_path / "out").code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["work", "labelled.json", "solved.json", "labelled.npz", "labelled.bqm.json", "out"]
    )
    assert list(work.iterdir()) == []
    assert read_hamiltonian(tmp_path / "labelled.npz").labels == ham.labels
    assert read_hamiltonian(tmp_path / "out" / "compiled.qevo.json").labels == ham.labels
    solved = json.loads((tmp_path / "solved.json").read_text())
    assert solved["labels"] == labels
