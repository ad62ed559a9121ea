"""Public test helpers: Hypothesis strategies for the IR and the backend conformance checks.

Third-party backends import these from their own test suites (see ``specs/backends.md``).
Importing this package needs ``hypothesis`` (the ``test`` extra).
"""

from qevo_ir.testing.strategies import (
    all_assignments,
    hamiltonians,
    labels,
    parameter_models,
    spin_hamiltonians,
)

__all__ = [
    "all_assignments",
    "hamiltonians",
    "labels",
    "parameter_models",
    "spin_hamiltonians",
]
