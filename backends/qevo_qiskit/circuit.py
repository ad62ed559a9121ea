"""Qiskit lowering of a Hamiltonian or a k-local PolynomialHamiltonian: the QAOA
``QuantumCircuit``, its ``SparsePauliOp`` cost operator, and the circuit's statevector in the
IR's little-endian order.

Qiskit is imported lazily (``pip install 'qevo-ir[qiskit]'``). Conventions and the sign
derivation are in ``specs/backend_qaoa.md``.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from qevo_ir.plugins import require
from qevo_qiskit.qaoa_problem import (
    DEFAULT_OPERATOR_BYTES,
    CostIR,
    QAOAProblem,
    angle_index,
    angle_values,
    check_operator_memory,
    check_simulation_size,
    resolve_angles,
)

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit
    from qiskit.quantum_info import SparsePauliOp

__all__ = ["bind_angles", "cost_operator", "qaoa_circuit", "statevector"]

_NAME = "qiskit"


def qaoa_circuit(
    hamiltonian: CostIR,
    layers: int | None = None,
    gammas: npt.ArrayLike | None = None,
    betas: npt.ArrayLike | None = None,
) -> QuantumCircuit:
    """The depth-``p`` QAOA circuit of ``hamiltonian`` (no measurements).

    ``H`` on every qubit, then per layer ``k``: ``RZ(-2 gamma_k h_i)`` on each qubit with a
    nonzero field, ``RZZ(2 gamma_k J_ij)`` on each nonzero coupling (IR order), for a k-local
    polynomial ``exp(-i gamma_k c_t Π_{i∈t} s_i) = exp(-i θ/2 Z_{t_1}…Z_{t_d})`` with
    ``θ = 2 gamma_k (-1)^d c_t`` on each nonzero term of degree ``d >= 3`` (a CX ladder
    ``t_1→t_2→…→t_d``, ``RZ(θ)`` on ``t_d``, the ladder undone), ``RX(2 beta_k)`` on every qubit,
    and ``-gamma_k · offset`` added to the global phase. Qubit ``i`` is variable ``i``; a BINARY
    IR is converted exactly to SPIN first.

    Parameters
    ----------
    hamiltonian : Hamiltonian or PolynomialHamiltonian
        The IR to lower.
    layers : int, optional
        Depth ``p``; default ``len(gammas)`` when angles are given, else 1.
    gammas, betas : array_like, optional
        Bound angles. Without them the circuit is parameterised by
        ``ParameterVector("gamma", p)`` and ``ParameterVector("beta", p)``.

    Returns
    -------
    qiskit.QuantumCircuit
        Named ``"qaoa"``, on ``n`` qubits, no classical bits.

    Raises
    ------
    ValidationError
        On bad angles or layers, or a non-Hamiltonian input.
    BackendUnavailable
        If Qiskit is not installed.
    """
    require("qiskit", "qiskit")
    from qiskit.circuit import CircuitInstruction, ParameterVector, QuantumCircuit
    from qiskit.circuit.library import CXGate, HGate, RXGate, RZGate, RZZGate

    problem = QAOAProblem.from_hamiltonian(hamiltonian)
    p, angles = resolve_angles(layers, gammas, betas)
    n = problem.num_qubits
    circuit = QuantumCircuit(n, name="qaoa")
    if angles is None:
        gamma: list[Any] = list(ParameterVector("gamma", p))
        beta: list[Any] = list(ParameterVector("beta", p))
    else:
        gamma, beta = angles[0].tolist(), angles[1].tolist()
    qubits = circuit.qubits
    # Gate angles per unit gamma: exp(-iγ h s) = RZ(-2γh), exp(-iγ J s s) = RZZ(2γJ).
    z_qubits: list[tuple[Any, ...]] = [(qubits[i],) for i in problem.field_qubits.tolist()]
    z_angles = (-2.0 * problem.fields).tolist()
    zz_qubits = [
        (qubits[i], qubits[j])
        for i, j in zip(problem.row.tolist(), problem.col.tolist(), strict=True)
    ]
    zz_angles = (2.0 * problem.quad).tolist()
    # k-local terms: exp(-iγ c Π s) = exp(-iγ (-1)^d c Z…Z) = CX ladder, RZ(2γ(-1)^d c), ladder.
    ladders = [
        (
            [(qubits[a], qubits[b]) for a, b in itertools.pairwise(term)],
            (qubits[term[-1]],),
        )
        for term in problem.higher_terms()
    ]
    z_string_angles = (2.0 * problem.z_string_coefficients()).tolist()
    append = circuit._append  # documented fast path: operands are known valid here
    hadamard = HGate()
    cx = CXGate()
    for q in qubits:
        append(CircuitInstruction(hadamard, (q,)))
    phase: Any = 0.0
    for k in range(p):
        g = gamma[k]
        for qargs, a in zip(z_qubits, z_angles, strict=True):
            append(CircuitInstruction(RZGate(g * a), qargs))
        for qargs, a in zip(zz_qubits, zz_angles, strict=True):
            append(CircuitInstruction(RZZGate(g * a), qargs))
        for (ladder, target), a in zip(ladders, z_string_angles, strict=True):
            for pair in ladder:
                append(CircuitInstruction(cx, pair))
            append(CircuitInstruction(RZGate(g * a), target))
            for pair in reversed(ladder):
                append(CircuitInstruction(cx, pair))
        mixer = RXGate(2 * beta[k])
        for q in qubits:
            append(CircuitInstruction(mixer, (q,)))
        if problem.offset != 0.0:
            phase = phase - g * problem.offset
    if problem.offset != 0.0 and p:
        circuit.global_phase = phase
    return circuit


def cost_operator(hamiltonian: CostIR, *, max_bytes: int = DEFAULT_OPERATOR_BYTES) -> SparsePauliOp:
    """The diagonal cost operator ``H_C`` as a ``SparsePauliOp``.

    Terms: ``offset·I`` first, then ``-h_i Z_i`` for each nonzero field, then ``J_ij Z_i Z_j``
    for each nonzero coupling (IR order), then, for a k-local polynomial,
    ``(-1)^d c_t Z_{t_1}…Z_{t_d}`` for each nonzero term of degree ``d >= 3``, so that
    ``⟨b|H_C|b⟩ = E(decode(b))``. The Pauli table is built from numpy arrays in one step
    (``PauliList.from_symplectic``).

    Parameters
    ----------
    hamiltonian : Hamiltonian or PolynomialHamiltonian
        The IR (BINARY is converted exactly to SPIN).
    max_bytes : int, optional
        Memory budget for the dense ``(terms, n)`` symplectic table (``2·terms·n`` bytes).

    Returns
    -------
    qiskit.quantum_info.SparsePauliOp
        On ``n`` qubits (qubit ``i`` = variable ``i``; Qiskit labels put qubit 0 rightmost).

    Raises
    ------
    LimitExceeded
        If the table would exceed ``max_bytes``.
    """
    require("qiskit", "qiskit")
    from qiskit.quantum_info import PauliList, SparsePauliOp

    problem = QAOAProblem.from_hamiltonian(hamiltonian)
    n, t = problem.num_qubits, problem.num_terms
    check_operator_memory(
        "the qiskit SparsePauliOp cost operator", t, n, 2 * t * n + 24 * t, max_bytes
    )
    nf = problem.fields.size
    z = np.zeros((t, n), dtype=bool)
    z[1 + np.arange(nf), problem.field_qubits] = True
    zz_terms = 1 + nf + np.arange(problem.quad.size)
    z[zz_terms, problem.row] = True
    z[zz_terms, problem.col] = True
    lengths = np.diff(problem.term_ptr)
    higher_rows = 1 + nf + problem.quad.size + np.arange(problem.num_higher_terms)
    z[np.repeat(higher_rows, lengths), problem.term_vars] = True
    coeffs = np.concatenate(
        ([problem.offset], -problem.fields, problem.quad, problem.z_string_coefficients())
    ).astype(np.complex128)
    paulis = PauliList.from_symplectic(z, np.zeros_like(z))
    return SparsePauliOp(paulis, coeffs, ignore_pauli_phase=True, copy=False)


def bind_angles(
    circuit: QuantumCircuit, gammas: npt.ArrayLike | None, betas: npt.ArrayLike | None
) -> QuantumCircuit:
    """``circuit`` with its free ``gamma``/``beta`` parameters bound to the given angles.

    Parameters named ``gamma[k]`` (Qiskit), ``_gamma_k_`` (read from OpenQASM 3) or ``gamma_k``
    take ``gammas[k]``; likewise for beta. A circuit without free parameters is returned as is
    (its angles were bound when it was lowered; given angles are then not used).

    Raises
    ------
    ValidationError
        On a free parameter that is not an angle or an index beyond the given angles.
    """
    params = list(circuit.parameters)
    if not params:
        return circuit
    values = angle_values([prm.name for prm in params], gammas, betas, _NAME)
    return circuit.assign_parameters({prm: values[prm.name] for prm in params}, inplace=False)


def statevector(
    circuit: QuantumCircuit,
    gammas: npt.ArrayLike | None = None,
    betas: npt.ArrayLike | None = None,
) -> npt.NDArray[np.complex128]:
    """Final statevector of ``circuit`` at the angles, little-endian (qubit ``i`` = bit ``i``).

    Final measurements are removed first. The global phase (the offset's) is kept.

    Raises
    ------
    LimitExceeded
        Above the statevector limit (the message names qubits and memory).
    ValidationError
        On angles that do not fit the circuit's parameters.
    """
    require("qiskit", "qiskit")
    from qiskit.quantum_info import Statevector

    check_simulation_size(circuit.num_qubits, _NAME)
    bound = bind_angles(circuit, gammas, betas)
    if bound.num_clbits or any(inst.operation.name == "measure" for inst in bound.data):
        bound = bound.remove_final_measurements(inplace=False)
    return np.asarray(Statevector(bound).data, dtype=np.complex128)


def rename_qasm_parameters(circuit: QuantumCircuit) -> QuantumCircuit:
    """Map OpenQASM 3 inputs ``_gamma_k_``/``_beta_k_`` back to ``gamma[k]``/``beta[k]``.

    Qiskit's exporter writes ``ParameterVector`` elements ``gamma[k]`` as ``input float[64]
    _gamma_k_``; this restores the vector elements so a read-back circuit has the parameters of
    the lowered one.
    """
    from qiskit.circuit import ParameterVector

    parsed = {prm: angle_index(prm.name) for prm in circuit.parameters}
    sizes: dict[str, int] = {}
    for found in parsed.values():
        if found is not None:
            sizes[found[0]] = max(sizes.get(found[0], 0), found[1] + 1)
    if not sizes:
        return circuit
    vectors = {family: ParameterVector(family, size) for family, size in sizes.items()}
    mapping = {
        prm: vectors[found[0]][found[1]] for prm, found in parsed.items() if found is not None
    }
    return circuit.assign_parameters(mapping, inplace=False)
