"""Cirq lowering of a Hamiltonian or a k-local PolynomialHamiltonian: the QAOA ``cirq.Circuit``
built moment by moment, its ``cirq.PauliSum`` cost operator, and the circuit's statevector in the
IR's little-endian order.

Cirq is imported lazily (``pip install 'qevo-ir[cirq]'``). Conventions and the sign derivation
are in ``specs/backend_qaoa.md``.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from qevo_cirq.colouring import edge_colouring, hyperedge_colouring
from qevo_ir.conventions import reverse_qubit_order
from qevo_ir.errors import ValidationError
from qevo_ir.plugins import require
from qevo_qiskit.qaoa_problem import (
    DEFAULT_OPERATOR_BYTES,
    CostIR,
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
    hamiltonian: CostIR,
    layers: int | None = None,
    gammas: npt.ArrayLike | None = None,
    betas: npt.ArrayLike | None = None,
) -> cirq.Circuit:
    """The depth-``p`` QAOA circuit of ``hamiltonian`` (no measurements), moment by moment.

    One moment of ``H`` on every qubit; then per layer ``k``: one moment of
    ``RZ(-2 gamma_k h_i)`` (as ``ZPowGate(exponent=-2 gamma_k h_i / π, global_shift=-0.5)``,
    the same unitary as ``cirq.rz``), the ``RZZ(2 gamma_k J_ij)`` gates
    (``ZZPowGate(exponent=2 gamma_k J_ij / π, global_shift=-0.5)``) packed into moments by an
    edge colouring, for a k-local polynomial each nonzero term of degree ``d >= 3`` as
    ``exp(-i θ/2 Z_{t_1}…Z_{t_d})``, ``θ = 2 gamma_k (-1)^d c_t`` (a ``CNOT`` ladder
    ``t_1→…→t_d``, ``ZPowGate(exponent=θ/π, global_shift=-0.5)`` on ``t_d``, the ladder undone;
    terms on disjoint qubits share moments), and one moment of ``cirq.rx(2 beta_k)``.
    ``LineQubit(i)`` is variable ``i``. The offset is a global phase and is not in the circuit
    (it is the identity term of :func:`cost_operator`).

    Parameters
    ----------
    hamiltonian : Hamiltonian or PolynomialHamiltonian
        The IR (BINARY is converted exactly to SPIN).
    layers : int, optional
        Depth ``p``; default ``len(gammas)`` when angles are given, else 1.
    gammas, betas : array_like, optional
        Bound angles; without them exponents are sympy expressions in symbols ``gamma_k`` and
        ``beta_k``.

    Returns
    -------
    cirq.Circuit
        ``1 + p·(2 + C + L)`` moments at most (``C`` edge colours; ``L`` the ladder moments of
        the k-local terms, ``Σ (2 D_c - 1)`` over their colours ``c`` of largest degree
        ``D_c``; empty moments are left out).

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
    # k-local terms: exp(-iγ c Π s) = exp(-iγ (-1)^d c Z…Z); exponent 2γ(-1)^d c/π on the last
    # qubit of a CNOT ladder.
    higher = problem.higher_terms()
    string_exponents = (2.0 * problem.z_string_coefficients() / math.pi).tolist()
    ladder_moments = _ladder_schedule(higher)
    cnot = cirq_mod.CNOT
    moments = [moment(cirq_mod.H.on_each(qubits))] if n else []
    for k in range(p):
        if angles is None:
            gamma_k: Any = sympy.Symbol(f"gamma_{k}")
            mixer = cirq_mod.rx(2 * sympy.Symbol(f"beta_{k}"))
            z_exp = _symbol_products(z_exponents, gamma_k)
            zz_exp = _symbol_products(zz_exponents, gamma_k)
            string_exp = _symbol_products(string_exponents, gamma_k)
        else:
            g = float(angles[0][k])
            mixer = cirq_mod.rx(2.0 * float(angles[1][k]))
            z_exp = [g * e for e in z_exponents]
            zz_exp = [g * e for e in zz_exponents]
            string_exp = [g * e for e in string_exponents]
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
        for entries in ladder_moments:
            ladder_ops = []
            for t, step in entries:
                term = higher[t]
                d = len(term)
                if step == d - 1:
                    rotation = zpow(exponent=string_exp[t], global_shift=-0.5)
                    ladder_ops.append(gate_op(rotation, (qubits[term[-1]],)))
                else:  # CNOT a -> a + 1 on the way up (step < d - 1), then back down
                    a = step if step < d - 1 else 2 * d - 2 - step
                    ladder_ops.append(gate_op(cnot, (qubits[term[a]], qubits[term[a + 1]])))
            moments.append(moment(ladder_ops))
        if n:
            moments.append(moment([gate_op(mixer, (q,)) for q in qubits]))
    built: cirq.Circuit = cirq_mod.Circuit.from_moments(*moments)
    return built


def _ladder_schedule(terms: list[list[int]]) -> list[list[tuple[int, int]]]:
    """Moments of the k-local terms' ladders: ``(term, step)`` pairs, step ``0..2d-2`` of a
    degree-``d`` term (``d - 1`` CNOTs up, the Z rotation at step ``d - 1``, ``d - 1`` down).

    Terms of one colour of :func:`~qevo_cirq.colouring.hyperedge_colouring` act on disjoint
    qubits, so their step ``j`` shares moment ``j`` of the colour's ``2 D - 1`` moments.
    """
    if not terms:
        return []
    colours, num_colours = hyperedge_colouring(terms)
    schedule: list[list[tuple[int, int]]] = []
    for c in range(num_colours):
        members = np.flatnonzero(colours == c).tolist()
        depth = 2 * max(len(terms[t]) for t in members) - 1
        block: list[list[tuple[int, int]]] = [[] for _ in range(depth)]
        for t in members:
            for step in range(2 * len(terms[t]) - 1):
                block[step].append((t, step))
        schedule.extend(block)
    return schedule


def cost_operator(hamiltonian: CostIR, *, max_bytes: int = DEFAULT_OPERATOR_BYTES) -> cirq.PauliSum:
    """The diagonal cost operator ``H_C`` as a ``cirq.PauliSum`` on ``LineQubit(i)``.

    Terms ``offset·I``, ``-h_i Z_i``, ``J_ij Z_i Z_j`` and, for a k-local polynomial,
    ``(-1)^d c_t Z_{t_1}…Z_{t_d}`` (nonzero ones), so that ``⟨b|H_C|b⟩ = E(decode(b))``; built as
    one ``LinearDict``.

    Parameters
    ----------
    hamiltonian : Hamiltonian or PolynomialHamiltonian
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
    terms.update(
        (frozenset(z_terms[i] for i in qubits), c)
        for qubits, c in zip(
            problem.higher_terms(), problem.z_string_coefficients().tolist(), strict=True
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
