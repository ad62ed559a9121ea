"""The Cirq QAOA backend: moments, phases, Qiskit/fast-path equality, PauliSum, JSON, solve.

Run ``python tests/backends/test_cirq_backend.py`` to time circuit emission against a
hand-written Cirq loop (n = 20 dense, p = 3, and a larger case).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

cirq = pytest.importorskip("cirq")

import sympy  # noqa: E402

import qevo_cirq as qc  # noqa: E402
from qevo_cirq.colouring import (  # noqa: E402
    edge_colouring,
    first_fit_colouring,
    round_robin_colouring,
)
from qevo_ir import BINARY, SPIN, Hamiltonian  # noqa: E402
from qevo_ir.atomic import OutputExists  # noqa: E402
from qevo_ir.backend import Backend  # noqa: E402
from qevo_ir.conventions import basis_index_to_bits, reverse_qubit_order  # noqa: E402
from qevo_ir.errors import FormatError, LimitExceeded, ValidationError  # noqa: E402
from qevo_ir.qaoa import cost_diagonal, qaoa_expectation, qaoa_probabilities, qaoa_state  # noqa: E402
from qevo_ir.testing import hamiltonians  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
BACKEND = qc.CirqBackend()


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


def tolerance(ham: Hamiltonian, gammas: list[float]) -> float:
    return 1e-9 * scale(ham) * (1 + sum(map(abs, gammas)))


def chain(n: int) -> Hamiltonian:
    idx = np.arange(n - 1)
    return Hamiltonian(np.full(n, 0.25), idx, idx + 1, np.ones(n - 1), 0.5, vartype=SPIN)


def dense(n: int, seed: int = 0) -> Hamiltonian:
    rng = np.random.default_rng(seed)
    row, col = np.triu_indices(n, 1)
    return Hamiltonian(rng.normal(size=n), row, col, rng.normal(size=row.size), 0.3, vartype=SPIN)


# ----------------------------------------------------------------------------- contract
def test_backend_protocol_and_capabilities() -> None:
    assert isinstance(BACKEND, Backend)
    caps = BACKEND.capabilities
    assert BACKEND.name == "cirq"
    assert caps.vartypes == frozenset({SPIN})
    assert caps.max_variables == 26
    assert caps.samples
    assert not caps.exact
    assert caps.artifacts == ("qaoa.cirq.json",)
    assert caps.extra == "cirq"


def test_package_imports_without_cirq_and_names_the_extra() -> None:
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('cirq', 'qiskit'):\n"
        "            raise ImportError('blocked ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import qevo_cirq\n"
        "from qevo_ir import Hamiltonian\n"
        "from qevo_ir.errors import BackendUnavailable\n"
        "b = qevo_cirq.CirqBackend()\n"
        "assert 'cirq' not in sys.modules\n"
        "try:\n"
        "    b.lower(Hamiltonian.from_ising({0: 1.0}, {}))\n"
        "except BackendUnavailable as e:\n"
        "    assert \"pip install 'qevo-ir[cirq]'\" in str(e), e\n"
        "else:\n"
        "    raise SystemExit('no BackendUnavailable')\n"
    )
    env = {"PYTHONPATH": f"{ROOT}:{ROOT / 'backends'}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr


# ----------------------------------------------------------------------------- colouring
@st.composite
def graphs(draw: st.DrawFn) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], int]:
    n = draw(st.integers(2, 40))
    row, col = np.triu_indices(n, 1)
    keep = np.array(draw(st.lists(st.booleans(), min_size=row.size, max_size=row.size)))
    return row[keep].astype(np.int64), col[keep].astype(np.int64), n


def assert_proper(row: np.ndarray, col: np.ndarray, colours: np.ndarray) -> None:
    ends = np.concatenate((row, col))
    both = np.concatenate((colours, colours))
    pairs = np.unique(np.stack((ends, both), axis=1), axis=0)
    assert len(pairs) == len(ends), "two edges of one colour share a vertex"


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_edge_colourings_are_proper_and_small(graph: tuple[Any, Any, int]) -> None:
    row, col, n = graph
    for colours in (round_robin_colouring(row, col, n), first_fit_colouring(row, col, n)):
        assert_proper(row, col, colours)
    colours, count = edge_colouring(row, col, n)
    assert_proper(row, col, colours)
    if row.size:
        delta = int(np.bincount(np.concatenate((row, col))).max())
        assert sorted(set(colours.tolist())) == list(range(count))
        assert delta <= count <= max(2 * delta - 1, delta + 1)
    else:
        assert count == 0


@pytest.mark.parametrize("n", [2, 3, 4, 9, 10, 31])
def test_dense_colouring_is_optimal(n: int) -> None:
    row, col = np.triu_indices(n, 1)
    _, count = edge_colouring(row, col, n)
    assert count == (n - 1 if n % 2 == 0 else n)  # the chromatic index of K_n


# ----------------------------------------------------------------------------- lowering
def test_circuit_is_built_moment_by_moment_with_symbols() -> None:
    ham = Hamiltonian.from_ising(
        {0: 0.5, 1: 0.0, 2: -1.0, 3: 0.2}, {(0, 1): 2.0, (2, 3): 1.0, (1, 2): 0.5, (0, 3): 0.0}
    )
    circuit = BACKEND.lower(ham, layers=2)
    assert isinstance(circuit, cirq.Circuit)
    assert sorted(circuit.all_qubits()) == cirq.LineQubit.range(4)
    assert cirq.parameter_names(circuit) == {"gamma_0", "gamma_1", "beta_0", "beta_1"}
    _, colours = edge_colouring([0, 2, 1], [1, 3, 2], 4)
    assert colours == 2
    # H, then per layer: one RZ moment, the ZZ colour classes, one RX moment
    assert len(circuit) == 1 + 2 * (1 + colours + 1)
    kinds = [{type(op.gate).__name__ for op in moment.operations} for moment in circuit.moments]
    assert kinds[:5] == [{"HPowGate"}, {"ZPowGate"}, {"ZZPowGate"}, {"ZZPowGate"}, {"Rx"}]
    assert sum(len(m) for m in circuit.moments[2:4]) == 3  # zero couplings are left out
    assert not circuit.has_measurements()


@settings(max_examples=25, deadline=None)
@given(hamiltonians(max_variables=6), angles())
def test_beta_zero_phases_are_minus_gamma_energy(
    ham: Hamiltonian, ang: tuple[list[float], list[float]]
) -> None:
    gammas, _ = ang
    p = len(gammas)
    sv = BACKEND.statevector(BACKEND.lower(ham, layers=p), gammas, np.zeros(p))
    expected = np.exp(-1j * sum(gammas) * basis_energies(ham)) / np.sqrt(2.0**ham.num_variables)
    assert_equal_up_to_phase(sv, expected, tolerance(ham, gammas))
    # The one global phase Cirq drops is the offset's: exp(-i Σγ · offset).
    phase = np.exp(-1j * sum(gammas) * ham.to_spin().offset)
    np.testing.assert_allclose(phase * sv, expected, rtol=0, atol=tolerance(ham, gammas))


@settings(max_examples=25, deadline=None)
@given(hamiltonians(max_variables=6), angles())
def test_state_equals_fast_path_and_qiskit(
    ham: Hamiltonian, ang: tuple[list[float], list[float]]
) -> None:
    gammas, betas = ang
    tol = tolerance(ham, gammas)
    sv = BACKEND.statevector(BACKEND.lower(ham, layers=len(gammas)), gammas, betas)
    assert sv.dtype == np.complex128
    ref = qaoa_state(fast_diagonal(ham), gammas, betas)
    assert_equal_up_to_phase(sv, ref, tol)
    bound = BACKEND.lower(ham, gammas=gammas, betas=betas)
    assert not cirq.is_parameterized(bound)
    np.testing.assert_allclose(BACKEND.statevector(bound), sv, rtol=0, atol=tol)
    pytest.importorskip("qiskit")
    import qevo_qiskit

    qiskit_backend = qevo_qiskit.QiskitBackend()
    other = qiskit_backend.statevector(qiskit_backend.lower(ham, layers=len(gammas)), gammas, betas)
    assert_equal_up_to_phase(sv, other, tol)


@settings(max_examples=25, deadline=None)
@given(hamiltonians(min_variables=1, max_variables=6), angles())
def test_expectation_three_ways(ham: Hamiltonian, ang: tuple[list[float], list[float]]) -> None:
    gammas, betas = ang
    sv = BACKEND.statevector(BACKEND.lower(ham, gammas=gammas, betas=betas))
    n = ham.num_variables
    from_state = float(np.abs(sv) ** 2 @ basis_energies(ham))
    psum = BACKEND.cost_operator(ham)
    qubits = cirq.LineQubit.range(n)
    big_endian = reverse_qubit_order(sv, n)  # Cirq's state order
    from_operator = psum.expectation_from_state_vector(
        big_endian, {q: i for i, q in enumerate(qubits)}
    )
    fast = qaoa_expectation(fast_diagonal(ham), gammas, betas)
    tol = 1e-9 * scale(ham)
    assert from_state == pytest.approx(fast, abs=tol)
    assert abs(from_operator.imag) <= tol
    assert from_state == pytest.approx(from_operator.real, abs=tol)


@settings(max_examples=40, deadline=None)
@given(hamiltonians(min_variables=1, max_variables=6))
def test_cost_operator_diagonal_is_the_ir_energy(ham: Hamiltonian) -> None:
    psum = BACKEND.cost_operator(ham)
    assert isinstance(psum, cirq.PauliSum)
    n = ham.num_variables
    qubits = cirq.LineQubit.range(n)
    matrix = psum.matrix(qubits)
    assert np.count_nonzero(matrix - np.diag(np.diag(matrix))) == 0
    diag = reverse_qubit_order(np.diag(matrix).copy(), n)  # Cirq's matrix is big-endian
    np.testing.assert_allclose(diag.real, basis_energies(ham), rtol=0, atol=1e-12 * scale(ham))


def test_cost_operator_signs() -> None:
    ham = Hamiltonian(np.array([2.0, 0.0, 0.0]), [0], [2], [-3.0], 0.5, vartype=SPIN)
    q = cirq.LineQubit.range(3)
    expected = 0.5 * cirq.PauliString() - 2.0 * cirq.Z(q[0]) - 3.0 * cirq.Z(q[0]) * cirq.Z(q[2])
    assert BACKEND.cost_operator(ham) == expected


def test_cost_operator_refuses_oversized() -> None:
    with pytest.raises(LimitExceeded, match=r"400 terms on 200 qubits needs about .*max_bytes="):
        BACKEND.cost_operator(chain(200), max_bytes=10_000)


# ----------------------------------------------------------------------------- artifacts
@settings(max_examples=10, deadline=None)
@given(hamiltonians(min_variables=1, max_variables=5), angles(1, 2))
def test_json_reads_back_to_the_same_circuit_and_state(
    tmp_path_factory: pytest.TempPathFactory,
    ham: Hamiltonian,
    ang: tuple[list[float], list[float]],
) -> None:
    gammas, betas = ang
    for circuit in (
        BACKEND.lower(ham, gammas=gammas, betas=betas),
        BACKEND.lower(ham, layers=len(gammas)),
    ):
        folder = tmp_path_factory.mktemp("cirq")
        (path,) = BACKEND.write(circuit, folder)
        assert path.name == "qaoa.cirq.json"
        back = BACKEND.read_artifact(path)
        assert back == circuit
        np.testing.assert_allclose(
            BACKEND.statevector(back, gammas, betas),
            BACKEND.statevector(circuit, gammas, betas),
            rtol=0,
            atol=tolerance(ham, gammas),
        )


def test_symbolic_exponents_equal_sympys_own_products() -> None:
    circuit = BACKEND.lower(dense(4), layers=1)
    gamma = sympy.Symbol("gamma_0")
    for moment in circuit.moments[1:-1]:
        for op in moment.operations:
            gate: Any = op.gate
            exponent = gate.exponent
            coefficient = float(exponent.coeff(gamma))
            assert exponent == sympy.Float(coefficient) * gamma
            assert hash(exponent) == hash(sympy.Float(coefficient) * gamma)


def test_write_and_read_errors(tmp_path: Path) -> None:
    circuit = BACKEND.lower(chain(3))
    BACKEND.write(circuit, tmp_path)
    with pytest.raises(OutputExists, match=r"qaoa\.cirq\.json"):
        BACKEND.write(circuit, tmp_path, force=False)
    with pytest.raises(ValidationError, match="unknown cirq artifact format"):
        BACKEND.write(circuit, tmp_path, formats=["qasm"])
    with pytest.raises(ValidationError, match=r"cirq\.Circuit"):
        BACKEND.write([1, 2], tmp_path)
    not_circuit = tmp_path / "qubit.json"
    not_circuit.write_text(cirq.to_json(cirq.LineQubit(3)))
    with pytest.raises(FormatError, match=r"qubit\.json: expected a cirq\.Circuit"):
        BACKEND.read_artifact(not_circuit)
    broken = tmp_path / "broken.json"
    broken.write_text('{"cirq_type": "NoSuchType"}')
    with pytest.raises(FormatError, match=r"broken\.json"):
        BACKEND.read_artifact(broken)
    with pytest.raises(FormatError, match=r"expected a \.json file"):
        BACKEND.read_artifact(tmp_path / "qaoa.qasm")


# ----------------------------------------------------------------------------- statevector
def test_statevector_errors_and_measurements() -> None:
    circuit = BACKEND.lower(chain(3), layers=2)
    with pytest.raises(ValidationError, match="pass gammas= and betas="):
        BACKEND.statevector(circuit)
    with pytest.raises(ValidationError, match=r"but only 1 (gammas|betas) were given"):
        BACKEND.statevector(circuit, [0.1], [0.2])
    theta = cirq.Circuit(cirq.rx(sympy.Symbol("theta")).on(cirq.LineQubit(0)))
    with pytest.raises(ValidationError, match="not a QAOA angle"):
        BACKEND.statevector(theta, [0.1], [0.2])
    grid = cirq.Circuit(cirq.H(cirq.GridQubit(0, 0)))
    with pytest.raises(ValidationError, match="LineQubit"):
        BACKEND.statevector(grid)
    bound = BACKEND.lower(chain(3), gammas=[0.3], betas=[0.2])
    measured = bound + cirq.Moment([cirq.measure(*cirq.LineQubit.range(3), key="m")])
    np.testing.assert_allclose(BACKEND.statevector(measured), BACKEND.statevector(bound))


# ----------------------------------------------------------------------------- solve
@settings(max_examples=8, deadline=None)
@given(ham=hamiltonians(min_variables=1, max_variables=5), seed=st.integers(0, 2**31))
def test_solve_samples_carry_their_ir_energies(ham: Hamiltonian, seed: int) -> None:
    res = BACKEND.solve(ham, shots=200, seed=seed, gammas=[0.3], betas=[0.4])
    assert res.vartype is ham.vartype
    assert res.variables.labels == ham.labels
    assert set(np.unique(res.samples)) <= set(ham.vartype.values)
    np.testing.assert_array_equal(res.energies, ham.energies(res.samples))
    assert int(res.num_occurrences.sum()) == 200
    assert res.info["simulator"].startswith("cirq.Simulator")
    fast = qaoa_expectation(fast_diagonal(ham), [0.3], [0.4])
    assert res.info["expectation"] == pytest.approx(fast, abs=1e-12 * scale(ham))


def test_solve_frequencies_match_the_fast_path_bit_order() -> None:
    ham = Hamiltonian.from_ising({0: -0.9, 1: 0.35, 2: -0.15}, {(0, 1): 0.5, (1, 2): -0.2})
    g, b = [0.7], [0.35]
    shots = 20000
    res = BACKEND.solve(ham, shots=shots, seed=7, gammas=g, betas=b)
    probs = qaoa_probabilities(fast_diagonal(ham), g, b)
    seen = np.zeros(8)
    bits = (res.samples + 1) // 2
    seen[bits @ (1 << np.arange(3))] = res.num_occurrences / shots
    np.testing.assert_allclose(seen, probs, atol=0.015)


def test_solve_optimises_angles_seeded_and_binary() -> None:
    ham = Hamiltonian.from_qubo({("a", "a"): -2.0, ("b", "b"): 3.0, ("a", "b"): 0.5})
    a = BACKEND.solve(ham, layers=2, shots=300, seed=11, restarts=1)
    b = BACKEND.solve(ham, layers=2, shots=300, seed=11, restarts=1)
    assert a.info["angles"] == "optimized"
    assert len(a.info["betas"]) == 2
    assert a.vartype is BINARY
    assert a.variables.labels == ("a", "b")
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.num_occurrences, b.num_occurrences)
    assert a.assignments(1)[0] == {"a": 1, "b": 0}


def test_solve_without_variables_and_option_errors() -> None:
    res = BACKEND.solve(Hamiltonian.from_ising({}, {}, offset=-2.0), gammas=[0.1], betas=[0.2])
    assert res.samples.shape == (1, 0)
    assert res.energies.tolist() == [-2.0]
    with pytest.raises(ValidationError, match="unknown option"):
        BACKEND.solve(chain(2), repetitions=3)
    with pytest.raises(ValidationError, match="simulator must be one of"):
        BACKEND.solve(chain(2), simulator="aer")
    with pytest.raises(ValidationError, match="seed must be"):
        BACKEND.solve(chain(2), seed=-1)


def test_oversized_problem_is_refused_naming_qubits_and_memory() -> None:
    ham = chain(27)
    circuit = BACKEND.lower(ham)
    assert len(circuit.all_qubits()) == 27
    with pytest.raises(LimitExceeded, match=r"27 qubits needs .*2\.0 GiB.*at most 26 qubits"):
        BACKEND.solve(ham, gammas=[0.1], betas=[0.1])
    with pytest.raises(LimitExceeded, match=r"27 qubits .*GiB"):
        BACKEND.statevector(circuit, [0.1], [0.1])


# ----------------------------------------------------------------------------- emission
def reference_circuit(ham: Hamiltonian, p: int) -> Any:
    """The same moments written by hand the ordinary way (cirq.rz, sympy products)."""
    spin = ham.to_spin()
    n = spin.num_variables
    q = cirq.LineQubit.range(n)
    colours, count = edge_colouring(spin.row, spin.col, n)
    moments = [cirq.Moment(cirq.H.on_each(*q))]
    for k in range(p):
        gamma, beta = sympy.Symbol(f"gamma_{k}"), sympy.Symbol(f"beta_{k}")
        moments.append(
            cirq.Moment(cirq.rz(-2 * gamma * h).on(q[i]) for i, h in enumerate(spin.linear) if h)
        )
        buckets: list[list[Any]] = [[] for _ in range(count)]
        for e, (i, j, J) in enumerate(zip(spin.row, spin.col, spin.quad, strict=True)):
            gate = cirq.ZZPowGate(exponent=2 * gamma * J / sympy.pi, global_shift=-0.5)
            buckets[colours[e]].append(gate.on(q[i], q[j]))
        moments.extend(cirq.Moment(ops) for ops in buckets)
        moments.append(cirq.Moment(cirq.rx(2 * beta).on_each(*q)))
    return cirq.Circuit(moments)


def test_circuit_matches_the_hand_written_reference() -> None:
    ham = dense(5)
    g, b = [0.2, -0.4], [0.3, 0.1]
    ours = BACKEND.lower(ham, layers=2)
    ref = reference_circuit(ham, 2)
    assert len(ours) == len(ref)
    resolver = cirq.ParamResolver({"gamma_0": 0.2, "gamma_1": -0.4, "beta_0": 0.3, "beta_1": 0.1})
    theirs = cirq.Simulator(dtype=np.complex128).simulate(ref, resolver).final_state_vector
    expected: Any = reverse_qubit_order(theirs, 5)
    np.testing.assert_allclose(BACKEND.statevector(ours, g, b), expected, atol=1e-12)


def _best_time(fn: Any, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


if __name__ == "__main__":
    for n, reps in ((20, 5), (60, 2)):
        ham, p = dense(n), 3
        ours = _best_time(lambda: BACKEND.lower(ham, layers=p), reps)  # noqa: B023
        ref = _best_time(lambda: reference_circuit(ham, p), reps)  # noqa: B023
        print(
            f"cirq n={n} dense p={p}: qevo {ours * 1e3:.1f} ms, hand-written {ref * 1e3:.1f} ms, "
            f"ratio {ours / ref:.2f}"
        )
