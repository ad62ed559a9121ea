"""The backend protocol: what a plugin declares and provides, and the capability check.

A backend is any object with the attributes and methods of :class:`Backend`; no base class is
required. Backends register in the ``qevo_ir.backends`` entry-point group (see
:mod:`qevo_ir.plugins` and ``specs/backends.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from qevo_ir.errors import CapabilityError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.results import SampleResult
from qevo_ir.vartypes import BINARY, SPIN, Vartype

__all__ = ["Backend", "Capabilities", "check_capabilities"]


@dataclass(frozen=True)
class Capabilities:
    """What a backend accepts and can do.

    ``vartypes``: the vartypes it lowers natively (the compiler converts exactly when needed, so
    this informs, it does not restrict). ``max_variables``: the most variables (or qubits) it
    takes, ``None`` for no stated limit. ``needs_embedding``: it only takes an
    ``EmbeddedHamiltonian``. ``samples``/``exact``: whether ``solve`` samples or is exhaustive.
    ``artifacts``: the file names ``write`` produces. ``extra``: the pip extra bringing its SDK.
    ``certified``: ``solve`` proves its answer when it finishes (``info["optimal"]``, and
    ``info["lower_bound"]`` a bound the solver proved); ``degeneracy``: ``info["degeneracy"]`` is
    the exact number of ground states. The conformance kit checks both against enumeration.
    """

    vartypes: frozenset[Vartype] = frozenset({SPIN, BINARY})
    max_variables: int | None = None
    needs_embedding: bool = False
    samples: bool = False
    exact: bool = False
    artifacts: tuple[str, ...] = ()
    extra: str | None = None
    certified: bool = False
    degeneracy: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "vartypes": sorted(v.value for v in self.vartypes),
            "max_variables": self.max_variables,
            "needs_embedding": self.needs_embedding,
            "samples": self.samples,
            "exact": self.exact,
            "artifacts": list(self.artifacts),
            "extra": self.extra,
            "certified": self.certified,
            "degeneracy": self.degeneracy,
        }


@runtime_checkable
class Backend(Protocol):
    """The interface every backend plugin provides."""

    name: str
    capabilities: Capabilities

    def lower(self, hamiltonian: Hamiltonian, **options: Any) -> Any:
        """The backend's native object for ``hamiltonian`` (a BQM, a circuit, ...)."""
        ...

    def write(self, native: Any, directory: Path, **options: Any) -> list[Path]:
        """Write ``native`` as artifacts under ``directory`` (atomically); return their paths."""
        ...

    def solve(self, hamiltonian: Hamiltonian, **options: Any) -> SampleResult:
        """Solve or sample ``hamiltonian``; results are in its variables and vartype."""
        ...


def check_capabilities(backend: Backend, hamiltonian: Any) -> None:
    """Raise :class:`CapabilityError` if ``backend`` cannot take ``hamiltonian``, saying why."""
    caps = backend.capabilities
    embedded = hasattr(hamiltonian, "chains")
    if caps.needs_embedding and not embedded:
        raise CapabilityError(
            f"backend {backend.name!r} needs an embedded problem; add an embed(...) pass"
        )
    n = int(hamiltonian.num_variables)
    if caps.max_variables is not None and n > caps.max_variables:
        raise CapabilityError(
            f"backend {backend.name!r} takes at most {caps.max_variables} variables; "
            f"this problem has {n}"
        )
