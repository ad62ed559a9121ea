"""The ``dimod`` backend plugin: lowers to a BQM, writes it, samples it with local samplers."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from qevo_dimod import artifacts, bqm, samplers
from qevo_ir.backend import Capabilities
from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.results import SampleResult
from qevo_ir.vartypes import BINARY, SPIN

if TYPE_CHECKING:
    import dimod

__all__ = ["DimodBackend"]


class DimodBackend:
    """Backend plugin ``dimod``: ``dimod.BinaryQuadraticModel`` and dwave-samplers.

    ``lower`` gives a BQM with the IR's vartype, labels and energies; ``write`` produces
    ``bqm.json`` and ``bqm.coo``; ``solve`` samples with ``sampler=`` one of ``sa`` (the default
    of this instance), ``steepest``, ``tabu``, ``exact`` or ``qpu``, or any ``dimod.Sampler``
    instance (composites included).
    """

    name = "dimod"
    capabilities = Capabilities(
        vartypes=frozenset({SPIN, BINARY}),
        max_variables=None,
        needs_embedding=False,
        samples=True,
        exact=False,
        artifacts=artifacts.ARTIFACTS,
        extra="dimod",
    )

    def __init__(self, sampler: Any = "sa") -> None:
        if isinstance(sampler, str) and sampler != "qpu":
            samplers.resolve_sampler(sampler)
        self.default_sampler = sampler

    def lower(self, hamiltonian: Hamiltonian | Any, **options: Any) -> dimod.BinaryQuadraticModel:
        """The BQM of ``hamiltonian`` (or of an embedded problem's target); takes no options."""
        if options:
            raise ValidationError(
                f"the dimod backend's lower() takes no options, got {sorted(options)}"
            )
        return bqm.to_bqm(hamiltonian)

    def write(self, native: Any, directory: Path, **options: Any) -> list[Path]:
        """Write ``bqm.json`` and ``bqm.coo`` (options ``formats``, ``force``)."""
        unknown = sorted(set(options) - {"formats", "force"})
        if unknown:
            raise ValidationError(
                f"the dimod backend's write() takes formats= and force=, got {unknown}"
            )
        return artifacts.write(
            native,
            directory,
            options.get("formats", ("json", "coo")),
            force=bool(options.get("force", True)),
        )

    def solve(self, hamiltonian: Hamiltonian | Any, **options: Any) -> SampleResult:
        """Sample with :func:`qevo_dimod.samplers.solve` (``sampler=`` picks the sampler)."""
        sampler = options.pop("sampler", self.default_sampler)
        return samplers.solve(hamiltonian, sampler, **options)

    def native_energies(
        self, native: dimod.BinaryQuadraticModel, samples: npt.NDArray[Any]
    ) -> npt.NDArray[np.float64]:
        """dimod's own energies of IR-ordered samples (IR vartype)."""
        return bqm.native_energies(native, samples)

    def read_artifact(self, path: Path) -> dimod.BinaryQuadraticModel:
        """Read ``bqm.json`` or ``bqm.coo`` back into a BQM (validated before dimod sees it)."""
        return artifacts.read_artifact(path)

    def lower_for_qpu(self, hamiltonian: Hamiltonian | Any, **options: Any) -> Any:
        """A :class:`~qevo_dimod.qpu.QPUJob` (embedded BQM + parameters); nothing is submitted."""
        from qevo_dimod.qpu import lower_for_qpu

        return lower_for_qpu(hamiltonian, **options)
