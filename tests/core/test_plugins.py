"""Backend discovery: entry points, lazy loading, missing SDKs, duplicate names."""

from __future__ import annotations

import subprocess
import sys

import pytest

from qevo_ir import BackendError, BackendUnavailable, Capabilities, Hamiltonian
from qevo_ir.backend import Backend, check_capabilities
from qevo_ir.errors import CapabilityError
from qevo_ir.plugins import (
    available_backends,
    get_backend,
    register_backend,
    require,
    unregister_backend,
)


def test_builtin_backends_register_through_entry_points() -> None:
    assert {"exact", "dimod", "qiskit", "cirq"} <= set(available_backends())
    assert isinstance(get_backend("exact"), Backend)


def test_core_imports_no_vendor_sdk() -> None:
    code = (
        "import sys, qevo_ir, qevo_ir.passes, qevo_ir.formats, qevo_ir.compiler, qevo_ir.cli.main;"
        "import qevo_dimod, qevo_qiskit, qevo_cirq;"
        "bad=[m for m in sys.modules if m.split('.')[0] in "
        "('dimod','dwave','qiskit','cirq','minorminer','sympy','networkx','numba')];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_missing_sdk_error_carries_install_command() -> None:
    with pytest.raises(BackendUnavailable, match=r"pip install 'qevo-ir\[nosuch\]'") as exc:
        require("no_such_module_qevo", "nosuch")
    assert isinstance(exc.value, ImportError)


def test_unknown_and_duplicate_names() -> None:
    with pytest.raises(BackendError, match=r"installed backends: .*exact"):
        get_backend("no-such-backend")
    with pytest.raises(BackendError, match="already registered"):
        register_backend("exact", lambda: get_backend("exact"))


class _Tiny:
    name = "tiny"
    capabilities = Capabilities(max_variables=2, needs_embedding=False)

    def lower(self, hamiltonian, **options):  # type: ignore[no-untyped-def]
        return hamiltonian

    def write(self, native, directory, **options):  # type: ignore[no-untyped-def]
        return []

    def solve(self, hamiltonian, **options):  # type: ignore[no-untyped-def]
        raise NotImplementedError


def test_in_process_registration_and_capability_check() -> None:
    register_backend("tiny", _Tiny)
    try:
        backend = get_backend("tiny")
        check_capabilities(backend, Hamiltonian.from_ising([1.0, 2.0]))
        with pytest.raises(CapabilityError, match="at most 2 variables; this problem has 3"):
            check_capabilities(backend, Hamiltonian.from_ising([1.0, 2.0, 3.0]))
    finally:
        unregister_backend("tiny")
