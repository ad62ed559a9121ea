"""Backend discovery: the ``qevo_ir.backends`` entry-point group, loaded lazily.

Nothing here imports a vendor SDK. A plugin whose SDK is missing raises
:class:`~qevo_ir.errors.BackendUnavailable` carrying the install command, when it is *used*.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType

from qevo_ir.advice import did_you_mean
from qevo_ir.backend import Backend
from qevo_ir.errors import BackendError, BackendUnavailable

__all__ = [
    "ENTRY_POINT_GROUP",
    "available_backends",
    "get_backend",
    "register_backend",
    "require",
    "unregister_backend",
]

ENTRY_POINT_GROUP = "qevo_ir.backends"

_registered: dict[str, Callable[[], Backend]] = {}
_instances: dict[str, Backend] = {}


def _entry_points() -> dict[str, EntryPoint]:
    return dict(_scan_entry_points())


@functools.cache
def _scan_entry_points() -> dict[str, EntryPoint]:
    """The installed plugins, scanned once per process (scanning reads every distribution's
    metadata: milliseconds, which a block compile paid once per channel)."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        prev = found.get(ep.name)
        if prev is not None and prev.value != ep.value:
            raise BackendError(
                f"two plugins register the backend name {ep.name!r}: {prev.value} and {ep.value}; "
                "uninstall one of them"
            )
        found[ep.name] = ep
    return found


def available_backends() -> list[str]:
    """Names of every registered backend, installed SDK or not (nothing is imported)."""
    return sorted(set(_entry_points()) | set(_registered))


def register_backend(name: str, factory: Callable[[], Backend]) -> None:
    """Register a backend in-process (for tests and notebooks); entry points are the normal way."""
    if name in _registered or name in _entry_points():
        raise BackendError(f"a backend named {name!r} is already registered")
    _registered[name] = factory


def unregister_backend(name: str) -> None:
    _registered.pop(name, None)
    _instances.pop(name, None)


def get_backend(name: str) -> Backend:
    """The backend called ``name``, loaded on first use.

    Raises :class:`BackendError` for an unknown name (listing the known ones) and
    :class:`BackendUnavailable` when the plugin cannot be imported.
    """
    if name in _instances:
        return _instances[name]
    if name in _registered:
        backend = _registered[name]()
    else:
        eps = _entry_points()
        if name not in eps:
            known = ", ".join(available_backends()) or "none"
            hint = did_you_mean(name, available_backends())
            raise BackendError(f"unknown backend {name!r}{hint}; installed backends: {known}")
        try:
            factory = eps[name].load()
        except ImportError as exc:
            raise BackendUnavailable(
                f"backend {name!r} cannot be loaded ({exc}); reinstall with "
                "pip install 'qevo-ir[all]'"
            ) from exc
        backend = factory()
    if not isinstance(backend, Backend):
        raise BackendError(f"plugin {name!r} does not provide the Backend interface")
    _instances[name] = backend
    return backend


def require(module: str, extra: str) -> ModuleType:
    """Import an optional SDK or raise :class:`BackendUnavailable` with the install command."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise BackendUnavailable(
            f"{module} is not installed ({exc.__class__.__name__}: {exc}); "
            f"install it with: pip install 'qevo-ir[{extra}]'"
        ) from exc
