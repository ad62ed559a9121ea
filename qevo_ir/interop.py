"""Ecosystem objects in and out, at the top level: a Hamiltonian as a dimod BQM, a Qiskit
``SparsePauliOp`` or a Cirq ``PauliSum``, and angles bound into a QAOA circuit of either SDK.

Each function loads the backend plugin that owns the lowering (so the SDK is imported only
when called; a missing SDK raises :class:`~qevo_ir.errors.BackendUnavailable` with the install
command). Samples go the other way with :meth:`qevo_ir.SampleResult.to_sampleset` and
:meth:`~qevo_ir.SampleResult.from_sampleset`.

Qubit order (both SDKs): qubit ``i`` is variable ``i`` of ``ham.labels``; a measured bit 1 is
BINARY 1 is SPIN +1. Qiskit count keys put qubit 0 rightmost; Cirq records put ``LineQubit(i)``
in column ``i``. The backends' ``solve`` decode both into the source's labels.
"""

from __future__ import annotations

from typing import Any

import numpy.typing as npt

from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.plugins import get_backend

__all__ = ["bind", "to_bqm", "to_cirq_paulisum", "to_sparse_pauli_op"]


def to_bqm(ham: Hamiltonian) -> Any:
    """``ham`` as a ``dimod.BinaryQuadraticModel``: same vartype, labels and energies."""
    return get_backend("dimod").lower(ham)


def to_sparse_pauli_op(ham: Hamiltonian) -> Any:
    """The cost operator ``H_C`` of ``ham`` as a Qiskit ``SparsePauliOp`` (little-endian:
    qubit ``i`` is variable ``i``; the offset is the identity term)."""
    backend: Any = get_backend("qiskit")
    return backend.cost_operator(ham)


def to_cirq_paulisum(ham: Hamiltonian) -> Any:
    """The cost operator ``H_C`` of ``ham`` as a ``cirq.PauliSum`` on ``LineQubit(i)``."""
    backend: Any = get_backend("cirq")
    return backend.cost_operator(ham)


def bind(circuit: Any, gammas: npt.ArrayLike, betas: npt.ArrayLike) -> Any:
    """A QAOA circuit (Qiskit or Cirq, as lowered by :func:`qevo_ir.compile` or a backend's
    ``lower``) with its angles bound: ``gamma[k] = gammas[k]``, ``beta[k] = betas[k]``.

    Binding is by parameter name, so it does not depend on the order of ``qc.parameters``
    (which Qiskit sorts alphabetically: ``beta`` before ``gamma``).
    """
    module = type(circuit).__module__.split(".")[0]
    if module == "qiskit":
        qiskit_backend: Any = get_backend("qiskit")
        return qiskit_backend.bind(circuit, gammas, betas)
    if module == "cirq":
        cirq_backend: Any = get_backend("cirq")
        return cirq_backend.bind(circuit, gammas, betas)
    raise ValidationError(
        f"bind() takes a Qiskit QuantumCircuit or a Cirq Circuit, got {type(circuit).__name__}"
    )
