"""SDK-free QAOA preparation shared by the Qiskit and Cirq backends.

It turns a :class:`~qevo_ir.hamiltonian.Hamiltonian` or a k-local
:class:`~qevo_ir.polynomial.PolynomialHamiltonian` into SPIN cost terms, checks options and
angles, enforces the statevector size limit, picks the angles ``solve`` uses and builds the
:class:`~qevo_ir.results.SampleResult`. Nothing here imports a vendor SDK (see
``specs/backend_qaoa.md``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.advice import did_you_mean
from qevo_ir.errors import LimitExceeded, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.polynomial import PolynomialHamiltonian
from qevo_ir.qaoa import (
    cost_diagonal,
    optimize_angles,
    polynomial_cost_diagonal,
    qaoa_expectation,
    statevector_memory_bytes,
)
from qevo_ir.results import SampleResult
from qevo_ir.vartypes import BINARY

__all__ = [
    "DEFAULT_OPERATOR_BYTES",
    "MAX_SIMULATED_QUBITS",
    "CostIR",
    "QAOAProblem",
    "SolveSettings",
    "angle_index",
    "angle_values",
    "check_operator_memory",
    "check_options",
    "check_simulation_size",
    "choose_angles",
    "float_list",
    "format_bytes",
    "prepare_solve",
    "resolve_angles",
    "sample_result",
    "solve_settings",
]

FloatArray = npt.NDArray[np.float64]
IndexArray = npt.NDArray[np.int64]

#: Most qubits ``statevector`` and ``solve`` simulate: a complex128 state is 1 GiB at 26 qubits,
#: and a simulator holds a few such buffers (state, diagonal, scratch) at once.
MAX_SIMULATED_QUBITS = 26

#: Default memory budget for a cost operator (Qiskit's symplectic table, Cirq's term objects).
DEFAULT_OPERATOR_BYTES = 2 << 30

_ANGLE_NAME = re.compile(r"^_?(gamma|beta)(?:\[(\d+)\]|_(\d+)_?)$")

_SOLVE_OPTIONS = frozenset(
    {"layers", "shots", "seed", "gammas", "betas", "optimize", "restarts", "simulator"}
)


def format_bytes(nbytes: int) -> str:
    """``nbytes`` in binary units, e.g. ``'1.0 GiB'``.

    Parameters
    ----------
    nbytes : int
        A byte count (``>= 0``).

    Returns
    -------
    str
        The count with one decimal in the largest unit below 1024 of it.
    """
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024.0 or unit == "PiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024.0
    raise AssertionError("unreachable")  # pragma: no cover


#: The IRs a QAOA backend lowers: quadratic, or k-local (its phase separator has one multi-qubit
#: Z rotation per term of degree 3 or more; ``specs/backend_qaoa.md``).
CostIR = Hamiltonian | PolynomialHamiltonian


@dataclass(frozen=True, eq=False)
class QAOAProblem:
    """The SPIN cost terms of a Hamiltonian or a PolynomialHamiltonian, in IR variable order
    (qubit ``i`` = variable ``i``).

    ``E(s) = offset + Σ_i linear_i s_i + Σ_k quad_k s_{row_k} s_{col_k}
    + Σ_t coeffs_t Π_{i ∈ term t} s_i`` (the last sum over the terms of degree ``>= 3``, CSR in
    ``term_ptr``/``term_vars``, empty for a Hamiltonian); only nonzero terms are kept (a zero
    term is the identity gate), the offset is kept as is.

    Attributes
    ----------
    num_qubits : int
        Number of variables, one qubit each.
    field_qubits, fields : numpy.ndarray
        Qubits with a nonzero linear term and those terms ``h_i`` (int64, float64).
    row, col, quad : numpy.ndarray
        Nonzero couplings ``J_k`` between qubits ``row_k < col_k`` in canonical IR order.
    offset : float
        Constant energy.
    term_ptr, term_vars, coeffs : numpy.ndarray
        Nonzero SPIN terms of degree ``>= 3`` (CSR, variables ascending within a term, in the
        polynomial's canonical order); empty for a quadratic IR.
    """

    num_qubits: int
    field_qubits: IndexArray
    fields: FloatArray
    row: IndexArray
    col: IndexArray
    quad: FloatArray
    offset: float
    term_ptr: IndexArray = field(default_factory=lambda: np.zeros(1, dtype=np.int64))
    term_vars: IndexArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    coeffs: FloatArray = field(default_factory=lambda: np.zeros(0, dtype=np.float64))

    @classmethod
    def from_hamiltonian(cls, hamiltonian: CostIR) -> QAOAProblem:
        """Exact SPIN terms of ``hamiltonian`` (a BINARY IR is converted with ``to_spin``).

        Parameters
        ----------
        hamiltonian : Hamiltonian or PolynomialHamiltonian
            The IR to lower (a polynomial through :meth:`from_polynomial`).

        Returns
        -------
        QAOAProblem
            Its nonzero SPIN terms.

        Raises
        ------
        ValidationError
            If ``hamiltonian`` is not a :class:`Hamiltonian` (an embedded problem is lowered
            through its target Hamiltonian).
        """
        if isinstance(hamiltonian, PolynomialHamiltonian):
            return cls.from_polynomial(hamiltonian)
        if not isinstance(hamiltonian, Hamiltonian):
            raise ValidationError(
                "QAOA backends lower a qevo_ir Hamiltonian or PolynomialHamiltonian, got "
                f"{type(hamiltonian).__name__}; for an embedded problem lower its target "
                "Hamiltonian"
            )
        spin = hamiltonian.to_spin() if hamiltonian.vartype is BINARY else hamiltonian
        h = np.asarray(spin.linear, dtype=np.float64)
        field_qubits = np.flatnonzero(h).astype(np.int64)
        keep = np.flatnonzero(spin.quad)
        return cls(
            num_qubits=int(spin.num_variables),
            field_qubits=field_qubits,
            fields=h[field_qubits],
            row=np.asarray(spin.row, dtype=np.int64)[keep],
            col=np.asarray(spin.col, dtype=np.int64)[keep],
            quad=np.asarray(spin.quad, dtype=np.float64)[keep],
            offset=float(spin.offset),
        )

    @classmethod
    def from_polynomial(cls, polynomial: PolynomialHamiltonian) -> QAOAProblem:
        """Exact SPIN terms of a k-local ``polynomial`` (BINARY converted with ``to_spin``;
        above degree 16 that expansion is refused with ``LimitExceeded``). Degree-1 terms are
        the fields, degree-2 the couplings, the rest :attr:`term_ptr`/:attr:`term_vars`/
        :attr:`coeffs`; a polynomial of degree <= 2 gives the same problem as its Hamiltonian.
        """
        spin = polynomial.to_spin() if polynomial.vartype is BINARY else polynomial
        fields, h = spin.terms_of_degree(1)
        pairs, j = spin.terms_of_degree(2)
        deg = np.diff(spin.term_ptr)
        higher = np.flatnonzero((deg >= 3) & (spin.coeffs != 0))
        lengths = deg[higher]
        ptr = np.zeros(higher.size + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        # positions of the kept terms' variables: each term's start, then 0..d-1 within it
        starts = np.repeat(spin.term_ptr[higher], lengths)
        within = np.arange(int(ptr[-1]), dtype=np.int64) - np.repeat(ptr[:-1], lengths)
        keep_h = np.flatnonzero(h)
        keep_j = np.flatnonzero(j)
        return cls(
            num_qubits=int(spin.num_variables),
            field_qubits=np.ascontiguousarray(fields[keep_h, 0], dtype=np.int64),
            fields=np.asarray(h[keep_h], dtype=np.float64),
            row=np.ascontiguousarray(pairs[keep_j, 0], dtype=np.int64),
            col=np.ascontiguousarray(pairs[keep_j, 1], dtype=np.int64),
            quad=np.asarray(j[keep_j], dtype=np.float64),
            offset=float(spin.offset),
            term_ptr=ptr,
            term_vars=np.asarray(spin.term_vars[starts + within], dtype=np.int64),
            coeffs=np.asarray(spin.coeffs[higher], dtype=np.float64),
        )

    @property
    def num_terms(self) -> int:
        """Number of Pauli terms of the cost operator: identity, Z fields, ZZ couplings and the
        Z strings of the higher-degree terms."""
        return 1 + int(self.fields.size) + int(self.quad.size) + int(self.coeffs.size)

    @property
    def num_higher_terms(self) -> int:
        """Number of terms of degree ``>= 3`` (multi-qubit Z rotations)."""
        return int(self.coeffs.size)

    def higher_terms(self) -> list[list[int]]:
        """The qubits of each term of degree ``>= 3``, ascending (for building gates)."""
        flat = self.term_vars.tolist()
        bounds = self.term_ptr.tolist()
        return [flat[a:b] for a, b in itertools.pairwise(bounds)]

    def z_string_coefficients(self) -> FloatArray:
        """Coefficient of each higher term's Z string: ``Π s_i = (-1)^d Π Z_i`` (``s = -z``)."""
        deg = np.diff(self.term_ptr)
        return np.where(deg % 2 == 1, -self.coeffs, self.coeffs)

    def diagonal(self, backend: str) -> FloatArray:
        """The cost diagonal ``E(b)`` over all ``2**n`` little-endian basis states.

        Parameters
        ----------
        backend : str
            Backend name, for the error message.

        Returns
        -------
        numpy.ndarray of float64, shape (2**n,)
            :func:`qevo_ir.qaoa.cost_diagonal` of the terms, offset included.

        Raises
        ------
        LimitExceeded
            Above :data:`MAX_SIMULATED_QUBITS`.
        """
        check_simulation_size(self.num_qubits, backend)
        if not self.coeffs.size:
            return cost_diagonal(self.fields_dense(), self.row, self.col, self.quad, self.offset)
        ptr, idx, coef = self.spin_terms()
        return polynomial_cost_diagonal(
            ptr, idx, coef, self.offset, num_qubits=self.num_qubits, vartype="SPIN"
        )

    def spin_terms(self) -> tuple[IndexArray, IndexArray, FloatArray]:
        """Every SPIN term (fields, couplings, higher terms) as CSR ``(ptr, vars, coeffs)``."""
        nf, nq = self.fields.size, self.quad.size
        pair_vars = np.stack([self.row, self.col], axis=1).reshape(-1)
        idx = np.concatenate([self.field_qubits, pair_vars, self.term_vars]).astype(np.int64)
        ptr = np.concatenate(
            [
                np.arange(nf + 1, dtype=np.int64),
                nf + 2 * np.arange(1, nq + 1, dtype=np.int64),
                nf + 2 * nq + self.term_ptr[1:],
            ]
        )
        coef = np.concatenate([self.fields, self.quad, self.coeffs]).astype(np.float64)
        return ptr, idx, coef

    def fields_dense(self) -> FloatArray:
        """All ``n`` linear terms (zeros included)."""
        h = np.zeros(self.num_qubits, dtype=np.float64)
        h[self.field_qubits] = self.fields
        return h


def check_options(method: str, options: Mapping[str, Any], accepted: frozenset[str]) -> None:
    """Raise :class:`ValidationError` naming any option of ``method`` outside ``accepted``."""
    unknown = sorted(set(options) - accepted)
    if unknown:
        hint = did_you_mean(unknown[0], accepted)
        raise ValidationError(
            f"{method}() got unknown option(s) {unknown}{hint}; accepted: {sorted(accepted)}"
        )


def _as_angles(name: str, values: Any) -> FloatArray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name} must be a sequence of real angles ({exc})") from exc
    if arr.ndim != 1:
        raise ValidationError(f"{name} must be one-dimensional (one per layer), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValidationError(f"{name} must be finite, got {arr.tolist()}")
    return arr


def _check_layers(layers: Any) -> int:
    if isinstance(layers, bool) or not isinstance(layers, int | np.integer):
        raise ValidationError(f"layers must be an integer >= 0, got {layers!r}")
    if layers < 0:
        raise ValidationError(f"layers must be >= 0, got {layers}")
    return int(layers)


def resolve_angles(
    layers: Any = None, gammas: Any = None, betas: Any = None
) -> tuple[int, tuple[FloatArray, FloatArray] | None]:
    """The depth ``p`` and, when given, the validated angles.

    Parameters
    ----------
    layers : int, optional
        Depth ``p >= 0``; defaults to ``len(gammas)`` when angles are given, else 1.
    gammas, betas : sequence of float, optional
        Cost and mixer angles, both or neither, each of length ``p``.

    Returns
    -------
    tuple
        ``(p, None)`` for a parameterised circuit, ``(p, (gammas, betas))`` for bound angles.

    Raises
    ------
    ValidationError
        On one of gammas/betas without the other, unequal lengths, a length other than
        ``layers``, non-finite angles or a bad ``layers``.
    """
    p = None if layers is None else _check_layers(layers)
    if gammas is None and betas is None:
        return (1 if p is None else p), None
    if gammas is None or betas is None:
        raise ValidationError("give both gammas= and betas= (one angle each per layer) or neither")
    g = _as_angles("gammas", gammas)
    b = _as_angles("betas", betas)
    if g.size != b.size:
        raise ValidationError(f"gammas has {g.size} angles but betas has {b.size}; one per layer")
    if p is not None and p != g.size:
        raise ValidationError(f"layers={p} but {g.size} gammas/betas were given; drop layers=")
    return int(g.size), (g, b)


def angle_index(name: str) -> tuple[str, int] | None:
    """``('gamma', k)`` / ``('beta', k)`` for a circuit parameter name, else ``None``.

    Accepted spellings: Qiskit's ``gamma[k]``, OpenQASM 3's ``_gamma_k_`` and Cirq's
    ``gamma_k``.
    """
    match = _ANGLE_NAME.match(name)
    if match is None:
        return None
    digits = match.group(2) if match.group(2) is not None else match.group(3)
    return match.group(1), int(digits)


def angle_values(names: list[str], gammas: Any, betas: Any, backend: str) -> dict[str, float]:
    """Values for a circuit's free angle parameters, by name.

    Parameters
    ----------
    names : list of str
        The circuit's free parameter names.
    gammas, betas : sequence of float or None
        The angles (``None`` only when ``names`` is empty).
    backend : str
        Backend name, for messages.

    Returns
    -------
    dict
        ``{name: value}`` for every name.

    Raises
    ------
    ValidationError
        On a parameter that is not an angle, an angle index beyond the given angles, or
        missing angles for a parameterised circuit.
    """
    if not names:
        return {}
    if gammas is None or betas is None:
        raise ValidationError(
            f"{backend}: the circuit has free parameters {sorted(names)}; pass gammas= and betas="
        )
    _, angles = resolve_angles(None, gammas, betas)
    assert angles is not None
    table = {"gamma": angles[0], "beta": angles[1]}
    values: dict[str, float] = {}
    for name in names:
        parsed = angle_index(name)
        if parsed is None:
            raise ValidationError(
                f"{backend}: circuit parameter {name!r} is not a QAOA angle "
                "(expected gamma[k]/beta[k], _gamma_k_/_beta_k_ or gamma_k/beta_k)"
            )
        family, k = parsed
        if k >= table[family].size:
            raise ValidationError(
                f"{backend}: the circuit uses {name!r} but only {table[family].size} "
                f"{family}s were given"
            )
        values[name] = float(table[family][k])
    return values


def check_simulation_size(n: int, backend: str) -> None:
    """Refuse to simulate more than :data:`MAX_SIMULATED_QUBITS` qubits, naming the memory.

    Raises
    ------
    LimitExceeded
        If ``n > MAX_SIMULATED_QUBITS``.
    """
    if n > MAX_SIMULATED_QUBITS:
        need = statevector_memory_bytes(n)
        cap = statevector_memory_bytes(MAX_SIMULATED_QUBITS)
        raise LimitExceeded(
            f"{backend}: simulating {n} qubits needs a complex128 statevector of "
            f"{format_bytes(need)} ({need} bytes); this backend simulates at most "
            f"{MAX_SIMULATED_QUBITS} qubits ({format_bytes(cap)}). lower() and write() work at "
            "any size; to simulate, reduce the problem (fix variables or take a subproblem)"
        )


def check_operator_memory(
    what: str, num_terms: int, num_qubits: int, nbytes: int, max_bytes: int
) -> None:
    """Refuse a cost operator whose estimated size ``nbytes`` exceeds ``max_bytes``.

    Raises
    ------
    LimitExceeded
        Naming the terms, qubits and memory, and the ``max_bytes=`` option that raises the cap.
    """
    if nbytes > max_bytes:
        raise LimitExceeded(
            f"{what} of {num_terms} terms on {num_qubits} qubits needs about "
            f"{format_bytes(nbytes)}, over the {format_bytes(max_bytes)} budget; pass a larger "
            "max_bytes= if the memory is there, or sparsify the Hamiltonian first"
        )


@dataclass(frozen=True)
class SolveSettings:
    """Validated options of a QAOA ``solve``."""

    layers: int
    angles: tuple[FloatArray, FloatArray] | None
    shots: int
    seed: int | None
    optimize: bool
    restarts: int
    simulator: str


def solve_settings(options: Mapping[str, Any], simulators: tuple[str, ...]) -> SolveSettings:
    """Parse ``solve`` options: layers, shots, seed, gammas, betas, optimize, restarts, simulator.

    Parameters
    ----------
    options : mapping
        The keyword options given to ``solve``.
    simulators : tuple of str
        Accepted ``simulator=`` values; the first is the default.

    Returns
    -------
    SolveSettings
        The options, checked.

    Raises
    ------
    ValidationError
        On an unknown option or a bad value (the message names it).
    """
    check_options("solve", options, _SOLVE_OPTIONS)
    layers, angles = resolve_angles(
        options.get("layers"), options.get("gammas"), options.get("betas")
    )
    shots = options.get("shots", 1024)
    if isinstance(shots, bool) or not isinstance(shots, int | np.integer) or shots < 1:
        raise ValidationError(f"shots must be an integer >= 1, got {shots!r}")
    seed = options.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32
    ):
        raise ValidationError(f"seed must be None or an integer in [0, 2**32), got {seed!r}")
    restarts = options.get("restarts", 4)
    if isinstance(restarts, bool) or not isinstance(restarts, int | np.integer) or restarts < 1:
        raise ValidationError(f"restarts must be an integer >= 1, got {restarts!r}")
    simulator = options.get("simulator", simulators[0])
    if simulator not in simulators:
        raise ValidationError(f"simulator must be one of {list(simulators)}, got {simulator!r}")
    optimize = options.get("optimize", True)
    if not isinstance(optimize, bool):
        raise ValidationError(f"optimize must be True or False, got {optimize!r}")
    if angles is None and not optimize:
        raise ValidationError("optimize=False needs the angles: pass gammas= and betas=")
    return SolveSettings(
        layers=layers,
        angles=angles,
        shots=int(shots),
        seed=None if seed is None else int(seed),
        optimize=optimize,
        restarts=int(restarts),
        simulator=str(simulator),
    )


def choose_angles(
    diagonal: FloatArray, settings: SolveSettings
) -> tuple[FloatArray, FloatArray, dict[str, Any]]:
    """The angles ``solve`` runs: the given ones, or optimised on the fast numpy path.

    Parameters
    ----------
    diagonal : numpy.ndarray
        The cost diagonal (:meth:`QAOAProblem.diagonal`).
    settings : SolveSettings
        The parsed options.

    Returns
    -------
    tuple
        ``(gammas, betas, info)``; ``info`` says where the angles came from and, when
        optimised, the evaluations, seconds and restarts :func:`qevo_ir.qaoa.optimize_angles`
        reported.
    """
    if settings.angles is not None:
        g, b = settings.angles
        return g, b, {"angles": "given"}
    found = optimize_angles(
        diagonal, settings.layers, seed=settings.seed, restarts=settings.restarts
    )
    info = {
        "angles": "optimized",
        "optimizer_evaluations": int(found.evaluations),
        "optimizer_seconds": float(found.seconds),
        "optimizer_restarts": int(found.restarts),
    }
    return np.asarray(found.gammas, np.float64), np.asarray(found.betas, np.float64), info


def prepare_solve(
    hamiltonian: CostIR,
    options: Mapping[str, Any],
    simulators: tuple[str, ...],
    backend: str,
) -> tuple[SolveSettings, int, FloatArray, FloatArray, dict[str, Any]]:
    """What every QAOA backend's ``solve`` does before it simulates a circuit.

    Parses the options (:func:`solve_settings`), checks the size and builds the cost diagonal,
    chooses the angles (:func:`choose_angles`) and starts the result's ``info``.

    Returns
    -------
    tuple
        ``(settings, num_qubits, gammas, betas, info)``; ``info`` holds the angles,
        ``expectation`` (⟨H_C⟩ on the fast path), ``layers``, ``shots``, ``seed`` and where the
        angles came from. The backend adds ``simulator``.
    """
    settings = solve_settings(options, simulators)
    problem = QAOAProblem.from_hamiltonian(hamiltonian)
    diagonal = problem.diagonal(backend)
    gammas, betas, angle_info = choose_angles(diagonal, settings)
    info: dict[str, Any] = {
        "gammas": float_list(gammas),
        "betas": float_list(betas),
        "expectation": qaoa_expectation(diagonal, gammas, betas),
        "layers": int(gammas.size),
        "shots": settings.shots,
        "seed": settings.seed,
        **angle_info,
    }
    return settings, problem.num_qubits, gammas, betas, info


def sample_result(
    hamiltonian: CostIR,
    bits: npt.NDArray[np.int8],
    occurrences: npt.ArrayLike | None,
    info: dict[str, Any],
    shots: int,
) -> SampleResult:
    """Samples of measured bits (column ``i`` = qubit ``i`` = variable ``i``) in the IR.

    A bit 1 is BINARY 1 is SPIN +1; energies are recomputed from ``hamiltonian``.

    Parameters
    ----------
    hamiltonian : Hamiltonian or PolynomialHamiltonian
        The IR that was lowered (its vartype is the result's).
    bits : numpy.ndarray of int8, shape (m, n)
        Measured bits.
    occurrences : array_like, optional
        How often each row was seen (default once each).
    info : dict
        Solver information to attach.
    shots : int
        Number of shots (used for a problem without variables, which has one outcome).

    Returns
    -------
    SampleResult
        Distinct samples sorted by IR energy.
    """
    n = hamiltonian.num_variables
    if n == 0:
        empty = np.zeros((1, 0), dtype=np.int8)
        return SampleResult(
            samples=empty,
            energies=hamiltonian.energies(empty),
            num_occurrences=np.array([shots], dtype=np.int64),
            variables=hamiltonian.variables,
            vartype=hamiltonian.vartype,
            info=dict(info),
        )
    return SampleResult.from_samples(
        hamiltonian,  # type: ignore[arg-type]  # duck-typed: energies, variables, vartype
        bits,
        vartype=BINARY,
        num_occurrences=occurrences,
        info=info,
    )


def float_list(values: FloatArray) -> list[float]:
    """Angles as plain floats for ``SampleResult.info`` (JSON-friendly)."""
    return [float(v) for v in values]
