"""Artifact conformance: every file a backend writes reads back (through the vendor's own reader)
to an object equivalent to the IR: BQM JSON/COO energies, OpenQASM 3 / QPY / Cirq JSON states,
exact.json re-derived."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.passes import Pipeline
from qevo_ir.plugins import get_backend
from qevo_ir.testing.conformance import properties_of, run_artifact_roundtrip
from qevo_ir.testing.strategies import hamiltonians
from qevo_ir.verify import check_exact_solution

#: What each built-in backend writes; the vendor reader that reads it back is the backend's own.
BUILT_IN_ARTIFACTS = {
    "exact": ("exact.json",),
    "dimod": ("bqm.json", "bqm.coo"),
    "qiskit": ("qaoa.qasm", "qaoa.qpy"),
    "cirq": ("qaoa.cirq.json",),
}


@settings(max_examples=15)
@given(ham=hamiltonians(max_variables=5), layers=st.integers(1, 3))
def test_written_files_read_back_equivalent(
    artifact_backend: str, ham: Hamiltonian, layers: int, tmp_path_factory: pytest.TempPathFactory
) -> None:
    backend = get_backend(artifact_backend)
    options = {"layers": layers} if "qaoa" in properties_of(backend) else {}
    run_artifact_roundtrip(backend, ham, tmp_path_factory.mktemp("art"), lower_options=options)


@pytest.mark.backend_requires("artifacts")
@settings(max_examples=10)
@given(
    ham=hamiltonians(max_variables=5),
    angles=st.lists(st.floats(-3.0, 3.0), min_size=2, max_size=6).filter(lambda a: len(a) % 2 == 0),
)
def test_circuits_with_bound_angles_read_back_equivalent(
    qaoa_backend: str,
    ham: Hamiltonian,
    angles: list[float],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    backend = get_backend(qaoa_backend)
    p = len(angles) // 2
    options = {"gammas": angles[:p], "betas": angles[p:]}
    detail = run_artifact_roundtrip(
        backend, ham, tmp_path_factory.mktemp("bound"), lower_options=options
    )
    assert "bound angles" in detail


@pytest.mark.backend_requires("artifacts")
@settings(max_examples=6)
@given(ham=hamiltonians(min_variables=1, max_variables=5))
def test_embedded_problem_artifacts_read_back_equivalent(
    energy_backend: str, ham: Hamiltonian, tmp_path_factory: pytest.TempPathFactory
) -> None:
    backend = get_backend(energy_backend)
    embedded = Pipeline.parse("embed(topology=chimera, m=2)").run(ham).ir
    run_artifact_roundtrip(backend, embedded, tmp_path_factory.mktemp("emb"))


def test_built_in_backends_write_what_they_declare(backend_name: str, tmp_path: Path) -> None:
    backend = get_backend(backend_name)
    if backend_name in BUILT_IN_ARTIFACTS:
        assert backend.capabilities.artifacts == BUILT_IN_ARTIFACTS[backend_name]
    ham = Hamiltonian.from_qubo({("a", "a"): -1.0, ("a", "b"): 2.0, ("b", "b"): -1.0}, 0.25)
    if "artifacts" in properties_of(backend):
        detail = run_artifact_roundtrip(backend, ham, tmp_path)
        for name in backend.capabilities.artifacts:
            assert name in detail


def test_exact_json_is_checked_against_the_ir(tmp_path: Path) -> None:
    backend: Any = get_backend("exact")
    ham = Hamiltonian.from_ising({0: 0.5, 1: -0.25, 2: 0.0}, {(0, 1): -1.0, (1, 2): 0.5})
    (path,) = backend.write(backend.lower(ham), tmp_path)
    document = backend.read_artifact(path)
    ok, detail = check_exact_solution(document, ham)
    assert ok, detail
    document["ground_energy"] = document["ground_energy"] + 0.5
    ok, detail = check_exact_solution(document, ham)
    assert not ok
    assert "ground" in detail
