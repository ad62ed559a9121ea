"""Public test helpers: Hypothesis strategies for the IR and the backend conformance checks.

Third-party backends import these from their own test suites (see ``specs/backends.md``).
Importing this package needs ``hypothesis`` (the ``test`` extra).
"""

from qevo_ir.testing.conformance import (
    ConformanceReport,
    check_backend,
    run_artifact_roundtrip,
    run_energy_conformance,
    run_qaoa_conformance,
    run_sampling_conformance,
)
from qevo_ir.testing.strategies import (
    all_assignments,
    hamiltonians,
    labels,
    parameter_models,
    polynomials,
    spin_hamiltonians,
)

__all__ = [
    "ConformanceReport",
    "all_assignments",
    "check_backend",
    "hamiltonians",
    "labels",
    "parameter_models",
    "polynomials",
    "run_artifact_roundtrip",
    "run_energy_conformance",
    "run_qaoa_conformance",
    "run_sampling_conformance",
    "spin_hamiltonians",
]
