"""qevo_cirq: the Cirq backend plugin — QAOA circuits with sympy angles, PauliSum, Cirq JSON.

Importing this package needs no vendor SDK; Cirq is imported when used
(``pip install 'qevo-ir[cirq]'``). See ``specs/backend_qaoa.md``.
"""

from qevo_cirq.artifacts import ARTIFACTS, FORMATS, read_artifact, write
from qevo_cirq.backend import MEASUREMENT_KEY, SIMULATORS, CirqBackend
from qevo_cirq.circuit import cost_operator, qaoa_circuit, statevector
from qevo_cirq.colouring import edge_colouring

#: ``lower(ham, layers=None, gammas=None, betas=None)``: the QAOA circuit.
lower = qaoa_circuit

__all__ = [
    "ARTIFACTS",
    "FORMATS",
    "MEASUREMENT_KEY",
    "SIMULATORS",
    "CirqBackend",
    "cost_operator",
    "edge_colouring",
    "lower",
    "qaoa_circuit",
    "read_artifact",
    "statevector",
    "write",
]
