"""A third-party backend checked with the public conformance kit, exactly as its authors would:
registered in-process, then driven by ``check_backend`` and by their own Hypothesis tests; and the
kit catches each deliberate bug, with a reproducer that rebuilds the failing input."""

from __future__ import annotations

import ast
import importlib
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qevo_loopback import BUGS, QAOA_BUGS, LoopbackBackend, LoopbackQAOABackend

from qevo_ir.compiler import compile as compile_ir
from qevo_ir.compiler import solve
from qevo_ir.errors import BackendError, VerificationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.plugins import ENTRY_POINT_GROUP, get_backend, register_backend, unregister_backend
from qevo_ir.testing.conformance import (
    check_backend,
    run_artifact_roundtrip,
    run_energy_conformance,
    run_sampling_conformance,
)
from qevo_ir.testing.strategies import hamiltonians

HERE = Path(__file__).resolve().parent


@pytest.fixture
def loopback() -> Iterator[Any]:
    register_backend("loopback", LoopbackBackend)
    try:
        yield get_backend("loopback")
    finally:
        unregister_backend("loopback")


def test_registered_in_process_it_passes_the_whole_kit(loopback: Any) -> None:
    report = check_backend(loopback, max_examples=15)
    assert report.checked.keys() == {"capabilities", "energy", "artifacts", "sampling"}
    # Plus the fixed n = 14 problem; n = 30 is above its max_variables = 20 and not drawn.
    assert report.checked["energy"] >= 15 + 1
    assert "qaoa" in report.not_applicable


def test_registering_a_taken_name_is_refused(loopback: Any) -> None:
    with pytest.raises(BackendError, match="already registered"):
        register_backend("loopback", LoopbackBackend)
    with pytest.raises(BackendError, match="already registered"):
        register_backend("dimod", LoopbackBackend)


@settings(max_examples=20)
@given(ham=hamiltonians(max_variables=8), seed=st.integers(0, 2**16))
def test_its_own_hypothesis_tests_use_the_run_functions(ham: Hamiltonian, seed: int) -> None:
    backend = LoopbackBackend()
    run_energy_conformance(backend, ham, seed=seed)
    run_sampling_conformance(backend, ham, seed=seed, num_reads=8)


def test_artifact_round_trip_and_the_compiler_use_the_plugin(loopback: Any, tmp_path: Path) -> None:
    ham = Hamiltonian.from_qubo({("x", "x"): -1.0, ("x", "y"): 2.0, ("y", "z"): -0.5}, 0.125)
    detail = run_artifact_roundtrip(loopback, ham, tmp_path / "direct")
    assert "loopback.npz" in detail
    compiled = compile_ir(ham, "scale(factor=2)", target="loopback")
    written = compiled.write(tmp_path / "compiled")
    assert tmp_path / "compiled" / "loopback.npz" in written
    result = solve(ham, "loopback", seed=1, num_reads=16)
    assert result.variables.labels == ham.labels


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_the_kit_catches_each_bug_and_names_the_property(bug: str) -> None:
    prop = BUGS[bug]
    with pytest.raises(VerificationError) as caught:
        check_backend(LoopbackBackend(bug=bug), max_examples=25, shrink=False)
    message = str(caught.value)
    assert f"'{prop}'" in message
    assert "'loopback'" in message
    if prop != "capabilities":
        assert "reproducer:" in message


def test_a_qaoa_plugin_passes_the_qaoa_properties() -> None:
    report = check_backend(LoopbackQAOABackend(), max_examples=15)
    assert report.checked.keys() == {"capabilities", "qaoa", "sampling"}
    assert set(report.not_applicable) == {"energy", "artifacts", "certified"}


@pytest.mark.parametrize("bug", sorted(QAOA_BUGS))
def test_the_kit_catches_each_qaoa_bug(bug: str) -> None:
    with pytest.raises(VerificationError, match=r"'qaoa'[\s\S]*reproducer:[\s\S]*layers="):
        check_backend(
            LoopbackQAOABackend(bug=bug), properties=["qaoa"], max_examples=25, shrink=False
        )


def _rebuild(source: str) -> Hamiltonian:
    """The Hamiltonian of a reproducer, read with ast (literals only; nothing is executed)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Hamiltonian":
            kwargs = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
            return Hamiltonian(**kwargs)
    raise AssertionError(f"no Hamiltonian(...) call in the reproducer:\n{source}")


def test_the_reproducer_rebuilds_a_failing_input_exactly() -> None:
    with pytest.raises(VerificationError) as caught:
        check_backend(LoopbackBackend(bug="sign"), properties=["energy"], max_examples=25)
    source = str(caught.value).split("reproducer:\n", 1)[1]
    ham = _rebuild(source)
    assert "run_energy_conformance(get_backend('loopback'), ham)" in source
    with pytest.raises(VerificationError, match="energy"):
        run_energy_conformance(LoopbackBackend(bug="sign"), ham)
    # Shrunk: the sign bug needs one nonzero coupling and nothing else.
    assert ham.num_interactions == 1
    assert np.count_nonzero(ham.quad) == 1


def test_the_example_pyproject_registers_the_backend_as_a_third_party_would() -> None:
    meta = tomllib.loads((HERE / "pyproject.toml").read_text(encoding="utf-8"))
    entry = meta["project"]["entry-points"][ENTRY_POINT_GROUP]
    assert entry == {"loopback": "qevo_loopback:LoopbackBackend"}
    module, _, attr = entry["loopback"].partition(":")
    factory = getattr(importlib.import_module(module), attr)
    assert factory().name == "loopback"
