"""Cirq lowering of a Hamiltonian: the QAOA ``cirq.Circuit`` built moment by moment, its
``cirq.PauliSum`` cost operator, and the circuit's statevector in the IR's little-endian order.

Cirq is imported lazily (``pip install 'qevo-ir[cirq]'``). Conventions and the sign derivation
are in ``specs/backend_qaoa.md``.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from qevo_cirq.colouring import edge_colouring
from qevo_ir.conventions import reverse_qubit_order
from qevo_ir.errors import ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.plugins import require
from qevo_qiskit.qaoa_problem import (
    DEFAULT_OPERATOR_BYTES,
    QAOAProblem,
    angle_values,
    check_operator_memory,
    check_simulation_size,
    resolve_angles,
)

if TYPE_CHECKING:
    import cirq

__all__ = ["circuit_qubits", "cost_operator", "qaoa_circuit", "statevector"]

_NAME = "cirq"

#: Estimated bytes per ``PauliSum`` term (key frozenset, tuples, dict slot; measured ~450).
_PAULI_TERM_BYTES = 1024

_fast_products: bool | None = None


def _symbol_products(coefficients: list[float], symbol: Any) -> list[Any]:
    """``[c * symbol for c in coefficients]`` as sympy expressions, built cheaply.

    ``sympy.Float(c) * symbol`` runs sympy's full ``Mul`` canonicalisation (~100 µs); a product
    of one Float and one Symbol is already canonical, so ``Mul._from_args`` builds the same
    object in ~2 µs. A one-time self-check falls back to the public spelling if a sympy
    release ever changes that.
    """
    sympy = require("sympy", "cirq")
    global _fast_products
    if _fast_products is None:
        probe = sympy.Symbol("qevo_probe")
        samples = (1.0, -1.0, 0.5, -2.75e-7, 3.0e12)
        _fast_products = all(
            sympy.Mul._from_args((sympy.Float(c), probe), True) == sympy.Float(c) * probe
            for c in samples
        )
    floats = [sympy.Float(c) for c in coefficients]
    if _fast_products:
        from_args = sympy.Mul._from_args
        return [from_args((f, symbol), True) for f in floats]
    return [f * symbol for f in floats]


def qaoa_circuit(
    hamiltonian: Hamiltonian,
    layers: int | None = None,
    gammas: npt.ArrayLike | None = None,
    betas: npt.ArrayLike | None = None,
) -> cirq.Circuit:
    """The depth-``p`` QAOA circuit of ``hamiltonian`` (no measurements), moment by moment.

    One moment of ``H`` on every qubit; then per layer ``k``: one moment of
    ``RZ(-2 gamma_k h_i)`` (as ``ZPowGate(exponent=-2 gamma_k h_i / π, global_shift=-0.5)``,
    the same unitary as ``cirq.rz``), the ``RZZ(2 gamma_k J_ij)`` gates
    (``ZZPowGate(exponent=2 gamma_k J_ij / π, global_shift=-0.5)``) packed into moments by an
    edge colouring, and one moment of ``cirq.rx(2 beta_k)``. ``LineQubit(i)`` is variable
    ``i``. The offset is a global phase and is not in the circuit (it is the identity term of
    :func:`cost_operator`).

    Parameters
    ----------
    hamiltonian : Hamiltonian
        The IR (BINARY is converted exactly to SPIN).
    layers : int, optional
        Depth ``p``; default ``len(gammas)`` when angles are given, else 1.
    gammas, betas : array_like, optional
        Bound angles; without them exponents are sympy expressions in symbols ``gamma_k`` and
        ``beta_k``.

    Returns
    -------
    cirq.Circuit
        ``1 + p·(2 + C)`` moments at most (``C`` colours; empty moments are left out).

    Raises
    ------
    ValidationError
        On bad angles or layers, or a non-Hamiltonian input.
    BackendUnavailable
        If Cirq is not installed.
    """
    cirq_mod = require("cirq", "cirq")
    sympy = require("sympy", "cirq")
    problem = QAOAProblem.from_hamiltonian(hamiltonian)
    p, angles = resolve_angles(layers, gammas, betas)
    n = problem.num_qubits
    qubits = cirq_mod.LineQubit.range(n)
    colours, num_colours = edge_colouring(problem.row, problem.col, n)
    order = np.argsort(colours, kind="stable")
    bounds = np.searchsorted(colours[order], np.arange(num_colours + 1)).tolist()
    # Exponents per unit gamma (a rotation by θ is exponent θ/π with global_shift -1/2).
    z_exponents = (-2.0 * problem.fields / math.pi).tolist()
    zz_exponents = (2.0 * problem.quad[order] / math.pi).tolist()
    z_qubits = [qubits[i] for i in problem.field_qubits.tolist()]
    zz_pairs = [
        (qubits[i], qubits[j])
        for i, j in zip(problem.row[order].tolist(), problem.col[order].tolist(), strict=True)
    ]
    zpow, zzpow, gate_op = cirq_mod.ZPowGate, cirq_mod.ZZPowGate, cirq_mod.GateOperation
    moment = cirq_mod.Moment
    moments = [moment(cirq_mod.H.on_each(qubits))] if n else []
    for k in range(p):
        if angles is None:
            gamma_k: Any = sympy.Symbol(f"gamma_{k}")
            mixer = cirq_mod.rx(2 * sympy.Symbol(f"beta_{k}"))
            z_exp = _symbol_products(z_exponents, gamma_k)
            zz_exp = _symbol_products(zz_exponents, gamma_k)
        else:
            g = float(angles[0][k])
            mixer = cirq_mod.rx(2.0 * float(angles[1][k]))
            z_exp = [g * e for e in z_exponents]
            zz_exp = [g * e for e in zz_exponents]
        if z_qubits:
            moments.append(
                moment(
                    [
                        gate_op(zpow(exponent=e, global_shift=-0.5), (q,))
                        for q, e in zip(z_qubits, z_exp, strict=True)
                    ]
                )
            )
        ops = [
            gate_op(zzpow(exponent=e, global_shift=-0.5), pair)
            for pair, e in zip(zz_pairs, zz_exp, strict=True)
        ]
        moments.extend(moment(ops[a:b]) for a, b in itertools.pairwise(bounds))
        if n:
            moments.append(moment([gate_op(mixer, (q,)) for q in qubits]))
    built: cirq.Circuit = cirq_mod.Circuit.from_moments(*moments)
    return built


def cost_operator(
    hamiltonian: Hamiltonian, *, max_bytes: int = DEFAULT_OPERATOR_BYTES
) -> cirq.PauliSum:
    """The diagonal cost operator ``H_C`` as a ``cirq.PauliSum`` on ``LineQubit(i)``.

    Terms ``offset·I``, ``-h_i Z_i`` and ``J_ij Z_i Z_j`` (nonzero ones), so that
    ``⟨b|H_C|b⟩ = E(decode(b))``; built as one ``LinearDict``.

    Parameters
    ----------
    hamiltonian : Hamiltonian
        The IR (BINARY is converted exactly to SPIN).
    max_bytes : int, optional
        Memory budget (about 1 KiB per term).

    Returns
    -------
    cirq.PauliSum

    Raises
    ------
    LimitExceeded
        If the operator would exceed ``max_bytes``.
    """
    cirq_mod = require("cirq", "cirq")
    problem = QAOAProblem.from_hamiltonian(hamiltonian)
    t, n = problem.num_terms, problem.num_qubits
    check_operator_memory("the cirq PauliSum cost operator", t, n, _PAULI_TERM_BYTES * t, max_bytes)
    z_terms = [(q, cirq_mod.Z) for q in cirq_mod.LineQubit.range(n)]
    terms: dict[frozenset[Any], float] = {frozenset(): problem.offset}
    terms.update(
        (frozenset((z_terms[i],)), c)
        for i, c in zip(problem.field_qubits.tolist(), (-problem.fields).tolist(), strict=True)
    )
    terms.update(
        (frozenset((z_terms[i], z_terms[j])), c)
        for i, j, c in zip(
            problem.row.tolist(), problem.col.tolist(), problem.quad.tolist(), strict=True
        )
    )
    operator: cirq.PauliSum = cirq_mod.PauliSum(cirq_mod.LinearDict(terms))
    return operator


def circuit_qubits(circuit: cirq.AbstractCircuit) -> int:
    """Number of IR qubits of a QAOA circuit: ``1 + max i`` over its ``LineQubit(i)``.

    Raises
    ------
    ValidationError
        If a qubit is not a ``cirq.LineQubit`` with ``x >= 0``.
    """
    cirq_mod = require("cirq", "cirq")
    qubits = circuit.all_qubits()
    indices = [q.x for q in qubits if isinstance(q, cirq_mod.LineQubit) and q.x >= 0]
    if len(indices) != len(qubits):
        raise ValidationError(
            "a QAOA circuit acts on cirq.LineQubit(i), i >= 0, qubit i being variable i; got "
            f"{sorted(map(str, qubits))[:5]}"
        )
    return 1 + max(indices, default=-1)


def statevector(
    circuit: cirq.AbstractCircuit,
    gammas: npt.ArrayLike | None = None,
    betas: npt.ArrayLike | None = None,
) -> npt.NDArray[np.complex128]:
    """Final statevector of ``circuit`` at the angles, little-endian (qubit ``i`` = bit ``i``).

    Simulated with ``cirq.Simulator(dtype=np.complex128)`` over ``LineQubit.range(n)``; Cirq's
    big-endian vector is converted with :func:`qevo_ir.conventions.reverse_qubit_order`.
    Terminal measurements are dropped first. Symbols ``gamma_k``/``beta_k`` take
    ``gammas[k]``/``betas[k]``; a circuit without symbols ignores the angles.

    Raises
    ------
    LimitExceeded
        Above the statevector limit (the message names qubits and memory).
    ValidationError
        On symbols that are not angles, missing angles, or non-line qubits.
    """
    cirq_mod = require("cirq", "cirq")
    n = circuit_qubits(circuit)
    check_simulation_size(n, _NAME)
    values = angle_values(sorted(cirq_mod.parameter_names(circuit)), gammas, betas, _NAME)
    if circuit.has_measurements():
        circuit = cirq_mod.drop_terminal_measurements(circuit)
    simulator = cirq_mod.Simulator(dtype=np.complex128)
    result = simulator.simulate(
        circuit,
        param_resolver=cirq_mod.ParamResolver(values),
        qubit_order=cirq_mod.LineQubit.range(n),
    )
    vector = np.asarray(result.final_state_vector, dtype=np.complex128)
    return np.asarray(reverse_qubit_order(vector, n), dtype=np.complex128)
