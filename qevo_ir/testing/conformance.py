"""The backend conformance kit: the equivalence properties every backend (ours or a third party's)
must satisfy, as plain functions a backend's own tests call, and :func:`check_backend`, which
drives them with Hypothesis according to what the backend declares.

Each ``run_*`` function checks one property on one input and raises
:class:`~qevo_ir.errors.VerificationError` naming the backend, the property and the mismatch; it
returns a one-line description of what was checked. The contract is in ``specs/backends.md``.
Importing this module needs ``hypothesis`` (the ``test`` extra); nothing here imports a vendor SDK.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from qevo_ir.backend import Backend, Capabilities, check_capabilities
from qevo_ir.conventions import basis_index_to_bits
from qevo_ir.errors import (
    BackendUnavailable,
    CapabilityError,
    LimitExceeded,
    QevoError,
    ValidationError,
    VerificationError,
)
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.polynomial import PolynomialHamiltonian
from qevo_ir.results import SampleResult
from qevo_ir.testing.strategies import hamiltonians
from qevo_ir.vartypes import BINARY, SPIN, Vartype, binary_to_spin
from qevo_ir.verify import (
    EXHAUSTIVE_MAX_VARIABLES,
    assignments_for_check,
    check_energy_lowering,
    check_exact_solution,
    check_qaoa_lowering,
    equal_up_to_global_phase,
)

__all__ = [
    "GROUND_MAX_VARIABLES",
    "PROPERTIES",
    "QAOA_MAX_QUBITS",
    "ConformanceReport",
    "check_backend",
    "check_sample_result",
    "ground_energy",
    "properties_of",
    "random_hamiltonian",
    "reproducer",
    "run_artifact_roundtrip",
    "run_capability_conformance",
    "run_certified_conformance",
    "run_energy_conformance",
    "run_qaoa_agreement",
    "run_qaoa_conformance",
    "run_sampling_conformance",
]

#: The properties :func:`check_backend` knows, in the order it runs them.
PROPERTIES: tuple[str, ...] = (
    "capabilities",
    "energy",
    "qaoa",
    "artifacts",
    "sampling",
    "certified",
)

#: :func:`ground_energy` enumerates ``2**n`` assignments up to this size (about 1 s at 20).
GROUND_MAX_VARIABLES = 20

#: The QAOA checks build ``2**n`` statevectors; :func:`check_backend` draws at most this many.
QAOA_MAX_QUBITS = 6

#: Rows of the assignment table built at once by :func:`ground_energy` (bounds its memory).
_GROUND_CHUNK = 1 << 16

#: Largest ``max_variables`` for which the capability check builds an over-limit problem.
_OVERSIZE_MAX = 1_000_000


# ----------------------------------------------------------------------------- helpers
def _name(backend: Any) -> str:
    return str(getattr(backend, "name", type(backend).__name__))


def _fail_named(name: str, prop: str, detail: str) -> VerificationError:
    return VerificationError(f"backend {name!r}, property {prop!r}: {detail}")


def _fail(backend: Any, prop: str, detail: str) -> VerificationError:
    return _fail_named(_name(backend), prop, detail)


def _tolerance(*hams: Hamiltonian | PolynomialHamiltonian) -> float:
    """Absolute energy tolerance: 1e-9 of the largest possible |E| (the sum of |coefficients|)."""
    return 1e-9 * (1.0 + sum(ham.l1_norm() for ham in hams))


def _is_embedded(problem: object) -> bool:
    return hasattr(problem, "chains") and hasattr(problem, "target")


def _reference(problem: Any) -> Hamiltonian:
    """The Hamiltonian whose energies a lowering of ``problem`` must reproduce."""
    ham = problem.target if _is_embedded(problem) else problem
    if not isinstance(ham, Hamiltonian):
        raise ValidationError(
            "the conformance kit checks a Hamiltonian or an EmbeddedHamiltonian, got "
            f"{type(problem).__name__}"
        )
    return ham


def _method(backend: Any, name: str) -> Callable[..., Any] | None:
    method = getattr(backend, name, None)
    return method if callable(method) else None


def _basis_energies(ham: Hamiltonian | PolynomialHamiltonian) -> npt.NDArray[np.float64]:
    """``E(decode(b))`` for every basis index ``b`` (little-endian, bit 1 = SPIN +1 = BINARY 1)."""
    n = ham.num_variables
    bits = basis_index_to_bits(np.arange(1 << n, dtype=np.int64), n)
    values = binary_to_spin(bits) if ham.vartype is SPIN else bits
    return ham.energies(values)


def properties_of(backend: Any) -> tuple[str, ...]:
    """The properties of :data:`PROPERTIES` that apply to ``backend``, from what it declares.

    ``energy`` needs ``native_energies``; ``qaoa`` needs ``statevector``; ``artifacts`` needs
    declared ``capabilities.artifacts`` and ``read_artifact``; ``sampling`` needs
    ``capabilities.samples`` or ``capabilities.exact``; ``certified`` needs
    ``capabilities.certified``. ``capabilities`` always applies.
    """
    caps: Capabilities = backend.capabilities
    found = ["capabilities"]
    if _method(backend, "native_energies") is not None:
        found.append("energy")
    if _method(backend, "statevector") is not None:
        found.append("qaoa")
    if caps.artifacts and _method(backend, "read_artifact") is not None:
        found.append("artifacts")
    if caps.samples or caps.exact:
        found.append("sampling")
    if getattr(caps, "certified", False):
        found.append("certified")
    return tuple(found)


def ground_energy(
    hamiltonian: Hamiltonian, *, max_variables: int = GROUND_MAX_VARIABLES
) -> tuple[float, int]:
    """The exact ground energy and its degeneracy, by enumeration independent of any backend.

    Enumerates in chunks of 65 536 assignments; holds the 2**n energies (8 MiB at n = 20).

    Raises
    ------
    LimitExceeded
        When ``hamiltonian`` has more than ``max_variables`` variables.
    """
    n = hamiltonian.num_variables
    if n > max_variables:
        raise LimitExceeded(
            f"ground_energy enumerates 2**n assignments and takes n <= {max_variables}; this "
            f"problem has n = {n}"
        )
    lo, hi = hamiltonian.vartype.values
    total = 1 << n
    energies = np.empty(total, dtype=np.float64)  # 8 MiB at n = 20
    for start in range(0, total, _GROUND_CHUNK):
        idx = np.arange(start, min(start + _GROUND_CHUNK, total), dtype=np.int64)
        bits = ((idx[:, None] >> np.arange(n)) & 1).astype(np.int8)
        energies[start : start + len(idx)] = hamiltonian.energies(bits * (hi - lo) + lo)
    best = float(energies.min())
    count = int(np.count_nonzero(energies <= best + _tolerance(hamiltonian)))
    return best, count


def reproducer(hamiltonian: Hamiltonian, call: str = "") -> str:
    """Python source that rebuilds ``hamiltonian`` exactly (floats by ``repr``), then ``call``."""
    labels = None if hamiltonian.variables.is_range else list(hamiltonian.labels)
    lines = ["from qevo_ir import Hamiltonian, get_backend"]
    if call:
        lines.append(f"from qevo_ir.testing.conformance import {call.split('(', 1)[0].strip()}")
    lines += [
        "ham = Hamiltonian(",
        f"    linear={[float(x) for x in hamiltonian.linear]!r},",
        f"    row={[int(x) for x in hamiltonian.row]!r},",
        f"    col={[int(x) for x in hamiltonian.col]!r},",
        f"    quad={[float(x) for x in hamiltonian.quad]!r},",
        f"    offset={float(hamiltonian.offset)!r},",
        f"    vartype={hamiltonian.vartype.value!r},",
        f"    variables={labels!r},",
        "    keep_zeros=True,",
        ")",
    ]
    if call:
        lines.append(call)
    return "\n".join(lines)


# ----------------------------------------------------------------------------- properties
def run_energy_conformance(
    backend: Any,
    problem: Any,
    *,
    seed: int = 0,
    lower_options: Mapping[str, Any] | None = None,
) -> str:
    """The lowered object's own energies equal the IR's.

    ``problem`` is a Hamiltonian (every assignment checked for ``n ≤ 14``, 2048 random ones
    above) or an ``EmbeddedHamiltonian``: then the lowering must reproduce its ``target`` on
    (random) physical assignments, and, on chain-consistent assignments (every source
    assignment for ``n ≤ 14`` embedded), the ``source`` energies. Needs ``native_energies``.

    Raises
    ------
    VerificationError
        Naming the first assignment whose energies differ.
    """
    energies = _method(backend, "native_energies")
    if energies is None:
        raise _fail(backend, "energy", "the backend has no native_energies(native, samples)")
    ref = _reference(problem)
    rng = np.random.default_rng(seed)
    native = backend.lower(problem, **dict(lower_options or {}))
    ok, detail = check_energy_lowering(backend, native, ref, rng)
    if not ok:
        raise _fail(backend, "energy", detail)
    if _is_embedded(problem):
        source: Hamiltonian = problem.source
        src = assignments_for_check(source, rng, num_random=512)
        physical = problem.embed_samples(src)
        got = np.asarray(energies(native, physical), dtype=np.float64)
        want = source.energies(src)
        err = np.abs(got - want)
        if err.size and float(err.max()) > _tolerance(ref, source):
            k = int(np.argmax(err))
            raise _fail(
                backend,
                "energy",
                f"chain-consistent assignment {k} has energy {float(got[k])!r} in the lowered "
                f"embedded problem but {float(want[k])!r} in the source",
            )
        detail += f"; {len(src)} chain-consistent assignments reproduce the source energies"
    return detail


def run_qaoa_conformance(
    backend: Any, hamiltonian: Hamiltonian | PolynomialHamiltonian, layers: int = 1, seed: int = 0
) -> str:
    """The QAOA circuit of ``hamiltonian`` is the IR's QAOA (``specs/backend_qaoa.md``).

    With ``β = 0`` every basis state's phase is ``-Σγ·E(b)`` up to one global phase; at random
    ``(γ, β)`` the state equals :func:`qevo_ir.qaoa.qaoa_state` up to a global phase; and
    ``Σ_b |ψ_b|² E(b)`` (``E`` from :meth:`Hamiltonian.energies`, little-endian decoding)
    equals :func:`qevo_ir.qaoa.qaoa_expectation`. Needs ``statevector(native, gammas, betas)``
    and ``lower(hamiltonian, layers=p)``. The random angles are in ``[-π, π]``: keep
    ``Σ|c|`` moderate (say below 10⁶), or the phases ``γE`` lose their float64 precision.
    A k-local :class:`~qevo_ir.polynomial.PolynomialHamiltonian` is checked the same way (for
    backends whose ``lower`` takes one), against :func:`qevo_ir.qaoa.ir_cost_diagonal`.
    """
    from qevo_ir import qaoa

    statevector = _method(backend, "statevector")
    if statevector is None:
        raise _fail(backend, "qaoa", "the backend has no statevector(native, gammas, betas)")
    rng = np.random.default_rng(seed)
    native = backend.lower(hamiltonian, layers=layers)
    ok, detail = check_qaoa_lowering(backend, native, hamiltonian, rng, layers=layers)
    if not ok:
        raise _fail(backend, "qaoa", detail)
    diag = qaoa.ir_cost_diagonal(hamiltonian)
    energies = _basis_energies(hamiltonian)
    tol = _tolerance(hamiltonian) * 10
    if np.max(np.abs(diag - energies)) > tol:
        b = int(np.argmax(np.abs(diag - energies)))
        raise _fail(
            backend,
            "qaoa",
            f"the fast path's cost diagonal at basis state {b} is {float(diag[b])!r}, but the IR "
            f"energy of that assignment is {float(energies[b])!r}",
        )
    gammas = rng.uniform(-np.pi, np.pi, layers)
    betas = rng.uniform(-np.pi, np.pi, layers)
    state = np.asarray(statevector(native, gammas, betas), dtype=np.complex128)
    probs = np.abs(state) ** 2
    if abs(float(probs.sum()) - 1.0) > 1e-9:
        raise _fail(backend, "qaoa", f"the state has norm² {float(probs.sum())!r}, not 1")
    from_state = float(probs @ energies)
    fast = qaoa.qaoa_expectation(diag, gammas, betas)
    if abs(from_state - fast) > tol + 1e-9 * abs(fast):
        raise _fail(
            backend,
            "qaoa",
            f"<H_C> = Σ|ψ_b|²E(b) = {from_state!r} from the circuit but {fast!r} on the fast path "
            f"(p = {layers})",
        )
    return f"{detail}; <H_C> equals the fast path's ({fast:.6g})"


def run_qaoa_agreement(
    backends: Sequence[Any],
    hamiltonian: Hamiltonian | PolynomialHamiltonian,
    layers: int = 1,
    seed: int = 0,
) -> str:
    """Every backend's QAOA state at the same random ``(γ, β)`` (in ``[-π, π]``; keep the
    coefficients moderate, as for :func:`run_qaoa_conformance`) equals the fast path's and each
    other's, up to one global phase per backend (a PolynomialHamiltonian as well)."""
    from qevo_ir import qaoa

    rng = np.random.default_rng(seed)
    gammas = rng.uniform(-np.pi, np.pi, layers)
    betas = rng.uniform(-np.pi, np.pi, layers)
    diag = qaoa.ir_cost_diagonal(hamiltonian)
    want = qaoa.qaoa_state(diag, gammas, betas)
    states: list[tuple[str, npt.NDArray[np.complex128]]] = []
    for backend in backends:
        statevector = _method(backend, "statevector")
        if statevector is None:
            raise _fail(backend, "qaoa", "the backend has no statevector(native, gammas, betas)")
        native = backend.lower(hamiltonian, layers=layers)
        state = np.asarray(statevector(native, gammas, betas), dtype=np.complex128)
        if not equal_up_to_global_phase(state, want):
            raise _fail(
                backend,
                "qaoa",
                f"the state at gammas={gammas.tolist()}, betas={betas.tolist()} differs from "
                "the fast path's beyond a global phase",
            )
        for other, other_state in states:
            if not equal_up_to_global_phase(state, other_state):
                raise _fail(backend, "qaoa", f"its state differs from {other!r}'s at equal angles")
        states.append((_name(backend), state))
    names = ", ".join(name for name, _ in states) or "no backend"
    return f"{names} and the fast path agree up to a global phase (p = {layers})"


def run_artifact_roundtrip(
    backend: Any,
    problem: Any,
    directory: str | Path,
    *,
    seed: int = 0,
    lower_options: Mapping[str, Any] | None = None,
) -> str:
    """``write`` then ``read_artifact`` gives back an equivalent object, file by file.

    ``write`` into ``directory`` must produce exactly ``capabilities.artifacts`` (by name) and
    leave no other file behind (writes are atomic). Each file is read back and checked: by
    the energy check when the backend has ``native_energies``, else by the QAOA check when it
    has ``statevector`` (free angles random; angles bound at lowering, given in
    ``lower_options``, re-derived), else, for an exact backend, as a solution document with
    :func:`~qevo_ir.verify.check_exact_solution`.
    """
    caps: Capabilities = backend.capabilities
    read = _method(backend, "read_artifact")
    if read is None:
        raise _fail(backend, "artifacts", "the backend has no read_artifact(path)")
    opts = dict(lower_options or {})
    ref = _reference(problem)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    before = {p.name for p in folder.iterdir()}
    native = backend.lower(problem, **opts)
    paths = [Path(p) for p in backend.write(native, folder)]
    names = sorted(p.name for p in paths)
    if names != sorted(caps.artifacts):
        raise _fail(
            backend,
            "artifacts",
            f"write() produced {names}, but capabilities.artifacts declares "
            f"{sorted(caps.artifacts)}",
        )
    left = sorted({p.name for p in folder.iterdir()} - before - set(names))
    if left:
        raise _fail(
            backend, "artifacts", f"write() left files it did not report: {left} (write atomically)"
        )
    rng = np.random.default_rng(seed)
    details: list[str] = []
    for path in paths:
        if path.resolve().parent != folder.resolve():
            raise _fail(backend, "artifacts", f"{path} is outside the output directory {folder}")
        obj = read(path)
        if _method(backend, "native_energies") is not None:
            ok, detail = check_energy_lowering(backend, obj, ref, rng)
        elif _method(backend, "statevector") is not None:
            bound = None
            if opts.get("gammas") is not None:
                bound = (list(opts["gammas"]), list(opts["betas"]))
            layers = int(opts.get("layers") or (len(bound[0]) if bound else 1))
            ok, detail = check_qaoa_lowering(backend, obj, ref, rng, bound=bound, layers=layers)
        elif caps.exact:
            ok, detail = check_exact_solution(obj, ref)
        else:
            raise _fail(
                backend,
                "artifacts",
                "the backend writes artifacts but offers no way to check them (declare exact, "
                "or provide native_energies or statevector)",
            )
        if not ok:
            raise _fail(backend, "artifacts", f"{path.name} read back: {detail}")
        details.append(f"{path.name}: {detail}")
    return "; ".join(details)


def check_sample_result(
    result: SampleResult,
    hamiltonian: Hamiltonian,
    *,
    exact: bool = False,
    name: str = "solver",
) -> str:
    """A solver's result is consistent with ``hamiltonian``.

    Samples are ``(m, n)``, ``m ≥ 1``, in the IR's vartype and variables; every reported
    energy equals the IR energy of its sample; rows are sorted by energy; occurrences are
    positive; the best energy is not below the exact ground energy (enumerated independently
    for ``n ≤ 20``), and equals it when ``exact``.
    """
    prop = "sampling"
    if not isinstance(result, SampleResult):
        raise _fail_named(name, prop, f"solve() returned a {type(result).__name__}")
    n = hamiltonian.num_variables
    samples = np.asarray(result.samples)
    if samples.ndim != 2 or samples.shape[1] != n or samples.shape[0] < 1:
        raise _fail_named(name, prop, f"samples have shape {samples.shape}, expected (m >= 1, {n})")
    if result.vartype is not hamiltonian.vartype:
        raise _fail_named(
            name, prop, f"results are {result.vartype.value}, the IR is {hamiltonian.vartype.value}"
        )
    if tuple(result.variables.labels) != tuple(hamiltonian.labels):
        raise _fail_named(name, prop, "results are not in the IR's variables (labels differ)")
    lo, hi = hamiltonian.vartype.values
    if samples.size and not np.all((samples == lo) | (samples == hi)):
        raise _fail_named(name, prop, f"samples hold values outside {{{lo}, {hi}}}")
    reported = np.asarray(result.energies, dtype=np.float64)
    if reported.shape != (samples.shape[0],):
        raise _fail_named(name, prop, f"{reported.shape} energies for {samples.shape[0]} samples")
    want = hamiltonian.energies(samples)
    tol = _tolerance(hamiltonian)
    err = np.abs(reported - want)
    if float(err.max()) > tol:
        k = int(np.argmax(err))
        raise _fail_named(
            name,
            prop,
            f"sample {k} is reported with energy {float(reported[k])!r}, its IR energy is "
            f"{float(want[k])!r}",
        )
    if np.any(np.diff(reported) < -tol):
        raise _fail_named(name, prop, "samples are not sorted by energy")
    occ = np.asarray(result.num_occurrences)
    if occ.shape != reported.shape or np.any(occ < 1):
        raise _fail_named(name, prop, "num_occurrences must be one positive count per sample")
    best = float(reported.min())
    if n > GROUND_MAX_VARIABLES:
        return f"{len(reported)} samples carry their IR energies (best {best:.6g})"
    ground, _ = ground_energy(hamiltonian)
    if best < ground - tol:
        raise _fail_named(
            name, prop, f"best energy {best!r} is below the exact ground energy {ground!r}"
        )
    if exact and best > ground + tol:
        raise _fail_named(
            name,
            prop,
            f"an exact solver's best energy {best!r} is above the ground energy {ground!r}",
        )
    return (
        f"{len(reported)} samples carry their IR energies; best {best:.6g} >= exact ground "
        f"{ground:.6g}"
    )


def run_sampling_conformance(
    backend: Any, hamiltonian: Hamiltonian, seed: int | None = 0, **options: Any
) -> str:
    """``backend.solve(hamiltonian, seed=seed, **options)`` passes :func:`check_sample_result`.

    ``seed`` is passed to samplers only (``capabilities.samples``); an exact backend must reach
    the ground energy.
    """
    caps: Capabilities = backend.capabilities
    opts = dict(options)
    if caps.samples and seed is not None:
        opts.setdefault("seed", seed)
    result = backend.solve(hamiltonian, **opts)
    return check_sample_result(
        result, hamiltonian, exact=caps.exact and not caps.samples, name=_name(backend)
    )


def run_certified_conformance(backend: Any, hamiltonian: Hamiltonian, **options: Any) -> str:
    """A backend declaring ``certified`` proves the optimum of ``hamiltonian`` (``n ≤ 20``).

    Against an independent enumeration (:func:`ground_energy`): the best energy equals the
    ground energy, ``info["optimal"]`` is true, ``info["lower_bound"]`` is a valid bound (at most
    the ground energy) and not looser than the tolerance; with ``capabilities.degeneracy``,
    ``info["degeneracy"]`` equals the enumerated count.
    """
    prop = "certified"
    name = _name(backend)
    caps: Capabilities = backend.capabilities
    result = backend.solve(hamiltonian, **options)
    check_sample_result(result, hamiltonian, exact=True, name=name)
    ground, count = ground_energy(hamiltonian)
    tol = _tolerance(hamiltonian)
    info = result.info
    if info.get("optimal") is not True:
        raise _fail(backend, prop, f"info['optimal'] is {info.get('optimal')!r}, expected True")
    bound = info.get("lower_bound")
    if not isinstance(bound, int | float) or bound > ground + tol:
        raise _fail(
            backend, prop, f"lower_bound {bound!r} is not a bound on the ground energy {ground!r}"
        )
    if bound < ground - max(tol, 1e-6 * max(1.0, abs(ground))):
        raise _fail(
            backend, prop, f"a proved optimum's lower_bound {bound!r} is far below {ground!r}"
        )
    if caps.degeneracy and info.get("degeneracy") != count:
        raise _fail(
            backend,
            prop,
            f"degeneracy {info.get('degeneracy')!r}, enumeration counts {count} ground states",
        )
    return f"proved ground energy {ground:.6g}" + (
        f", degeneracy {count}" if caps.degeneracy else ""
    )


def run_capability_conformance(backend: Any) -> str:
    """The backend provides the protocol and honours its declared capabilities.

    ``name`` is a non-empty str, ``capabilities`` a :class:`Capabilities`; a backend that
    ``needs_embedding`` is refused a plain Hamiltonian by :func:`check_capabilities`; above
    ``max_variables`` (when stated and ≤ 10⁶), ``check_capabilities`` raises
    :class:`CapabilityError` naming the backend and the limit, and ``solve`` refuses the problem
    with a :class:`~qevo_ir.errors.QevoError` (``CapabilityError`` or ``LimitExceeded``) at once.
    A backend that does not need an embedding lowers a small problem of either vartype.
    """
    prop = "capabilities"
    if not isinstance(backend, Backend):
        raise _fail(
            backend,
            prop,
            "it lacks part of the Backend protocol (name, capabilities, lower, write, solve)",
        )
    if not isinstance(backend.name, str) or not backend.name:
        raise _fail(backend, prop, "name must be a non-empty str")
    caps = backend.capabilities
    if not isinstance(caps, Capabilities):
        raise _fail(backend, prop, f"capabilities is a {type(caps).__name__}, not Capabilities")
    if not caps.vartypes or not set(caps.vartypes) <= {SPIN, BINARY}:
        raise _fail(
            backend,
            prop,
            f"vartypes {caps.vartypes!r} must be a non-empty subset of {{SPIN, BINARY}}",
        )
    small = Hamiltonian([0.5, -1.0, 0.25], [0, 1], [1, 2], [1.0, -0.75], 0.5, vartype=SPIN)
    checked = ["protocol"]
    if caps.needs_embedding:
        try:
            check_capabilities(backend, small)
        except CapabilityError:
            checked.append("refuses unembedded problems")
        else:
            raise _fail(backend, prop, "needs_embedding is declared but a plain problem passes")
    else:
        for vt in (SPIN, BINARY):
            backend.lower(small.change_vartype(vt))
        checked.append("lowers SPIN and BINARY")
    limit = caps.max_variables
    if limit is not None and limit < _OVERSIZE_MAX:
        big = Hamiltonian(np.zeros(limit + 1), vartype=_native_vartype(caps))
        try:
            check_capabilities(backend, big)
        except CapabilityError as exc:
            text = str(exc)
            if backend.name not in text or str(limit) not in text:
                raise _fail(
                    backend, prop, f"the refusal does not name the backend and the limit: {text}"
                ) from exc
        else:
            raise _fail(
                backend, prop, f"check_capabilities accepts {limit + 1} > {limit} variables"
            )
        try:
            backend.solve(big)
        except (CapabilityError, LimitExceeded):
            pass
        except BackendUnavailable:
            raise
        except QevoError as exc:
            raise _fail(
                backend,
                prop,
                f"solve() above max_variables raised {type(exc).__name__}, not "
                f"CapabilityError or LimitExceeded: {exc}",
            ) from exc
        else:
            raise _fail(backend, prop, f"solve() accepted {limit + 1} > max_variables = {limit}")
        checked.append(f"refuses n = {limit + 1} > max_variables")
    return ", ".join(checked)


# ----------------------------------------------------------------------------- the driver
@dataclass(frozen=True)
class ConformanceReport:
    """What :func:`check_backend` ran: each property with its number of examples, and the
    properties that did not apply (with why)."""

    backend: str
    checked: dict[str, int] = field(default_factory=dict)
    not_applicable: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        ran = ", ".join(f"{k} ({v} examples)" for k, v in self.checked.items()) or "nothing"
        return f"backend {self.backend!r} conforms: {ran}"


def _settings(max_examples: int | None, derandomize: bool, shrink: bool) -> settings:
    phases = tuple(Phase) if shrink else tuple(p for p in Phase if p is not Phase.shrink)
    return settings(
        max_examples=settings().max_examples if max_examples is None else max_examples,
        deadline=None,
        derandomize=derandomize,
        database=None,
        phases=phases,
        report_multiple_bugs=False,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )


def _drive(
    backend: Any,
    prop: str,
    strategy: st.SearchStrategy[Any],
    check: Callable[[Any], object],
    describe: Callable[[Any], str],
    config: settings,
) -> int:
    """Run ``check`` on examples of ``strategy``; on failure raise VerificationError with the
    (shrunk) failing example as a reproducer. Returns the number of examples run."""
    failing: list[Any] = []
    count = [0]

    @config
    @given(strategy)
    def _property(example: Any) -> None:
        count[0] += 1
        try:
            check(example)
        except Exception:
            failing[:] = [example]  # the last failure is Hypothesis's shrunk, replayed example
            raise

    try:
        _property()
    except Exception as exc:
        if not failing:
            raise
        if isinstance(exc, VerificationError):
            message = str(exc)
        else:  # a crash is a failure of the property too
            message = f"backend {_name(backend)!r}, property {prop!r}: {type(exc).__name__}: {exc}"
        raise VerificationError(f"{message}\nreproducer:\n{describe(failing[0])}") from exc
    return count[0]


def check_backend(
    backend: Backend,
    *,
    max_examples: int | None = None,
    properties: Iterable[str] | None = None,
    max_variables: int = 8,
    solve_options: Mapping[str, Any] | None = None,
    derandomize: bool = True,
    shrink: bool = True,
) -> ConformanceReport:
    """Run every applicable conformance property on ``backend`` with Hypothesis; no pytest needed.

    Parameters
    ----------
    backend : Backend
        The backend object (``get_backend(name)`` or your own instance).
    max_examples : int, optional
        Examples per property (default: the current Hypothesis profile's).
    properties : iterable of str, optional
        A subset of :data:`PROPERTIES`; default every one that applies (:func:`properties_of`).
    max_variables : int
        Largest drawn problem (capped by ``capabilities.max_variables``; QAOA at
        :data:`QAOA_MAX_QUBITS`). The energy property also checks one 14-variable problem
        exhaustively and one 30-variable problem on sampled assignments.
    solve_options : mapping, optional
        Extra options for ``solve`` (e.g. ``{"num_reads": 10}`` to keep it fast).
    derandomize : bool
        Fixed examples (reproducible runs); ``False`` draws new ones each run.
    shrink : bool
        Shrink a failing example to a minimal one before reporting it (slower on failure).

    Returns
    -------
    ConformanceReport

    Raises
    ------
    VerificationError
        On the first failing property, naming it, with Python source that rebuilds the
        (shrunk) failing input and the call that fails.
    ValidationError
        On an unknown property name.
    """
    applicable = properties_of(backend)
    wanted = tuple(PROPERTIES if properties is None else properties)
    unknown = sorted(set(wanted) - set(PROPERTIES))
    if unknown:
        raise ValidationError(
            f"unknown conformance properties {unknown}; known: {list(PROPERTIES)}"
        )
    config = _settings(max_examples, derandomize, shrink)
    caps: Capabilities = backend.capabilities
    cap = caps.max_variables
    n_max = max_variables if cap is None else max(0, min(max_variables, cap))
    vartypes = st.sampled_from(sorted(caps.vartypes, key=lambda v: v.value))
    name = _name(backend)
    options = dict(solve_options or {})
    checked: dict[str, int] = {}
    skipped: dict[str, str] = {}

    def hams(limit: int, *, extreme: bool = False) -> st.SearchStrategy[Hamiltonian]:
        return vartypes.flatmap(
            lambda vt: hamiltonians(max_variables=limit, vartype=vt, extreme=extreme)
        )

    for prop in wanted:
        if prop not in applicable:
            skipped[prop] = _why_not(backend, prop)
            continue
        if prop == "capabilities":
            run_capability_conformance(backend)
            checked[prop] = 1
        elif prop == "energy":
            checked[prop] = _drive(
                backend,
                prop,
                st.one_of(hams(n_max), hams(n_max, extreme=True)),
                lambda h: run_energy_conformance(backend, h),
                lambda h: reproducer(h, f"run_energy_conformance(get_backend({name!r}), ham)"),
                config,
            )
            for n in (EXHAUSTIVE_MAX_VARIABLES, 30):
                if cap is None or n <= cap:
                    big = random_hamiltonian(n, _native_vartype(caps))
                    try:
                        run_energy_conformance(backend, big)
                    except VerificationError as exc:
                        call = f"run_energy_conformance(get_backend({name!r}), ham)"
                        raise VerificationError(
                            f"{exc}\nreproducer:\n{reproducer(big, call)}"
                        ) from exc
                    checked[prop] += 1
        elif prop == "qaoa":
            qmax = min(n_max, QAOA_MAX_QUBITS)
            checked[prop] = _drive(
                backend,
                prop,
                st.tuples(hams(qmax), st.integers(1, 3), st.integers(0, 2**31 - 1)),
                lambda a: run_qaoa_conformance(backend, a[0], layers=a[1], seed=a[2]),
                lambda a: reproducer(
                    a[0],
                    f"run_qaoa_conformance(get_backend({name!r}), ham, layers={a[1]}, seed={a[2]})",
                ),
                config,
            )
        elif prop == "artifacts":
            checked[prop] = _drive(
                backend,
                prop,
                hams(min(n_max, QAOA_MAX_QUBITS) if "qaoa" in applicable else n_max),
                lambda h: _roundtrip_in_tempdir(backend, h),
                lambda h: reproducer(
                    h, f"run_artifact_roundtrip(get_backend({name!r}), ham, 'out')"
                ),
                config,
            )
        elif prop == "sampling":
            smax = min(n_max, QAOA_MAX_QUBITS) if "qaoa" in applicable else n_max
            checked[prop] = _drive(
                backend,
                prop,
                st.tuples(hams(smax), st.integers(0, 2**31 - 1)),
                lambda a: run_sampling_conformance(backend, a[0], seed=a[1], **options),
                lambda a: reproducer(
                    a[0],
                    f"run_sampling_conformance(get_backend({name!r}), ham, seed={a[1]}"
                    + "".join(f", {k}={v!r}" for k, v in options.items())
                    + ")",
                ),
                config,
            )
        elif prop == "certified":
            cmax = min(n_max, GROUND_MAX_VARIABLES)
            checked[prop] = _drive(
                backend,
                prop,
                hams(cmax),
                lambda h: run_certified_conformance(backend, h, **options),
                lambda h: reproducer(
                    h,
                    f"run_certified_conformance(get_backend({name!r}), ham"
                    + "".join(f", {k}={v!r}" for k, v in options.items())
                    + ")",
                ),
                config,
            )
    return ConformanceReport(name, checked, skipped)


def _why_not(backend: Any, prop: str) -> str:
    return {
        "energy": "no native_energies(native, samples)",
        "qaoa": "no statevector(native, gammas, betas)",
        "artifacts": "no declared artifacts or no read_artifact(path)",
        "sampling": "capabilities declare neither samples nor exact",
        "certified": "capabilities do not declare certified",
    }.get(prop, "not applicable")


def _roundtrip_in_tempdir(backend: Any, ham: Hamiltonian) -> str:
    folder = tempfile.mkdtemp(prefix="qevo-conformance-")
    try:
        return run_artifact_roundtrip(backend, ham, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _native_vartype(caps: Capabilities) -> Vartype:
    """SPIN when the backend takes it natively, else BINARY."""
    return SPIN if SPIN in caps.vartypes else BINARY


def random_hamiltonian(n: int, vartype: Vartype | str = SPIN, seed: int = 0) -> Hamiltonian:
    """A reproducible random problem on ``n ≥ 2`` variables: a ring plus ``2n`` random chords,
    normal coefficients and offset (for fixed-size checks beside the Hypothesis ones)."""
    if n < 2:
        raise ValidationError(f"random_hamiltonian needs n >= 2, got {n}")
    rng = np.random.default_rng([seed, n])
    ring = np.arange(n, dtype=np.int64)
    chords_u = rng.integers(0, n, size=2 * n)
    chords_v = rng.integers(0, n, size=2 * n)
    keep = chords_u != chords_v
    row = np.concatenate([ring, chords_u[keep]])
    col = np.concatenate([(ring + 1) % n, chords_v[keep]])
    quad = rng.normal(size=len(row))
    return Hamiltonian(rng.normal(size=n), row, col, quad, float(rng.normal()), vartype=vartype)
