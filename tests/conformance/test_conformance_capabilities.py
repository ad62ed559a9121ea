"""Capability conformance: each backend honours what it declares, the compiler refuses a target
that cannot take the IR with a clear CapabilityError, and the pytest-free driver runs."""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np
import pytest

from qevo_ir.compiler import compile as compile_ir
from qevo_ir.compiler import solve
from qevo_ir.errors import CapabilityError, LimitExceeded, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.plugins import ENTRY_POINT_GROUP, get_backend
from qevo_ir.testing.conformance import (
    PROPERTIES,
    check_backend,
    properties_of,
    run_capability_conformance,
)

ROOT = Path(__file__).resolve().parents[2]
EMBED = "embed(topology=chimera, m=2)"
SMALL = Hamiltonian.from_ising({"a": 0.5, "b": -1.0}, {("a", "b"): 0.75}, 0.25)

#: Keeps check_backend's sampling quick on the built-in samplers.
SOLVE_OPTIONS = {
    "dimod": {"num_reads": 10, "num_sweeps": 100},
    "qiskit": {"shots": 64, "restarts": 1},
    "cirq": {"shots": 64, "restarts": 1},
}


def test_declared_capabilities_are_honoured(backend_name: str) -> None:
    detail = run_capability_conformance(get_backend(backend_name))
    assert "protocol" in detail


def test_compile_refuses_a_problem_above_max_variables(backend_name: str) -> None:
    backend = get_backend(backend_name)
    limit = backend.capabilities.max_variables
    if limit is None:
        compiled = compile_ir(SMALL, target=backend_name)
        assert backend_name in compiled.natives
        return
    big = Hamiltonian(np.ones(limit + 1), vartype="SPIN")
    if "qaoa" in properties_of(backend):
        # A circuit lowers at any size (max_variables bounds simulation): compile takes it,
        # solving refuses it before allocating a statevector.
        assert backend_name in compile_ir(big, target=backend_name).natives
        with pytest.raises((CapabilityError, LimitExceeded), match=str(limit)):
            solve(big, backend_name)
        return
    with pytest.raises(CapabilityError, match=rf"{backend_name}.*{limit}"):
        compile_ir(big, target=backend_name)
    compiled = compile_ir(big, target="all")
    assert backend_name in compiled.skipped
    assert str(limit) in compiled.skipped[backend_name]


def test_compile_refuses_an_embedded_ir_for_circuit_targets(backend_name: str) -> None:
    backend = get_backend(backend_name)
    if "qaoa" in properties_of(backend):
        with pytest.raises(CapabilityError, match=rf"{backend_name}.*embed"):
            compile_ir(SMALL, EMBED, target=backend_name)
        compiled = compile_ir(SMALL, EMBED, target="all")
        assert "embed" in compiled.skipped[backend_name]
    else:
        compiled = compile_ir(SMALL, EMBED, target=backend_name)
        assert backend_name in compiled.natives


def test_built_in_backends_register_like_third_parties(backend_name: str) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    entry_points = project["entry-points"][ENTRY_POINT_GROUP]
    if backend_name not in entry_points:
        return  # a third-party backend: registered by its own distribution
    module, _, attr = entry_points[backend_name].partition(":")
    backend = get_backend(backend_name)
    assert type(backend).__module__.split(".")[0] == module
    assert type(backend).__name__ == attr
    extra = backend.capabilities.extra
    assert extra is None or extra in project["optional-dependencies"]


def test_unknown_target_is_refused_listing_the_installed_ones() -> None:
    with pytest.raises(ValidationError, match=r"unknown target 'nope'.*exact"):
        compile_ir(SMALL, target="nope")


def test_pytest_free_driver_runs_every_applicable_property(backend_name: str) -> None:
    backend = get_backend(backend_name)
    report = check_backend(
        backend, max_examples=3, max_variables=5, solve_options=SOLVE_OPTIONS.get(backend_name)
    )
    assert set(report.checked) == set(properties_of(backend))
    assert set(report.checked) | set(report.not_applicable) == set(PROPERTIES)
    assert backend_name in str(report)
