"""qevo_ir: a compiler for parameter-correlation Hamiltonians (Ising/QUBO) with a typed IR.

Front ends build a :class:`Hamiltonian` (or a :class:`ParameterModel` above it), passes rewrite
it, and backend plugins lower it to dimod, Qiskit, Cirq or the exact reference solver.
"""

from qevo_ir._version import __version__
from qevo_ir.backend import Backend, Capabilities
from qevo_ir.blocks.solve import solve_block
from qevo_ir.compiler import Compiled, compile, solve
from qevo_ir.constrained import ConstrainedModel, Constraint
from qevo_ir.embedded import EmbeddedHamiltonian, UnembedResult
from qevo_ir.errors import (
    BackendError,
    BackendUnavailable,
    CapabilityError,
    DeadlineExceeded,
    FormatError,
    LabelError,
    LimitExceeded,
    PipelineError,
    QevoError,
    TaskError,
    ValidationError,
    VerificationError,
)
from qevo_ir.execution import map_tasks, solve_many
from qevo_ir.formats import read_hamiltonian, write_hamiltonian
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.interop import bind, to_bqm, to_cirq_paulisum, to_sparse_pauli_op
from qevo_ir.parameter_model import ParameterModel
from qevo_ir.passes.pipeline import CompileResult, Pipeline
from qevo_ir.plugins import available_backends, get_backend
from qevo_ir.polynomial import PolynomialHamiltonian
from qevo_ir.results import SampleResult
from qevo_ir.variables import Provenance, VariableTable
from qevo_ir.vartypes import BINARY, SPIN, Vartype, as_vartype

__all__ = [
    "BINARY",
    "SPIN",
    "Backend",
    "BackendError",
    "BackendUnavailable",
    "Capabilities",
    "CapabilityError",
    "CompileResult",
    "Compiled",
    "ConstrainedModel",
    "Constraint",
    "DeadlineExceeded",
    "EmbeddedHamiltonian",
    "FormatError",
    "Hamiltonian",
    "LabelError",
    "LimitExceeded",
    "ParameterModel",
    "Pipeline",
    "PipelineError",
    "PolynomialHamiltonian",
    "Provenance",
    "QevoError",
    "SampleResult",
    "TaskError",
    "UnembedResult",
    "ValidationError",
    "VariableTable",
    "Vartype",
    "VerificationError",
    "__version__",
    "as_vartype",
    "available_backends",
    "bind",
    "compile",
    "get_backend",
    "map_tasks",
    "read_hamiltonian",
    "solve",
    "solve_block",
    "solve_many",
    "to_bqm",
    "to_cirq_paulisum",
    "to_sparse_pauli_op",
    "write_hamiltonian",
]
