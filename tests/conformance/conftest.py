"""Chooses the backends the conformance suite runs against and parametrises the tests by them.

``pytest tests/conformance --backend dimod --backend exact`` (repeatable, or comma-separated) or
``QEVO_CONFORMANCE_BACKENDS=dimod,exact``; by default every installed backend (a registered
plugin whose SDK imports). Tests ask for a backend by what it can do: ``backend_name`` (all),
``energy_backend``, ``qaoa_backend``, ``artifact_backend``, ``sampling_backend``,
``qaoa_backends`` (all QAOA backends at once), ``operator_backend`` (QAOA backends whose SDK
cost operator the suite knows how to evaluate) and ``solver`` (``qevo_ir.compiler.solve`` names).
``@pytest.mark.backend_requires("artifacts", ...)`` narrows any of them to backends that also
have those conformance properties.
"""

from __future__ import annotations

import contextlib
import functools
import os

import pytest

from qevo_ir.compiler import SOLVERS
from qevo_ir.errors import BackendError, BackendUnavailable, QevoError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.plugins import available_backends, get_backend
from qevo_ir.testing.conformance import properties_of

ENV_VAR = "QEVO_CONFORMANCE_BACKENDS"

#: QAOA backends whose ``cost_operator`` the suite evaluates with the SDK's own expectation.
OPERATOR_BACKENDS = ("qiskit", "cirq")

#: Fixture name -> the conformance property a backend needs to be parametrised into it.
_BY_PROPERTY = {
    "energy_backend": "energy",
    "qaoa_backend": "qaoa",
    "artifact_backend": "artifacts",
    "sampling_backend": "sampling",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    # pytest honours this hook only in the rootdir's conftest, plugins, and the conftests of the
    # paths named on the command line; ValueError: the root conftest registered it already.
    with contextlib.suppress(ValueError):
        parser.addoption(
            "--backend",
            action="append",
            default=None,
            metavar="NAME",
            help="run the conformance suite against backend NAME (repeatable; default: every "
            f"installed backend; also {ENV_VAR}=a,b)",
        )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "backend_requires(*properties): parametrise only with backends that have these "
        "conformance properties (qevo_ir.testing.conformance.PROPERTIES)",
    )


def _requested(config: pytest.Config) -> tuple[str, ...] | None:
    given: list[str] = []
    try:
        option = config.getoption("--backend")
    except ValueError:  # the option is not registered in this run
        option = None
    for item in option or []:
        given += [x.strip() for x in str(item).split(",") if x.strip()]
    if not given:
        given = [x.strip() for x in os.environ.get(ENV_VAR, "").split(",") if x.strip()]
    return tuple(dict.fromkeys(given)) or None


def _probe(name: str) -> str | None:
    """``None`` when backend ``name`` loads and its SDK imports; else why not."""
    try:
        backend = get_backend(name)
        backend.lower(Hamiltonian([0.5], vartype="SPIN"))
    except (BackendUnavailable, BackendError) as exc:
        return str(exc)
    except QevoError:
        return None  # it loads; it merely refuses this input
    return None


@functools.cache
def _selected(requested: tuple[str, ...] | None) -> tuple[str, ...]:
    if requested is None:
        return tuple(name for name in available_backends() if _probe(name) is None)
    problems = {name: why for name in requested if (why := _probe(name)) is not None}
    if problems:
        listed = "; ".join(f"{k}: {v}" for k, v in problems.items())
        raise pytest.UsageError(
            f"conformance: cannot run against {sorted(problems)} ({listed}); installed: "
            f"{', '.join(available_backends())}"
        )
    return requested


def selected_backends(config: pytest.Config) -> tuple[str, ...]:
    """The backend names this run checks."""
    return _selected(_requested(config))


def _solvers(names: tuple[str, ...]) -> list[str]:
    """``qevo_ir.compiler.solve`` names to run: built-in aliases whose plugin is selected, the
    numpy QAOA fast path (always), and every other selected sampling backend by its own name."""
    out = [alias for alias, (plugin, _) in SOLVERS.items() if plugin in names or plugin == "qaoa"]
    covered = {plugin for plugin, _ in SOLVERS.values()}
    out += [name for name in names if name not in covered and "sampling" in _properties(name)]
    return out


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    marker = metafunc.definition.get_closest_marker("backend_requires")
    required = set(marker.args) if marker is not None else set()

    def having(*props: str) -> list[str]:
        need = required | set(props)
        return [n for n in selected_backends(metafunc.config) if need <= set(_properties(n))]

    fixtures = metafunc.fixturenames
    if "backend_name" in fixtures:
        metafunc.parametrize("backend_name", having())
    for fixture, prop in _BY_PROPERTY.items():
        if fixture in fixtures:
            metafunc.parametrize(fixture, having(prop))
    if "qaoa_backends" in fixtures:
        qaoa = having("qaoa")
        metafunc.parametrize("qaoa_backends", [tuple(qaoa)] if qaoa else [], ids="+".join)
    if "operator_backend" in fixtures:
        metafunc.parametrize(
            "operator_backend", [n for n in having("qaoa") if n in OPERATOR_BACKENDS]
        )
    if "solver" in fixtures:
        metafunc.parametrize("solver", _solvers(selected_backends(metafunc.config)))


def _properties(name: str) -> tuple[str, ...]:
    return properties_of(get_backend(name))
