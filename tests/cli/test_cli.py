"""The ``qevo`` command line, in-process (fast) and once as a real subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qevo_ir import SPIN, Hamiltonian, read_hamiltonian, write_hamiltonian
from qevo_ir.cli.main import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ring(tmp_path: Path) -> Path:
    from qevo_ir.cli.commands.demo_cmd import demo_hamiltonian

    path = tmp_path / "ring.json"
    write_hamiltonian(demo_hamiltonian(), path)
    return path


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert "qevo 0." in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["compile", "--help"])
    assert "pipeline syntax" in capsys.readouterr().out


def test_inspect_json(capsys: pytest.CaptureFixture[str], ring: Path) -> None:
    code, out, _ = run(capsys, "inspect", str(ring), "--json")
    info = json.loads(out)
    assert code == 0
    assert info["num_variables"] == 10
    assert info["num_interactions"] == 20
    assert info["vartype"] == "SPIN"
    assert (info["format"], info["version"]) == ("qevo-inspect", 1)
    assert info["file_format"] == "qevo-json"
    assert info["dynamic_range_bits"] > 0


def test_solve_dimod_bqm_json_matches_dimod_exact_solver(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dimod = pytest.importorskip("dimod")
    rng = np.random.default_rng(5)
    n = 12
    h = {f"v{i}": float(rng.integers(-2, 3)) for i in range(n)}
    J = {
        (f"v{i}", f"v{j}"): float(rng.integers(-1, 2))
        for i in range(n)
        for j in range(i + 1, n)
        if rng.random() < 0.4
    }
    bqm = dimod.BinaryQuadraticModel.from_ising(h, J, 0.5)
    path = tmp_path / "problem.bqm.json"
    path.write_text(json.dumps(bqm.to_serializable(use_bytes=False)))
    code, out, _ = run(capsys, "solve", str(path), "--backend", "exact", "--json", "--all-samples")
    assert code == 0
    got = json.loads(out)
    ss = dimod.ExactSolver().sample(bqm)
    ground = ss.first.energy
    degeneracy = int(np.sum(np.isclose(ss.record.energy, ground, atol=1e-9)))
    assert got["ground_energy"] == pytest.approx(ground)
    assert got["degeneracy"] == degeneracy
    assert got["num_variables"] == n
    assert len(got["ground_states"]) == degeneracy
    ham = read_hamiltonian(path)
    for state in got["ground_states"]:
        assert ham.energy(np.array(state)) == pytest.approx(ground)


def test_solve_sampler_reports_exact_baseline(
    capsys: pytest.CaptureFixture[str], ring: Path
) -> None:
    pytest.importorskip("dimod")
    code, out, _ = run(capsys, "solve", str(ring), "--backend", "sa", "--seed", "3", "--json")
    got = json.loads(out)
    assert code == 0
    assert got["exact_ground_energy"] <= got["best_energy"] + 1e-9
    assert got["gap_to_exact"] == pytest.approx(got["best_energy"] - got["exact_ground_energy"])


def test_convert_round_trip(capsys: pytest.CaptureFixture[str], ring: Path, tmp_path: Path) -> None:
    out_npz = tmp_path / "ring.npz"
    assert run(capsys, "convert", str(ring), str(out_npz))[0] == 0
    assert read_hamiltonian(out_npz) == read_hamiltonian(ring)
    code, _, err = run(capsys, "convert", str(ring), str(out_npz))
    assert code == 2
    assert "--force" in err
    assert run(capsys, "convert", str(ring), str(out_npz), "--force")[0] == 0


def test_compile_all_then_verify_then_corrupt(
    capsys: pytest.CaptureFixture[str], ring: Path, tmp_path: Path
) -> None:
    pytest.importorskip("dimod")
    pytest.importorskip("qiskit")
    pytest.importorskip("cirq")
    out = tmp_path / "out"
    code, _, _ = run(
        capsys,
        "compile",
        str(ring),
        "--target",
        "all",
        "--layers",
        "2",
        "--pipeline",
        "gauge(seed=1) | sparsify(abs=0.05)",
        "-o",
        str(out),
    )
    assert code == 0
    for name in (
        "bqm.json",
        "bqm.coo",
        "qaoa.qasm",
        "qaoa.qpy",
        "qaoa.cirq.json",
        "exact.json",
        "report.json",
        "compiled.qevo.json",
    ):
        assert (out / name).is_file(), name
    report = json.loads((out / "report.json").read_text())
    assert [p["name"] for p in report["passes"]] == ["gauge", "sparsify"]
    assert report["passes"][0]["exact"] is True
    assert report["passes"][0]["energy_bound"] is None
    assert isinstance(report["passes"][1]["energy_bound"], float)
    assert report["variables"]["labels"][0] == "s0"
    assert set(report["artifacts"]) >= {"bqm.json", "qaoa.qpy"}
    code, outtext, _ = run(capsys, "verify", str(out))
    assert code == 0, outtext
    assert "FAIL" not in outtext
    # A deliberately corrupted BQM: one bias changed.
    doc = json.loads((out / "bqm.json").read_text())
    doc["linear_biases"][0] += 0.5
    (out / "bqm.json").write_text(json.dumps(doc))
    code, outtext, _ = run(capsys, "verify", str(out))
    assert code == 1
    assert "FAIL  bqm.json" in outtext
    assert "energy mismatch" in outtext


def test_existing_compile_needs_force(
    capsys: pytest.CaptureFixture[str], ring: Path, tmp_path: Path
) -> None:
    out = tmp_path / "o"
    assert run(capsys, "compile", str(ring), "-o", str(out))[0] == 0
    before = (out / "report.json").read_bytes()
    code, _, err = run(capsys, "compile", str(ring), "-o", str(out))
    assert code == 2
    assert "--force" in err
    assert (out / "report.json").read_bytes() == before


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["solve", "missing.json"], "missing.json"),
        (["compile", "{ring}", "--pipeline", "nope(x=1)", "-o", "{tmp}/o"], "unknown pass"),
        (["compile", "{ring}", "--pipeline", "sparsify(bogus=1)", "-o", "{tmp}/o"], "bogus"),
        (["solve", "{ring}", "--backend", "nosuch"], "nosuch"),
        (["compile", "{ring}", "--target", "nosuch", "-o", "{tmp}/o"], "nosuch"),
        (["solve", "{ring}", "--bogus-flag"], "unrecognized"),
    ],
)
def test_errors_are_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], ring: Path, tmp_path: Path, argv: list[str], needle: str
) -> None:
    args = [a.format(ring=ring, tmp=tmp_path) for a in argv]
    try:
        code = main(args)
    except SystemExit as exc:  # argparse usage errors
        code = int(exc.code or 0)
    _, err = capsys.readouterr()
    assert code == 2
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_exact_limit_is_immediate(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "big.npz"
    rows, cols = np.triu_indices(40, 1)
    dense = Hamiltonian(np.ones(40), rows, cols, np.ones(rows.size), vartype=SPIN)
    write_hamiltonian(dense, path)
    code, _, err = run(capsys, "solve", str(path), "--backend", "exact")
    assert code == 2
    assert "at most 34 variables" in err
    assert "width at least 39" in err
    assert "bytes" in err


def test_passes_and_backends_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "passes", "--json")
    doc = json.loads(out)
    assert (doc["format"], doc["version"]) == ("qevo-passes", 1)
    names = {p["name"] for p in doc["passes"]}
    assert code == 0
    assert {"quantize", "precision", "sparsify", "embed", "gauge", "fix", "components"} <= names
    code, out, _ = run(capsys, "backends", "--json")
    doc = json.loads(out)
    assert (doc["format"], doc["version"]) == ("qevo-backends", 1)
    rows = {r["name"]: r for r in doc["backends"]}
    assert rows["exact"]["available"] is True
    assert rows["exact"]["exact"] is True


def test_real_process_exit_code_and_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "qevo-ir", "version": 99}')
    proc = subprocess.run(
        [sys.executable, "-m", "qevo_ir.cli.main", "inspect", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("qevo: error: ")
    assert str(bad) in proc.stderr
    assert "Traceback" not in proc.stderr
