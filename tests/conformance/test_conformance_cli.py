"""End to end through the command line: ``qevo compile --target all`` then ``qevo verify`` passes,
and a corrupted artifact makes ``qevo verify`` exit 1 naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from qevo_ir.cli.main import main
from qevo_ir.formats import read_hamiltonian
from qevo_ir.plugins import get_backend

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ring10.qevo.json"


def _failures(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("FAIL")]


def test_example_is_the_demo_hamiltonian() -> None:
    from qevo_ir.cli.commands.demo_cmd import demo_hamiltonian

    assert read_hamiltonian(EXAMPLE) == demo_hamiltonian()


def test_compile_all_then_verify_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    assert main(["compile", str(EXAMPLE), "--target", "all", "--layers", "2", "-o", str(out)]) == 0
    written = capsys.readouterr().out
    for name in ("exact", "dimod", "qiskit", "cirq"):
        assert name in written  # every built-in target was compiled (or listed as skipped)
    assert main(["verify", str(out)]) == 0
    report = capsys.readouterr().out
    assert _failures(report) == []
    assert "verified: every check passed" in report
    for name in ("bqm.json", "bqm.coo", "qaoa.qasm", "qaoa.qpy", "qaoa.cirq.json", "exact.json"):
        if (out / name).exists():
            assert any(name in line and "sha256" not in line for line in report.splitlines())


def test_a_corrupted_artifact_fails_verify_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    get_backend("dimod")  # the corrupted file is a dimod artifact
    out = tmp_path / "out"
    assert main(["compile", str(EXAMPLE), "--target", "dimod,exact", "-o", str(out)]) == 0
    coo = out / "bqm.coo"
    text = coo.read_text(encoding="utf-8")
    assert "\n0 1 1.0\n" in text
    coo.write_text(text.replace("\n0 1 1.0\n", "\n0 1 1.5\n"), encoding="utf-8")  # J_{s0,s1}
    capsys.readouterr()
    assert main(["verify", str(out)]) == 1
    report = capsys.readouterr().out
    failures = _failures(report)
    assert failures, report
    assert all("bqm.coo" in line for line in failures), failures
    assert any("energies" in line and "mismatch" in line for line in failures), failures
    assert "verification FAILED" in report
