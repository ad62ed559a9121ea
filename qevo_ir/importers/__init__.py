"""Importers: Hamiltonians from other ecosystems' models (dimod, PyQUBO, qiskit-optimization).

Each importer imports its SDK only when called (``qevo_ir.plugins.require``), reads the model
into validated numpy arrays, and keeps the model's variable names as labels.
"""

from qevo_ir.importers.dimod_bqm import from_dimod_bqm
from qevo_ir.importers.dimod_cqm import from_binary_polynomial, from_cqm
from qevo_ir.importers.ommx import from_ommx, read_ommx, to_ommx, to_ommx_sample_set
from qevo_ir.importers.pyqubo_model import from_pyqubo
from qevo_ir.importers.qiskit_qp import from_quadratic_program, to_quadratic_program

__all__ = [
    "from_binary_polynomial",
    "from_cqm",
    "from_dimod_bqm",
    "from_ommx",
    "from_pyqubo",
    "from_quadratic_program",
    "read_ommx",
    "to_ommx",
    "to_ommx_sample_set",
    "to_quadratic_program",
]
