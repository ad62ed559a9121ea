"""Ecosystem objects in and out: dimod SampleSets and samplers, Qiskit SamplerV2 and Cirq
samplers running the compiled QAOA circuit, measured circuits, the binding helper, and the
top-level operator conversions."""

from __future__ import annotations

import numpy as np
import pytest

import qevo_ir as q
from qevo_ir.errors import ValidationError
from qevo_ir.qaoa import cost_diagonal, qaoa_probabilities


@pytest.fixture
def ham() -> q.Hamiltonian:
    return q.Hamiltonian.from_ising(
        {"a": 1.0, "b": -0.5}, {("a", "b"): 0.75, ("b", "c"): -1.0, ("a", "c"): 0.25}
    )


def _exact_distribution(ham: q.Hamiltonian, g: list[float], b: list[float]) -> dict[tuple, float]:
    spin = ham.to_spin()
    diag = cost_diagonal(spin.linear, spin.row, spin.col, spin.quad, spin.offset)
    probs = qaoa_probabilities(diag, g, b)
    n = ham.num_variables
    out = {}
    for idx, pr in enumerate(probs):
        bits = [(idx >> i) & 1 for i in range(n)]
        out[tuple(2 * x - 1 for x in bits)] = float(pr)
    return out


def _tv_distance(res: q.SampleResult, exact: dict[tuple, float]) -> float:
    total = res.num_occurrences.sum()
    got = {
        tuple(map(int, s)): c / total
        for s, c in zip(res.samples, res.num_occurrences, strict=False)
    }
    keys = set(got) | set(exact)
    return 0.5 * sum(abs(got.get(k, 0.0) - exact.get(k, 0.0)) for k in keys)


# ----------------------------------------------------------------- dimod
def test_sampleset_round_trip(ham: q.Hamiltonian) -> None:
    dimod = pytest.importorskip("dimod")
    res = q.solve(ham, "exact")
    ss = res.to_sampleset()
    assert isinstance(ss, dimod.SampleSet)
    assert list(ss.variables) == ["a", "b", "c"]
    bqm = q.to_bqm(ham)
    assert np.allclose(bqm.energies(ss), ss.record.energy)
    back = q.SampleResult.from_sampleset(ss)
    assert back.variables.labels == ham.labels
    assert np.array_equal(back.samples, res.samples)
    assert np.array_equal(back.energies, res.energies)
    # from any sampler's sample set, columns matched by label, energies from the IR
    shuffled = dimod.ExactSolver().sample(bqm.relabel_variables({"a": "a"}, inplace=False))
    decoded = q.SampleResult.from_sampleset(shuffled, ham)
    assert len(decoded) == 8
    assert np.allclose(decoded.energies, ham.energies(decoded.samples))
    binary = q.SampleResult.from_sampleset(ss, ham.to_binary())
    assert binary.best_energy == pytest.approx(res.best_energy)


def test_any_dimod_sampler_instance(ham: q.Hamiltonian) -> None:
    dimod = pytest.importorskip("dimod")
    samplers = pytest.importorskip("dwave.samplers")
    res = q.solve(ham, "dimod", sampler=dimod.ExactSolver())
    assert len(res) == 8
    assert res.best_energy == q.solve(ham, "exact").best_energy
    composite = dimod.TruncateComposite(samplers.SimulatedAnnealingSampler(), 3)
    res = q.solve(ham, "dimod", sampler=composite, num_reads=20, seed=4)
    assert int(res.num_occurrences.sum()) == 3
    assert res.variables.labels == ham.labels
    with pytest.raises(ValidationError, match="does not accept option"):
        q.solve(ham, "dimod", sampler=dimod.ExactSolver(), num_reads=5)
    with pytest.raises(ValidationError, match="dimod Sampler instance"):
        q.solve(ham, "dimod", sampler=object())


# ----------------------------------------------------------------- Qiskit and Cirq samplers
def test_qiskit_sampler_v2_runs_the_circuit(ham: q.Hamiltonian) -> None:
    primitives = pytest.importorskip("qiskit.primitives")
    g, b = [0.4, 0.7], [0.6, 0.3]
    res = q.solve(
        ham, "qaoa-qiskit", sampler=primitives.StatevectorSampler(seed=3), shots=4000,
        gammas=g, betas=b,
    )  # fmt: skip
    assert "StatevectorSampler" in res.info["simulator"]
    assert res.variables.labels == ham.labels
    assert _tv_distance(res, _exact_distribution(ham, g, b)) < 0.05


def test_cirq_sampler_runs_the_circuit(ham: q.Hamiltonian) -> None:
    cirq = pytest.importorskip("cirq")
    g, b = [0.4, 0.7], [0.6, 0.3]
    res = q.solve(ham, "qaoa-cirq", sampler=cirq.Simulator(seed=3), shots=4000, gammas=g, betas=b)
    assert "Simulator" in res.info["simulator"]
    assert _tv_distance(res, _exact_distribution(ham, g, b)) < 0.05


def test_measured_circuits_and_bind(ham: q.Hamiltonian) -> None:
    pytest.importorskip("qiskit")
    cirq = pytest.importorskip("cirq")
    qc = q.get_backend("qiskit").lower(ham, layers=2, measure=True)
    assert qc.num_clbits == 3
    assert [p.name for p in qc.parameters] == ["beta[0]", "beta[1]", "gamma[0]", "gamma[1]"]
    bound = q.bind(qc, [0.1, 0.2], [0.3, 0.4])
    assert bound.num_parameters == 0
    unmeasured = q.get_backend("qiskit").lower(ham, gammas=[0.1, 0.2], betas=[0.3, 0.4])
    sv = q.get_backend("qiskit").statevector(bound)
    assert np.allclose(sv, q.get_backend("qiskit").statevector(unmeasured))
    cc = q.get_backend("cirq").lower(ham, layers=2, measure=True)
    assert cc.has_measurements()
    cbound = q.bind(cc, [0.1, 0.2], [0.3, 0.4])
    assert not cirq.is_parameterized(cbound)
    assert np.allclose(q.get_backend("cirq").statevector(cbound), sv)
    with pytest.raises(ValidationError, match="beyond"):
        q.bind(cc, [0.1], [0.3])
    with pytest.raises(ValidationError, match="QuantumCircuit or a Cirq Circuit"):
        q.bind("not a circuit", [0.1], [0.2])


def test_top_level_operators(ham: q.Hamiltonian) -> None:
    pytest.importorskip("qiskit")
    cirq = pytest.importorskip("cirq")
    op = q.to_sparse_pauli_op(ham)
    spin = ham.to_spin()
    diag = cost_diagonal(spin.linear, spin.row, spin.col, spin.quad, spin.offset)
    assert np.allclose(np.real(op.to_matrix(sparse=True).diagonal()), diag)
    ps = q.to_cirq_paulisum(ham)
    qubits = cirq.LineQubit.range(3)
    # Cirq's matrix is big-endian in the qubit order given: reverse to little-endian.
    mat = ps.matrix(qubits[::-1])
    assert np.allclose(np.real(np.diag(mat)), diag)
    bqm = q.to_bqm(ham)
    s = np.array([[1, -1, 1]], dtype=np.int8)
    assert bqm.energy(dict(zip(ham.labels, s[0].tolist(), strict=False))) == pytest.approx(
        ham.energies(s)[0]
    )
