"""The Qiskit QAOA backend: phases, fast-path equality, cost operator, artifacts, solve, limits.

Run ``python tests/backends/test_qiskit_backend.py`` to time circuit emission against a
hand-written Qiskit loop (n = 20 dense, p = 3, and a larger case).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

qiskit = pytest.importorskip("qiskit")

from qiskit.circuit import ParameterVector, QuantumCircuit  # noqa: E402
from qiskit.quantum_info import SparsePauliOp, Statevector  # noqa: E402

import qevo_qiskit as qq  # noqa: E402
from qevo_ir import BINARY, SPIN, Hamiltonian  # noqa: E402
from qevo_ir.atomic import OutputExists  # noqa: E402
from qevo_ir.backend import Backend  # noqa: E402
from qevo_ir.conventions import basis_index_to_bits  # noqa: E402
from qevo_ir.errors import FormatError, LimitExceeded, ValidationError  # noqa: E402
from qevo_ir.qaoa import cost_diagonal, qaoa_expectation, qaoa_probabilities, qaoa_state  # noqa: E402
from qevo_ir.testing import hamiltonians  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BACKEND = qq.QiskitBackend()


# ----------------------------------------------------------------------------- helpers
def basis_energies(ham: Hamiltonian) -> npt.NDArray[np.float64]:
    """IR energy of the decoded assignment of every little-endian basis index."""
    n = ham.num_variables
    bits = basis_index_to_bits(np.arange(1 << n), n)
    samples = bits if ham.vartype is BINARY else 2 * bits - 1
    return ham.energies(samples)


def scale(ham: Hamiltonian) -> float:
    return 1.0 + float(np.abs(ham.linear).sum() + np.abs(ham.quad).sum() + abs(ham.offset))


def fast_diagonal(ham: Hamiltonian) -> npt.NDArray[np.float64]:
    spin = ham.to_spin()
    return cost_diagonal(spin.linear, spin.row, spin.col, spin.quad, spin.offset)


def assert_equal_up_to_phase(a: np.ndarray, b: np.ndarray, atol: float) -> None:
    overlap = np.vdot(b, a)
    phase = overlap / abs(overlap)
    np.testing.assert_allclose(a, phase * b, rtol=0, atol=atol)


def angles(p_min: int = 1, p_max: int = 3) -> st.SearchStrategy[tuple[list[float], list[float]]]:
    finite = st.floats(-1.5, 1.5, allow_nan=False)
    return st.integers(p_min, p_max).flatmap(
        lambda p: st.tuples(
            st.lists(finite, min_size=p, max_size=p), st.lists(finite, min_size=p, max_size=p)
        )
    )


def chain(n: int) -> Hamiltonian:
    idx = np.arange(n - 1)
    return Hamiltonian(np.full(n, 0.25), idx, idx + 1, np.ones(n - 1), 0.5, vartype=SPIN)


# ----------------------------------------------------------------------------- contract
def test_backend_protocol_and_capabilities() -> None:
    assert isinstance(BACKEND, Backend)
    caps = BACKEND.capabilities
    assert BACKEND.name == "qiskit"
    assert caps.vartypes == frozenset({SPIN})
    assert caps.max_variables == qq.MAX_SIMULATED_QUBITS == 26
    assert caps.samples
    assert not caps.exact
    assert caps.artifacts == ("qaoa.qasm", "qaoa.qpy")
    assert caps.extra == "qiskit"


def test_package_imports_without_qiskit_and_names_the_extra() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('qiskit', 'qiskit_aer', 'qiskit_qasm3_import'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import qevo_qiskit\n"
        "from qevo_ir import Hamiltonian\n"
        "from qevo_ir.errors import BackendUnavailable\n"
        "b = qevo_qiskit.QiskitBackend()\n"
        "assert 'qiskit' not in sys.modules\n"
        "try:\n"
        "    b.lower(Hamiltonian.from_ising({0: 1.0}, {}))\n"
        "except BackendUnavailable as e:\n"
        "    assert \"pip install 'qevo-ir[qiskit]'\" in str(e), e\n"
        "else:\n"
        "    raise SystemExit('no BackendUnavailable')\n"
    )
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'backends'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


# ----------------------------------------------------------------------------- lowering
def test_parameterised_circuit_shape_and_names() -> None:
    ham = Hamiltonian.from_ising({0: 0.5, 1: 0.0, 2: -1.0}, {(0, 1): 2.0, (1, 2): 0.0}, offset=1.5)
    qc = BACKEND.lower(ham, layers=3)
    assert isinstance(qc, QuantumCircuit)
    assert qc.num_qubits == 3
    assert qc.num_clbits == 0
    names = sorted(p.name for p in qc.parameters)
    assert names == [f"beta[{k}]" for k in range(3)] + [f"gamma[{k}]" for k in range(3)]
    ops = qc.count_ops()
    # zero terms are left out: 2 fields, 1 coupling per layer
    assert ops == {"h": 3, "rz": 6, "rzz": 3, "rx": 9}
    assert "measure" not in ops
    assert qc.global_phase.parameters == {p for p in qc.parameters if p.name.startswith("gamma")}


@settings(max_examples=25, deadline=None)
@given(hamiltonians(max_variables=6), angles())
def test_beta_zero_phases_are_minus_gamma_energy(
    ham: Hamiltonian, ang: tuple[list[float], list[float]]
) -> None:
    gammas, _ = ang
    p = len(gammas)
    sv = BACKEND.statevector(BACKEND.lower(ham, layers=p), gammas, np.zeros(p))
    n = ham.num_variables
    expected = np.exp(-1j * sum(gammas) * basis_energies(ham)) / np.sqrt(2.0**n)
    tol = 1e-9 * scale(ham) * (1 + sum(map(abs, gammas)))
    assert_equal_up_to_phase(sv, expected, tol)
    # Qiskit keeps the offset as the circuit's global phase: the phases are exact.
    np.testing.assert_allclose(sv, expected, rtol=0, atol=tol)


@settings(max_examples=25, deadline=None)
@given(hamiltonians(max_variables=6), angles())
def test_state_equals_fast_path(ham: Hamiltonian, ang: tuple[list[float], list[float]]) -> None:
    gammas, betas = ang
    sv = BACKEND.statevector(BACKEND.lower(ham, layers=len(gammas)), gammas, betas)
    ref = qaoa_state(fast_diagonal(ham), gammas, betas)
    tol = 1e-9 * scale(ham) * (1 + sum(map(abs, gammas)))
    assert_equal_up_to_phase(sv, ref, tol)
    np.testing.assert_allclose(sv, ref, rtol=0, atol=tol)  # no global phase is dropped
    bound = BACKEND.lower(ham, gammas=gammas, betas=betas)
    assert not bound.parameters
    np.testing.assert_allclose(BACKEND.statevector(bound), sv, rtol=0, atol=tol)


@settings(max_examples=25, deadline=None)
@given(hamiltonians(max_variables=6), angles())
def test_expectation_three_ways(ham: Hamiltonian, ang: tuple[list[float], list[float]]) -> None:
    gammas, betas = ang
    sv = BACKEND.statevector(BACKEND.lower(ham, gammas=gammas, betas=betas))
    energies = basis_energies(ham)
    from_state = float(np.abs(sv) ** 2 @ energies)
    op = BACKEND.cost_operator(ham)
    from_operator = Statevector(sv).expectation_value(op)
    fast = qaoa_expectation(fast_diagonal(ham), gammas, betas)
    tol = 1e-9 * scale(ham)
    assert abs(from_operator.imag) <= tol
    assert from_state == pytest.approx(from_operator.real, abs=tol)
    assert from_state == pytest.approx(fast, abs=tol)


@settings(max_examples=40, deadline=None)
@given(hamiltonians(max_variables=7))
def test_cost_operator_diagonal_is_the_ir_energy(ham: Hamiltonian) -> None:
    op = BACKEND.cost_operator(ham)
    assert isinstance(op, SparsePauliOp)
    assert op.num_qubits == ham.num_variables
    assert not op.paulis.x.any()  # diagonal: Z and I only
    n = ham.num_variables
    tol = 1e-12 * scale(ham)
    # ⟨b|Π Z|b⟩ = Π (1 - 2 x_i): evaluated from the Pauli table itself, for every basis state
    z_values = 1 - 2 * basis_index_to_bits(np.arange(1 << n), n).astype(np.int64)
    parity = np.prod(np.where(op.paulis.z[None, :, :], z_values[:, None, :], 1), axis=2)
    np.testing.assert_allclose(parity @ op.coeffs.real, basis_energies(ham), rtol=0, atol=tol)
    assert np.all(op.coeffs.imag == 0)
    if n:  # Qiskit's to_matrix gives 0 for a 0-qubit operator; the coefficient is right
        diag = np.asarray(op.to_matrix(sparse=True).diagonal())
        np.testing.assert_allclose(diag.real, basis_energies(ham), rtol=0, atol=tol)


def test_cost_operator_signs_and_little_endian_labels() -> None:
    ham = Hamiltonian(np.array([2.0, 0.0, 0.0]), [0], [2], [-3.0], 0.5, vartype=SPIN)
    op = BACKEND.cost_operator(ham)
    labels = dict(zip(op.paulis.to_labels(), op.coeffs.real, strict=True))
    # s = -z: h s_0 = -h Z_0 (qubit 0 is the rightmost label character); J s s = J Z Z
    assert labels == {"III": 0.5, "IIZ": -2.0, "ZIZ": -3.0}


def test_cost_operator_refuses_an_oversized_table() -> None:
    ham = chain(200)
    with pytest.raises(LimitExceeded, match=r"terms on 200 qubits needs about .*KiB.*max_bytes="):
        BACKEND.cost_operator(ham, max_bytes=1000)


def test_binary_ir_is_lowered_through_its_exact_spin_form() -> None:
    ham = Hamiltonian.from_qubo({(0, 0): -1.0, (1, 1): 2.0, (0, 1): 3.0}, offset=0.25)
    assert ham.vartype is BINARY
    spin = ham.to_spin()
    a = BACKEND.statevector(BACKEND.lower(ham, gammas=[0.4], betas=[0.3]))
    b = BACKEND.statevector(BACKEND.lower(spin, gammas=[0.4], betas=[0.3]))
    np.testing.assert_allclose(a, b, atol=1e-12)


# ----------------------------------------------------------------------------- artifacts
@settings(max_examples=10, deadline=None)
@given(hamiltonians(min_variables=1, max_variables=5), angles(1, 2))
def test_artifacts_read_back_to_the_same_state(
    tmp_path_factory: pytest.TempPathFactory,
    ham: Hamiltonian,
    ang: tuple[list[float], list[float]],
) -> None:
    gammas, betas = ang
    tol = 1e-9 * scale(ham) * (1 + sum(map(abs, gammas)))
    for bound in (True, False):
        folder = tmp_path_factory.mktemp("qiskit")
        qc = (
            BACKEND.lower(ham, gammas=gammas, betas=betas)
            if bound
            else BACKEND.lower(ham, layers=len(gammas))
        )
        ref = BACKEND.statevector(qc, gammas, betas)
        paths = BACKEND.write(qc, folder)
        assert [p.name for p in paths] == ["qaoa.qasm", "qaoa.qpy"]
        text = paths[0].read_text()
        assert text.startswith("OPENQASM 3")
        if not bound:
            assert "input float[64] _beta_0_;" in text  # gamma[k] -> _gamma_k_ likewise
        for path in paths:
            back = BACKEND.read_artifact(path)
            assert {p.name for p in back.parameters} == {p.name for p in qc.parameters}
            state = BACKEND.statevector(back, gammas, betas)
            assert_equal_up_to_phase(state, ref, tol)
        # QPY keeps the offset's global phase too
        np.testing.assert_allclose(
            BACKEND.statevector(BACKEND.read_artifact(paths[1]), gammas, betas), ref, atol=tol
        )


def test_write_refuses_existing_files_without_force(tmp_path: Path) -> None:
    qc = BACKEND.lower(chain(3))
    BACKEND.write(qc, tmp_path)
    with pytest.raises(OutputExists, match=r"qaoa\.qasm"):
        BACKEND.write(qc, tmp_path, force=False)
    assert BACKEND.write(qc, tmp_path, formats=["qpy"]) == [tmp_path / "qaoa.qpy"]
    with pytest.raises(ValidationError, match="unknown qiskit artifact format"):
        BACKEND.write(qc, tmp_path, formats=["qasm2"])
    with pytest.raises(ValidationError, match="QuantumCircuit"):
        BACKEND.write("not a circuit", tmp_path)


def test_read_artifact_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "qaoa.qasm"
    bad.write_text("OPENQASM 3.0;\nqubit[2] q;\nfoo q[0];\n")
    with pytest.raises(FormatError, match=r"qaoa\.qasm"):
        BACKEND.read_artifact(bad)
    other = tmp_path / "qaoa.txt"
    other.write_text("x")
    with pytest.raises(FormatError, match=r"\.qasm or \.qpy"):
        BACKEND.read_artifact(other)
    junk = tmp_path / "qaoa.qpy"
    junk.write_bytes(b"not qpy at all")
    with pytest.raises(FormatError, match=r"qaoa\.qpy"):
        BACKEND.read_artifact(junk)


# ----------------------------------------------------------------------------- statevector
def test_statevector_angle_errors() -> None:
    qc = BACKEND.lower(chain(3), layers=2)
    with pytest.raises(ValidationError, match="pass gammas= and betas="):
        BACKEND.statevector(qc)
    with pytest.raises(ValidationError, match=r"but only 1 (gammas|betas) were given"):
        BACKEND.statevector(qc, [0.1], [0.2])
    foreign = QuantumCircuit(1)
    foreign.rx(ParameterVector("theta", 1)[0], 0)
    with pytest.raises(ValidationError, match="not a QAOA angle"):
        BACKEND.statevector(foreign, [0.1], [0.2])


def test_measured_circuit_statevector_drops_final_measurements() -> None:
    qc = BACKEND.lower(chain(3), gammas=[0.3], betas=[0.2])
    measured = qc.measure_all(inplace=False)
    np.testing.assert_allclose(BACKEND.statevector(measured), BACKEND.statevector(qc), atol=1e-14)


# ----------------------------------------------------------------------------- solve
@pytest.mark.parametrize("simulator", ["aer", "statevector"])
@settings(max_examples=8, deadline=None)
@given(ham=hamiltonians(min_variables=1, max_variables=5), seed=st.integers(0, 2**31))
def test_solve_samples_carry_their_ir_energies(simulator: str, ham: Hamiltonian, seed: int) -> None:
    if simulator == "aer":
        pytest.importorskip("qiskit_aer")
    res = BACKEND.solve(
        ham, layers=1, shots=200, seed=seed, gammas=[0.3], betas=[0.4], simulator=simulator
    )
    assert res.vartype is ham.vartype
    assert res.variables.labels == ham.labels
    assert res.samples.shape[1] == ham.num_variables
    assert set(np.unique(res.samples)) <= set(ham.vartype.values)
    np.testing.assert_array_equal(res.energies, ham.energies(res.samples))
    assert int(res.num_occurrences.sum()) == 200
    assert res.info["gammas"] == [0.3]
    assert res.info["betas"] == [0.4]
    assert res.info["angles"] == "given"
    assert simulator.replace("statevector", "Statevector") in res.info["simulator"].replace(
        "qiskit-aer", "aer"
    )
    fast = qaoa_expectation(fast_diagonal(ham), [0.3], [0.4])
    assert res.info["expectation"] == pytest.approx(fast, abs=1e-12 * scale(ham))


@pytest.mark.parametrize("simulator", ["auto", "statevector"])
def test_solve_frequencies_match_the_fast_path_bit_order(simulator: str) -> None:
    # asymmetric fields make every basis state's probability distinct: a swapped bit order
    # or a flipped bit value would show up as a large deviation
    ham = Hamiltonian.from_ising({0: -0.9, 1: 0.35, 2: -0.15}, {(0, 1): 0.5, (1, 2): -0.2})
    g, b = [0.7], [0.35]
    shots = 20000
    res = BACKEND.solve(ham, shots=shots, seed=7, gammas=g, betas=b, simulator=simulator)
    probs = qaoa_probabilities(fast_diagonal(ham), g, b)
    seen = np.zeros(8)
    bits = (res.samples + 1) // 2
    seen[bits @ (1 << np.arange(3))] = res.num_occurrences / shots
    np.testing.assert_allclose(seen, probs, atol=0.015)


def test_solve_optimises_angles_and_is_seeded() -> None:
    ham = Hamiltonian.from_ising({0: -1.0, 1: 0.5}, {(0, 1): 1.0, (1, 2): -0.5}, offset=2.0)
    a = BACKEND.solve(ham, layers=2, shots=300, seed=3, restarts=1)
    b = BACKEND.solve(ham, layers=2, shots=300, seed=3, restarts=1)
    assert a.info["angles"] == "optimized"
    assert len(a.info["gammas"]) == 2
    assert a.info["expectation"] < float(np.mean(fast_diagonal(ham)))
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.num_occurrences, b.num_occurrences)


def test_solve_binary_ir_and_qubit_zero_is_variable_zero() -> None:
    # minimum of -2 x_a + 3 x_b (BINARY) is x_a = 1, x_b = 0: 'a' is qubit 0
    ham = Hamiltonian.from_qubo({("a", "a"): -2.0, ("b", "b"): 3.0})
    res = BACKEND.solve(ham, gammas=[np.pi / 4], betas=[np.pi / 8], shots=500, seed=1)
    assert res.vartype is BINARY
    assert res.variables.labels == ("a", "b")
    assert res.assignments(1)[0] == {"a": 1, "b": 0}


def test_solve_without_variables() -> None:
    ham = Hamiltonian.from_ising({}, {}, offset=1.25)
    res = BACKEND.solve(ham, gammas=[0.1], betas=[0.2], shots=10)
    assert res.samples.shape == (1, 0)
    assert res.energies.tolist() == [1.25]
    assert res.num_occurrences.tolist() == [10]


def test_solve_option_errors() -> None:
    ham = chain(3)
    with pytest.raises(ValidationError, match=r"unknown option\(s\) \['shot'\]"):
        BACKEND.solve(ham, shot=5)
    with pytest.raises(ValidationError, match="both gammas= and betas="):
        BACKEND.solve(ham, gammas=[0.1])
    with pytest.raises(ValidationError, match="layers=2 but 1 gammas"):
        BACKEND.solve(ham, layers=2, gammas=[0.1], betas=[0.1])
    with pytest.raises(ValidationError, match="optimize=False needs the angles"):
        BACKEND.solve(ham, optimize=False)
    with pytest.raises(ValidationError, match="shots must be"):
        BACKEND.solve(ham, shots=0)
    with pytest.raises(ValidationError, match="simulator must be one of"):
        BACKEND.solve(ham, simulator="gpu")
    with pytest.raises(ValidationError, match="finite"):
        BACKEND.lower(ham, gammas=[np.nan], betas=[0.0])
    with pytest.raises(ValidationError, match="unknown option"):
        BACKEND.lower(ham, depth=2)


def test_oversized_problem_is_refused_naming_qubits_and_memory() -> None:
    ham = chain(27)
    qc = BACKEND.lower(ham)  # lowering needs no statevector
    assert qc.num_qubits == 27
    with pytest.raises(LimitExceeded, match=r"27 qubits needs .*2\.0 GiB.*at most 26 qubits"):
        BACKEND.solve(ham, gammas=[0.1], betas=[0.1])
    with pytest.raises(LimitExceeded, match=r"27 qubits .*GiB"):
        BACKEND.statevector(qc, [0.1], [0.1])


# ----------------------------------------------------------------------------- emission
def reference_circuit(ham: Hamiltonian, p: int) -> QuantumCircuit:
    """The same circuit written by hand the ordinary way (qc.rz / qc.rzz / qc.rx)."""
    spin = ham.to_spin()
    gamma, beta = ParameterVector("gamma", p), ParameterVector("beta", p)
    qc = QuantumCircuit(spin.num_variables)
    qc.h(range(spin.num_variables))
    for k in range(p):
        for i, h in enumerate(spin.linear):
            if h:
                qc.rz(-2 * h * gamma[k], i)
        for i, j, J in zip(spin.row, spin.col, spin.quad, strict=True):
            if J:
                qc.rzz(2 * J * gamma[k], int(i), int(j))
        qc.rx(2 * beta[k], range(spin.num_variables))
        qc.global_phase -= gamma[k] * spin.offset
    return qc


def dense(n: int, seed: int = 0) -> Hamiltonian:
    rng = np.random.default_rng(seed)
    row, col = np.triu_indices(n, 1)
    return Hamiltonian(rng.normal(size=n), row, col, rng.normal(size=row.size), 0.3, vartype=SPIN)


def test_circuit_matches_the_hand_written_reference() -> None:
    ham = dense(6)
    g, b = [0.2, -0.4], [0.3, 0.1]
    ours = BACKEND.statevector(BACKEND.lower(ham, layers=2), g, b)
    ref = reference_circuit(ham, 2)
    theirs = Statevector(ref.assign_parameters(dict(zip(ref.parameters, b + g, strict=True))))
    np.testing.assert_allclose(ours, theirs.data, atol=1e-12)
    assert BACKEND.lower(ham, layers=2).count_ops() == ref.count_ops()


def _best_time(fn: object, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    for n, reps in ((20, 20), (200, 3)):
        ham, p = dense(n), 3
        ours = _best_time(lambda: BACKEND.lower(ham, layers=p), reps)  # noqa: B023
        ref = _best_time(lambda: reference_circuit(ham, p), reps)  # noqa: B023
        print(
            f"qiskit n={n} dense p={p}: qevo {ours * 1e3:.2f} ms, hand-written {ref * 1e3:.2f} ms, "
            f"ratio {ours / ref:.2f}"
        )
