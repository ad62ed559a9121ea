"""The frictions of a new user's first hour (issue 14), each reproduced and now passing:
advice in the caller's language, limits that hold, names that forgive case and suggest,
solver options from the command line, JSON fit for scripts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import qevo_ir as q
from qevo_ir.cli.main import main
from qevo_ir.errors import LimitExceeded, PipelineError, ValidationError


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def ring(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "ring.json"
    assert run(capsys, "example", "ring10", "-o", str(path))[0] == 0
    return path


# ----------------------------------------------------------------- example files
def test_example_writes_the_quickstart_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, ring: Path
) -> None:
    from qevo_ir.cli.commands.demo_cmd import demo_hamiltonian

    assert q.read_hamiltonian(ring) == demo_hamiltonian()
    code, _, err = run(capsys, "example", "ring10", "-o", str(ring))
    assert code == 2
    assert "--force" in err
    code, out, _ = run(capsys, "example")
    assert code == 0
    assert "ring10" in out
    assert "petersen" in out
    code, _, err = run(capsys, "example", "ring11")
    assert code == 2
    assert "did you mean 'ring10'" in err
    # The shipped copy is the same problem.
    shipped = Path(__file__).resolve().parents[2] / "examples" / "ring10.qevo.json"
    assert q.read_hamiltonian(shipped) == demo_hamiltonian()


# ----------------------------------------------------------------- advice in the caller's words
def test_drop_labels_advice_cli_and_python(
    capsys: pytest.CaptureFixture[str], ring: Path, tmp_path: Path
) -> None:
    code, _, err = run(capsys, "convert", str(ring), str(tmp_path / "p.qubo"))
    assert code == 2
    assert "--drop-labels" in err
    assert "drop_labels=True" not in err
    with pytest.raises(q.FormatError) as exc:
        q.write_hamiltonian(q.read_hamiltonian(ring), tmp_path / "p.qubo")
    assert "drop_labels=True" in str(exc.value)
    assert "--drop-labels" not in str(exc.value)
    assert run(capsys, "convert", str(ring), str(tmp_path / "p.qubo"), "--drop-labels")[0] == 0


def test_force_advice_cli_and_python(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ham = q.Hamiltonian.from_ising({"a": 1.0}, {("a", "b"): -1.0})
    compiled = q.compile(ham, target="exact")
    compiled.write(tmp_path / "out")
    with pytest.raises(FileExistsError) as exc:
        compiled.write(tmp_path / "out")
    assert "force=True" in str(exc.value)
    assert "--force" not in str(exc.value)
    compiled.write(tmp_path / "out", force=True)  # the README's rerun
    src = tmp_path / "h.json"
    q.write_hamiltonian(ham, src)
    code, _, err = run(capsys, "compile", str(src), "-o", str(tmp_path / "out"))
    assert code == 2
    assert "--force" in err
    assert "force=True" not in err


# ----------------------------------------------------------------- limits that hold
def test_qaoa_on_2000_variables_exits_2_naming_the_limit(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rng = np.random.default_rng(0)
    n = 2000
    i = np.arange(n - 1)
    big = q.Hamiltonian(rng.normal(size=n), i, i + 1, rng.normal(size=n - 1), vartype="SPIN")
    path = tmp_path / "big.npz"
    q.write_hamiltonian(big, path)
    code, out, err = run(capsys, "solve", str(path), "--backend", "qaoa")
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "2000 qubits exceed the statevector limit of 26 qubits" in lines[0]
    assert "internal error" not in err


def test_statevector_message_does_not_overflow() -> None:
    from qevo_ir.qaoa import check_qubits

    for n in (1020, 2000, 100_000):
        with pytest.raises(ValueError, match=f"{n} qubits exceed"):
            check_qubits(n)


def test_fast_qaoa_refuses_27_qubits_at_once() -> None:
    ham = q.Hamiltonian(np.ones(27), vartype="SPIN")
    with pytest.raises(LimitExceeded, match="27 qubits exceed the statevector limit of 26"):
        q.solve(ham, "qaoa")


def test_fast_qaoa_memory_and_time_budgets() -> None:
    from qevo_ir.qaoa.limits import available_memory_bytes, check_fast_qaoa, fast_qaoa_bytes

    ham = q.Hamiltonian(np.ones(12), vartype="SPIN")
    with pytest.raises(LimitExceeded, match=r"over the max_bytes of .*\(1000 bytes\)"):
        q.solve(ham, "qaoa", max_bytes=1000)
    with pytest.raises(LimitExceeded, match=r"estimated to take .* over the limit of 1e-06 s"):
        q.solve(ham, "qaoa", max_seconds=1e-6)
    avail = available_memory_bytes()
    assert avail is None or avail > 0
    assert fast_qaoa_bytes(12) == 64 << 12
    figures = check_fast_qaoa(12, layers=1, restarts=1, optimize=True)
    assert figures["bytes"] == 64 << 12
    assert float(figures["estimated_seconds"] or 0) > 0
    res = q.solve(ham, "qaoa", layers=1, shots=64, seed=1, max_bytes=1 << 30)
    assert res.best_energy == pytest.approx(-12.0)


def test_fast_qaoa_refuses_unknown_options() -> None:
    ham = q.Hamiltonian(np.ones(3), vartype="SPIN")
    with pytest.raises(ValidationError, match="did you mean 'shots'"):
        q.solve(ham, "qaoa", shot=10)


# ----------------------------------------------------------------- names
def test_solver_names_case_insensitive_with_suggestions(
    capsys: pytest.CaptureFixture[str], ring: Path
) -> None:
    ham = q.read_hamiltonian(ring)
    assert q.solve(ham, "EXACT").info["ground_energy"] == q.solve(ham, "exact").best_energy
    with pytest.raises(ValidationError) as exc:
        q.solve(ham, "saa")
    msg = str(exc.value)
    assert "did you mean 'sa'" in msg
    for name in ("sa", "tabu", "steepest", "qaoa", "qaoa-qiskit", "exact", "dimod", "qiskit"):
        assert name in msg
    code, out, _ = run(capsys, "solve", str(ring), "--backend", "SA", "--seed", "1", "--json")
    assert code == 0
    assert json.loads(out)["backend"] == "sa"
    code, _, err = run(capsys, "solve", str(ring), "--backend", "tabuu")
    assert code == 2
    assert "did you mean 'tabu'" in err


def test_pass_and_format_names(tmp_path: Path, ring: Path) -> None:
    assert str(q.Pipeline.parse("SPARSIFY(REL=0.1)")) == "sparsify(rel=0.1)"
    with pytest.raises(PipelineError, match="did you mean 'sparsify'"):
        q.Pipeline.parse("sparsfy")
    with pytest.raises(PipelineError, match="did you mean 'rel'"):
        q.Pipeline.parse("sparsify(rell=1)")
    assert q.read_hamiltonian(ring, format="QEVO-JSON") == q.read_hamiltonian(ring)
    with pytest.raises(q.FormatError, match="did you mean 'qevo-json'"):
        q.read_hamiltonian(ring, format="qevo-jsn")


# ----------------------------------------------------------------- --option
def test_option_flags_reach_the_sampler(capsys: pytest.CaptureFixture[str], ring: Path) -> None:
    pytest.importorskip("dwave.samplers")
    code, out, _ = run(
        capsys, "solve", str(ring), "--backend", "sa", "--option", "num_sweeps=2000",
        "--option", "beta_range=0.1,5", "--seed", "2", "--json",
    )  # fmt: skip
    assert code == 0
    opts = json.loads(out)["info"]["options"]
    assert opts["num_sweeps"] == 2000
    assert opts["beta_range"] == [0.1, 5.0]


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("num_sweep=10", "did you mean 'num_sweeps'"),
        ("num_sweeps=2.5", "num_sweeps takes an integer"),
        ("beta_range=1", "two comma-separated numbers"),
        ("num_sweeps", "KEY=VALUE"),
    ],
)
def test_option_errors(
    capsys: pytest.CaptureFixture[str], ring: Path, option: str, expected: str
) -> None:
    code, _, err = run(capsys, "solve", str(ring), "--backend", "sa", "--option", option)
    assert code == 2
    assert expected in err
    if "did you mean" in expected:
        assert "beta_range (pair)" in err  # the accepted options are listed


def test_backends_lists_solvers_options_and_limits(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "backends", "--json")
    assert code == 0
    doc = json.loads(out)
    solvers = {s["name"]: s for s in doc["solvers"]}
    assert {"exact", "sa", "steepest", "tabu", "qaoa", "qaoa-qiskit", "qaoa-cirq"} <= set(solvers)
    assert "num_sweeps" in solvers["sa"]["options"]
    assert "max_bytes" in solvers["qaoa"]["options"]
    assert all(s["limits"] for s in solvers.values())
    code, out, _ = run(capsys, "backends")
    assert code == 0
    assert "None" not in out
    assert "qaoa  (core)" in out


# ----------------------------------------------------------------- JSON and numbers
def test_every_json_document_has_format_and_version(
    capsys: pytest.CaptureFixture[str], ring: Path, tmp_path: Path
) -> None:
    out_dir = tmp_path / "c"
    assert run(capsys, "compile", str(ring), "--target", "exact", "-o", str(out_dir))[0] == 0
    commands = {
        "qevo-inspect": ["inspect", str(ring), "--json"],
        "qevo-solve": ["solve", str(ring), "--json"],
        "qevo-verify": ["verify", str(out_dir), "--json"],
        "qevo-passes": ["passes", "--json"],
        "qevo-backends": ["backends", "--json"],
        "qevo-compile-report": ["compile", str(ring), "-o", str(out_dir), "--force", "--json"],
    }
    for kind, argv in commands.items():
        code, out, _ = run(capsys, *argv)
        assert code == 0, argv
        doc = json.loads(out)
        assert doc["format"] == kind, argv
        assert isinstance(doc["version"], int), argv


def test_solve_json_is_compact_by_default(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    pytest.importorskip("dwave.samplers")
    rng = np.random.default_rng(1)
    n = 300
    i = np.arange(n - 1)
    ham = q.Hamiltonian(rng.normal(size=n), i, i + 1, rng.normal(size=n - 1), vartype="SPIN")
    path = tmp_path / "p.npz"
    q.write_hamiltonian(ham, path)
    argv = ["solve", str(path), "--backend", "sa", "--num-reads", "50", "--seed", "1", "--json"]
    code, out, _ = run(capsys, *argv)
    doc = json.loads(out)
    assert code == 0
    assert len(doc["samples"]) == 5
    assert doc["samples_truncated"]
    assert sum(c["count"] for c in doc["energy_counts"]) == 50 == doc["num_reads"]
    assert len(out.splitlines()) < 200  # one line per assignment, not one per value
    code, out, _ = run(capsys, *argv, "--all-samples")
    assert len(json.loads(out)["samples"]) == json.loads(out)["num_distinct"]


def test_floats_exact_in_json_and_rounded_for_people(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    ham = q.Hamiltonian.from_ising({"a": -4.53, "b": -4.53, "c": 0.1 + 0.2}, {})
    path = tmp_path / "f.json"
    q.write_hamiltonian(ham, path)
    exact = q.solve(ham, "exact").info["ground_energy"]
    code, out, _ = run(capsys, "solve", str(path), "--json")
    assert json.loads(out)["ground_energy"] == exact  # repr: reads back bit for bit
    code, out, _ = run(capsys, "solve", str(path))
    assert code == 0
    assert repr(exact) not in out or len(repr(exact)) <= 12
    assert f"{exact:.10g}" in out


# ----------------------------------------------------------------- a fresh problem
def test_cost_diagonal_gemm_in_single_thread_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The diagonal of a problem up to 22 qubits is built from GEMMs small enough for BLAS to
    run on one thread (a threaded GEMM leaves worker threads spinning that slowed the next
    evaluation 2x); the result is the same product."""
    import qevo_ir.qaoa.diagonal as diagonal

    rng = np.random.default_rng(3)
    left, right = rng.normal(size=(1024, 12)), rng.normal(size=(12, 1024))
    shapes: list[tuple[int, ...]] = []
    real_matmul = np.matmul

    def spy(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        shapes.append(a.shape)
        return real_matmul(a, b, out=out)

    monkeypatch.setattr(diagonal.np, "matmul", spy)
    got = diagonal._product(left, right)
    monkeypatch.undo()
    assert np.allclose(got, left @ right)
    assert shapes
    assert all(rows * 12 * 1024 < diagonal._SINGLE_THREAD_GEMM for rows, _ in shapes)
    n = 12
    ham = q.Hamiltonian(rng.normal(size=n), [0, 1], [5, 9], [0.5, -1.0], vartype="SPIN")
    from qevo_ir.qaoa import cost_diagonal

    diag = cost_diagonal(ham.linear, ham.row, ham.col, ham.quad, ham.offset)
    bits = (np.arange(1 << n)[:, None] >> np.arange(n)) & 1
    assert np.allclose(diag, ham.energies((2 * bits - 1).astype(np.int8)))


def test_solver_option_names_suggest_in_python() -> None:
    pytest.importorskip("dwave.samplers")
    pytest.importorskip("qiskit")
    ham = q.Hamiltonian.from_ising({"a": 1.0}, {})
    with pytest.raises(ValidationError, match="did you mean 'num_sweeps'"):
        q.solve(ham, "sa", num_sweep=10)
    with pytest.raises(ValidationError, match="did you mean 'shots'"):
        q.solve(ham, "qaoa-qiskit", shot=10)
    res = q.solve(ham, "sa", num_sweeps=50, beta_range=(0.1, 5.0), seed=1, num_reads=4)
    assert res.info["options"]["num_sweeps"] == 50
