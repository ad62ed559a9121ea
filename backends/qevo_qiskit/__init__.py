"""qevo_qiskit: the Qiskit backend plugin — QAOA circuits, cost operators, QASM 3/QPY files.

Importing this package needs no vendor SDK; Qiskit is imported when used
(``pip install 'qevo-ir[qiskit]'``, qiskit-aer optional via ``[aer]``). See
``specs/backend_qaoa.md``.
"""

from qevo_qiskit.artifacts import ARTIFACTS, FORMATS, read_artifact, write
from qevo_qiskit.backend import SIMULATORS, QiskitBackend
from qevo_qiskit.circuit import bind_angles, cost_operator, qaoa_circuit, statevector
from qevo_qiskit.qaoa_problem import MAX_SIMULATED_QUBITS, QAOAProblem

#: ``lower(ham, layers=None, gammas=None, betas=None)``: the QAOA circuit.
lower = qaoa_circuit

__all__ = [
    "ARTIFACTS",
    "FORMATS",
    "MAX_SIMULATED_QUBITS",
    "SIMULATORS",
    "QAOAProblem",
    "QiskitBackend",
    "bind_angles",
    "cost_operator",
    "lower",
    "qaoa_circuit",
    "read_artifact",
    "statevector",
    "write",
]
