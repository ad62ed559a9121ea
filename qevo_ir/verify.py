"""Equivalence checks between the IR and what a backend made of it, and ``qevo verify``.

The same checks serve the conformance suite (in-process, on native objects) and ``qevo verify``
(on written artifacts). Vendor readers are not safe on malformed files, so ``verify_directory``
reads each artifact in a worker process with memory and time limits and reports a crash, a
blow-up or a timeout as a clean failure.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import FormatError, LimitExceeded, VerificationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.polynomial import PolynomialHamiltonian
from qevo_ir.printable import printable

__all__ = [
    "CheckResult",
    "assignments_for_check",
    "check_energy_by_label",
    "check_energy_lowering",
    "check_exact_solution",
    "check_qaoa_lowering",
    "check_source_tie",
    "equal_up_to_global_phase",
    "printable",
    "read_report",
    "verify_directory",
    "worker_memory_limit",
]

EXHAUSTIVE_MAX_VARIABLES = 14
QAOA_CHECK_MAX_QUBITS = 16
QAOA_CHECK_MAX_LAYERS = 1000
WORKER_MEMORY_BYTES = 4 << 30
WORKER_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``ok``, what was checked, and the mismatch when not ok."""

    artifact: str
    check: str
    ok: bool
    detail: str

    def line(self) -> str:
        """One output line; names and details escaped (see :func:`printable`)."""
        status = "ok  " if self.ok else "FAIL"
        return (
            f"{status}  {printable(self.artifact):<26} {printable(self.check):<9} "
            f"{printable(self.detail)}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "artifact": self.artifact,
            "check": self.check,
            "ok": self.ok,
            "detail": self.detail,
        }


def _tolerance(ham: Hamiltonian) -> float:
    return 1e-9 * (1.0 + ham.l1_norm())


def assignments_for_check(
    ham: Hamiltonian, rng: np.random.Generator, num_random: int = 2048
) -> npt.NDArray[np.int8]:
    """Every assignment for ``n ≤ 14``; otherwise ``num_random`` random ones (IR vartype)."""
    n = ham.num_variables
    lo, hi = ham.vartype.values
    if n <= EXHAUSTIVE_MAX_VARIABLES:
        idx = np.arange(1 << n, dtype=np.int64)
        bits = ((idx[:, None] >> np.arange(n)) & 1).astype(np.int8)
    else:
        bits = rng.integers(0, 2, size=(num_random, n), dtype=np.int8)
    return (bits * (hi - lo) + lo).astype(np.int8)


def check_energy_lowering(
    backend: Any, native: Any, ham: Hamiltonian, rng: np.random.Generator
) -> tuple[bool, str]:
    """The backend object's own energies equal the IR's on every (or sampled) assignment."""
    samples = assignments_for_check(ham, rng)
    got = np.asarray(backend.native_energies(native, samples), dtype=np.float64)
    want = ham.energies(samples)
    err = float(np.max(np.abs(got - want))) if len(want) else 0.0
    how = "all" if ham.num_variables <= EXHAUSTIVE_MAX_VARIABLES else "sampled"
    if err > _tolerance(ham):
        k = int(np.argmax(np.abs(got - want)))
        return False, (
            f"energy mismatch on {how} assignments: row {k} gives {float(got[k])!r} in the "
            "artifact, "
            f"{float(want[k])!r} in the IR"
        )
    return True, f"energies equal on {len(samples)} {how} assignments (max error {err:.3g})"


def equal_up_to_global_phase(
    a: npt.NDArray[np.complex128], b: npt.NDArray[np.complex128], atol: float = 1e-7
) -> bool:
    """Whether ``a = e^{iφ} b`` for one phase ``φ``."""
    if a.shape != b.shape:
        return False
    k = int(np.argmax(np.abs(b)))
    if abs(b[k]) < 1e-12:
        return bool(np.allclose(a, b, atol=atol))
    phase = a[k] / b[k]
    if abs(abs(phase) - 1) > 1e-6:
        return False
    return bool(np.allclose(a, phase * b, atol=atol))


def check_qaoa_lowering(
    backend: Any,
    native: Any,
    ham: Hamiltonian | PolynomialHamiltonian,
    rng: np.random.Generator,
    *,
    bound: tuple[list[float], list[float]] | None = None,
    layers: int = 1,
) -> tuple[bool, str]:
    """The circuit's state equals the fast path's up to a global phase; with β = 0 the phases
    equal ``-γE(b)``. ``bound``: the angles already bound into the circuit, if any. ``ham``
    may be a k-local PolynomialHamiltonian (its diagonal: :func:`qevo_ir.qaoa.ir_cost_diagonal`).
    """
    from qevo_ir import qaoa

    n = ham.num_variables
    diag = qaoa.ir_cost_diagonal(ham)
    if bound is not None:
        gammas, betas = np.asarray(bound[0]), np.asarray(bound[1])
        state = np.asarray(backend.statevector(native), dtype=np.complex128)
        want = qaoa.qaoa_state(diag, gammas, betas)
        if not equal_up_to_global_phase(state, want):
            return False, "statevector at the bound angles differs from the IR's QAOA state"
        return True, f"statevector at the bound angles equals the IR's ({n} qubits)"
    # gamma * (E(b) - E(0)) stays within a few radians, so the phases keep their float64
    # precision however large the coefficients (|gamma * E| past ~1e9 would make them noise).
    spread = float(np.ptp(diag)) if len(diag) else 0.0
    gammas = rng.uniform(-np.pi, np.pi, layers) / max(1.0, spread)
    zeros = np.zeros(layers)
    state = np.asarray(backend.statevector(native, gammas, zeros), dtype=np.complex128)
    phase = np.angle(state * np.conj(state[0])) if len(state) else state
    want_phase = -gammas.sum() * (diag - diag[0])
    diff = np.angle(np.exp(1j * (phase - want_phase)))
    if np.max(np.abs(diff)) > 1e-6 or not np.allclose(np.abs(state) ** 2, 2.0**-n, atol=1e-9):
        b = int(np.argmax(np.abs(diff)))
        return False, f"with beta = 0 the phase of basis state {b} is not -gamma*E(b)"
    betas = rng.uniform(-np.pi, np.pi, layers)
    state = np.asarray(backend.statevector(native, gammas, betas), dtype=np.complex128)
    if not equal_up_to_global_phase(state, qaoa.qaoa_state(diag, gammas, betas)):
        return False, "statevector at random angles differs from the IR's QAOA state"
    return True, (
        f"phases equal -gamma*E(b) for all {1 << n} basis states; state equals the IR's at "
        f"random angles (p = {layers})"
    )


def _label_key(label: Any) -> Any:
    """A hashable, JSON-independent form of a label (JSON lists are tuples)."""
    if isinstance(label, list | tuple):
        return tuple(_label_key(x) for x in label)
    return label


def _json_label(label: Any) -> Any:
    return [_json_label(x) for x in label] if isinstance(label, tuple) else label


def _exact_json_key(label: Any) -> str:
    j = _json_label(label)
    return j if isinstance(j, str) else json.dumps(j)


def _columns_by_name(labels: Any, ham: Hamiltonian, what: str) -> npt.NDArray[np.int64] | str:
    """``perm`` with ``artifact column k = IR variable perm[k]``, or why the labels differ."""
    if not isinstance(labels, list) or len(labels) != ham.num_variables:
        return (
            f"{what} has {len(labels) if isinstance(labels, list) else 'no'} labels, the IR "
            f"{ham.num_variables}"
        )
    index = {_label_key(x): i for i, x in enumerate(ham.labels)}
    try:
        perm = [index[_label_key(x)] for x in labels]
    except (KeyError, TypeError):
        return f"{what} names variables the IR does not have"
    if len(set(perm)) != len(perm):
        return f"{what} repeats a variable label"
    return np.asarray(perm, dtype=np.int64)


def check_exact_solution(document: dict[str, Any], ham: Hamiltonian) -> tuple[bool, str]:
    """An ``exact.json`` against the IR it claims to solve, trusting none of its fields.

    Checked: it was computed for this IR (``source_hash``, ``vartype``, ``num_variables``);
    labels are matched by name (columns reordered, never compared by position); every listed
    ground state is a distinct assignment with the stated energy and the ``ground_states``
    mapping says the same; the ground energy and degeneracy are re-derived by enumeration
    (n ≤ 24); above that each listed state is checked to be a local minimum and no sampled
    assignment may lie below it.
    """
    try:
        if document.get("source_hash") != ham.content_hash():
            return False, "exact.json was computed for another problem (source_hash differs)"
        if document.get("vartype") != ham.vartype.value:
            return False, f"exact.json vartype {document.get('vartype')!r} is not the IR's"
        energy = document["ground_energy"]
        degeneracy = document["degeneracy"]
        if type(energy) not in (int, float) or not np.isfinite(energy):
            return False, "exact.json ground_energy is not a finite number"
        if type(degeneracy) is not int or degeneracy < 1:
            return False, "exact.json degeneracy is not a positive integer"
        energy = float(energy)
        perm = _columns_by_name(document.get("labels"), ham, "exact.json")
        if isinstance(perm, str):
            return False, perm
        level = document["levels"][0]
        rows = level["states"]
        if not isinstance(rows, list) or not rows or len(rows) > min(degeneracy, 1 << 20):
            return False, "exact.json lists no ground state, or more than its degeneracy"
        raw = np.asarray(rows, dtype=np.float64)
        if raw.shape != (len(rows), ham.num_variables):
            return False, "exact.json states do not have one value per variable"
        lo, hi = ham.vartype.values
        if not np.all((raw == lo) | (raw == hi)):
            return False, f"exact.json states hold values other than {lo} and {hi}"
        states = np.empty(raw.shape, dtype=np.int8)
        states[:, perm] = raw.astype(np.int8)
        mapped = document.get("ground_states")
        if not isinstance(mapped, list) or len(mapped) != len(rows):
            return False, "exact.json ground_states does not match levels[0].states"
        keys = [_exact_json_key(x) for x in document["labels"]]
        for row, assignment in zip(raw, mapped, strict=True):
            if not isinstance(assignment, dict) or [assignment.get(k) for k in keys] != [
                int(v) for v in row
            ]:
                return False, "exact.json ground_states does not match levels[0].states"
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        return False, f"malformed exact.json ({exc.__class__.__name__}: {exc})"
    tol = _tolerance(ham)
    if len(np.unique(states, axis=0)) != len(states):
        return False, "exact.json lists the same ground state twice"
    got = ham.energies(states)
    if np.max(np.abs(got - energy)) > tol:
        return False, "a listed ground state does not have the stated ground energy"
    if ham.num_variables <= 24:
        from qevo_ir.solvers.enumerate import enumerate_ising

        spin = ham.to_spin()
        ground = enumerate_ising(
            spin.linear, spin.row, spin.col, spin.quad, spin.offset, max_states=1
        ).levels[0]
        if abs(ground.energy - energy) > tol or ground.count != degeneracy:
            return False, (
                f"stated ground energy {energy!r} (degeneracy {degeneracy}) but the IR's is "
                f"{ground.energy!r} (degeneracy {ground.count})"
            )
        return True, f"ground energy {energy!r} and degeneracy {degeneracy} re-derived exactly"
    # Too large to enumerate here: every single flip of a listed state must not go lower, and
    # no sampled assignment either.
    flips = np.repeat(states[:1], ham.num_variables, axis=0)
    diag = np.arange(ham.num_variables)
    flips[diag, diag] = lo + hi - flips[diag, diag]
    sampled = assignments_for_check(ham, np.random.default_rng(20261203))
    if np.min(ham.energies(np.concatenate([flips, sampled]))) < energy - tol:
        return False, "a listed ground state is not a minimum (a lower assignment exists)"
    return True, (
        "listed ground states have the stated energy and are local minima (too large to "
        "re-enumerate; minimality not proven)"
    )


def check_energy_by_label(
    native: Any, ham: Hamiltonian, rng: np.random.Generator
) -> tuple[bool, str]:
    """A dimod BQM's energies equal the IR's, variables matched by label (never by position)."""
    variables = list(native.variables)
    perm = _columns_by_name([_json_label(v) for v in variables], ham, "the BQM")
    if isinstance(perm, str):
        return False, perm
    from qevo_ir.vartypes import as_vartype

    if as_vartype(str(getattr(native.vartype, "name", native.vartype))) != ham.vartype:
        return False, "the BQM's vartype is not the IR's"
    samples = assignments_for_check(ham, rng)
    got = np.asarray(native.energies((samples[:, perm], variables)), dtype=np.float64)
    want = ham.energies(samples)
    err = float(np.max(np.abs(got - want))) if len(want) else 0.0
    how = "all" if ham.num_variables <= EXHAUSTIVE_MAX_VARIABLES else "sampled"
    if not err <= _tolerance(ham):
        return False, f"energy mismatch on {how} assignments (max error {err:.3g}), labels matched"
    return True, (
        f"energies equal on {len(samples)} {how} assignments, labels matched by name "
        f"(max error {err:.3g})"
    )


def check_source_tie(
    source: Hamiltonian,
    ir: Hamiltonian,
    embedded_target: Hamiltonian | None,
    pipeline: str,
    claimed: dict[str, Any],
    rng: np.random.Generator,
) -> tuple[bool, str]:
    """The compiled IR follows from the source: the report's pipeline is run again on the source.

    The same IR (and embedded target), with the report's ``exact``, ``energy_scale`` and
    ``total_energy_bound``: tied exactly. A different IR over the same variables (a pass whose
    result is not reproducible): every checked assignment ``y`` must satisfy
    ``|E_IR(y)/scale - E_source(decode(y))| <= bound`` with the re-run's scale and bound. An IR
    and artifacts rescaled together (report hashes updated) fail here.
    """
    from qevo_ir.passes.pipeline import Pipeline
    from qevo_ir.report import is_embedded

    result = Pipeline.parse(pipeline).run(source)
    final = result.ir
    emb = is_embedded(final)
    logical = final.source if emb else final
    scale, bound, exact = result.energy_scale, result.total_energy_bound, result.exact
    numbers = {"energy_scale": scale, "total_energy_bound": bound, "exact": exact}
    for key, want in numbers.items():
        got: Any = claimed.get(key)
        same = (
            got == want
            if isinstance(want, bool)
            else (_finite_number(got) and abs(float(got) - want) <= 1e-12 * (abs(want) + 1e-300))
        )
        if not same:
            return False, (
                f"report.json says {key} = {got!r} but re-running its pipeline gives {want!r}"
            )
    if emb != (embedded_target is not None):
        return False, "the report's pipeline and the folder disagree on whether it is embedded"
    if logical.content_hash() == ir.content_hash() and (
        not emb or final.target.content_hash() == embedded_target.content_hash()  # type: ignore[union-attr]
    ):
        return True, "re-running the report's pipeline on the source gives this IR exactly"
    if emb:
        return False, "the embedded IR differs from re-running the report's pipeline on the source"
    if _label_keys(logical) != _label_keys(ir) or logical.vartype != ir.vartype:
        return False, "the compiled IR's variables differ from re-running the pipeline"
    samples = assignments_for_check(ir, rng)
    e_src = source.energies(result.decode(samples))
    e_ir = ir.energies(samples) / scale
    err = float(np.max(np.abs(e_ir - e_src))) if len(samples) else 0.0
    if not err <= bound + _tolerance(source):
        return False, (
            f"compiled energies are not the source's within the certified bound {bound!r} "
            f"(error {err:.6g}): the IR was changed after compile"
        )
    return True, (
        f"compiled energies equal the source's within the bound {bound!r} on {len(samples)} "
        "assignments"
    )


def _label_keys(ham: Hamiltonian | PolynomialHamiltonian) -> list[Any]:
    return [_label_key(x) for x in ham.labels]


# ----------------------------------------------------------------------------- directories
#: Largest artifact (and ``report.json``) ``qevo verify`` reads; larger files fail at once.
VERIFY_MAX_ARTIFACT_BYTES = 256 << 20
VERIFY_MAX_REPORT_BYTES = 16 << 20
#: A folder with more entries than this is refused before any is read.
VERIFY_MAX_ENTRIES = 4096
#: Below this address-space limit a reader process cannot even import numpy and a vendor SDK.
WORKER_MIN_MEMORY_BYTES = 1 << 30

_HEX = frozenset("0123456789abcdef")
# Files of the writer's own bookkeeping (never artifacts, never read): the lock, the commit
# journal, and staging folders of a compile in progress or killed.
_BOOKKEEPING = frozenset({".qevo.lock", ".qevo-commit"})


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def worker_memory_limit() -> int:
    """The address-space limit of a reader process: 4 GiB, or less when ``qevo`` itself runs
    under a lower ``RLIMIT_AS`` (a child cannot raise it). Below 1 GiB :class:`LimitExceeded`."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = WORKER_MEMORY_BYTES
    for cap in (soft, hard):
        if cap != resource.RLIM_INFINITY and cap >= 0:
            limit = min(limit, int(cap))
    if limit < WORKER_MIN_MEMORY_BYTES:
        raise LimitExceeded(
            f"the address-space limit (ulimit -v) is {limit / 2**20:.0f} MiB; qevo verify reads "
            f"artifacts in processes that need at least {WORKER_MIN_MEMORY_BYTES >> 20} MiB "
            "(raise the limit)"
        )
    return limit


def _run_workers(tasks: list[dict[str, Any]], timeout: float) -> list[dict[str, Any]]:
    """Run ``tasks`` in reader processes; one result per task, in order.

    One process takes the tasks in turn and prints one JSON line per finished task (so the
    interpreter and numpy start once). When it crashes, runs out of memory or time, the task it
    was on fails with that reason and a fresh process takes the remaining ones. Each task may
    take ``timeout`` seconds.
    """
    memory = worker_memory_limit()
    results: list[dict[str, Any]] = []
    while len(results) < len(tasks):
        todo = tasks[len(results) :]
        done, failure = _one_worker(todo, memory, timeout)
        results.extend(done)
        if len(results) < len(tasks) and failure is not None:
            results.append({"ok": False, "detail": failure})
        elif failure is None and not done:  # a restart that finished nothing: never loop
            results.append({"ok": False, "detail": "the checker produced no result"})
    return results


def _one_worker(
    tasks: list[dict[str, Any]], memory: int, timeout: float
) -> tuple[list[dict[str, Any]], str | None]:
    """The results one reader process gave, and why it stopped before the end (``None``: it
    asked for a fresh process after a task that ran out of memory, the next task not to blame)."""
    from qevo_ir._verify_worker import RESTART

    try:
        proc = subprocess.run(
            [sys.executable, "-m", "qevo_ir._verify_worker"],
            input=json.dumps({"memory": memory, "tasks": tasks}),
            capture_output=True,
            text=True,
            errors="backslashreplace",
            timeout=timeout * len(tasks) + 10,
            check=False,
        )
        stdout, stderr, code = proc.stdout, proc.stderr, proc.returncode
        failure = ""
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout if isinstance(exc.stdout, str) else ""
        stderr, code = "", 0
        failure = f"reading it took over {timeout:g} s; stopped"
    except (OSError, subprocess.SubprocessError) as exc:
        return [], f"cannot start the reader process ({exc})"
    done: list[dict[str, Any]] = []
    for line in stdout.splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict) and "ok" in item and len(done) < len(tasks):
            done.append(item)
    if not failure:
        if code == RESTART and done:
            return done, None
        if code < 0:
            failure = f"the reader crashed (signal {-code})"
        elif code != 0:
            last = (stderr.strip().splitlines() or ["no message"])[-1]
            failure = f"the reader failed ({last[:200]})"
        else:
            failure = "the checker produced no result"
    return done, failure


_CHECKS = {
    "bqm.json": ("dimod", "energies"),
    "bqm.coo": ("dimod", "energies"),
    "qaoa.qasm": ("qiskit", "qaoa"),
    "qaoa.qpy": ("qiskit", "qaoa"),
    "qaoa.cirq.json": ("cirq", "qaoa"),
    "exact.json": ("exact", "exact"),
}
IR_NAME = "compiled.qevo.json"
SOURCE_NAME = "source.qevo.json"
#: Source types with no qevo file format: a folder compiled from one cannot be tied to it.
UNSTORED_SOURCES = frozenset({"ConstrainedModel", "PolynomialHamiltonian", "ParameterModel"})
EMBEDDED_NAME = "embedded_target.qevo.json"
#: Artifacts read in-process by this package's own readers (never by a vendor SDK).
_OWN = frozenset({IR_NAME, SOURCE_NAME, EMBEDDED_NAME, "chains.json", "qpu_job.json"})


def _plain_name(name: str) -> bool:
    """Whether ``name`` is one file name (no folder part), as every artifact name compile writes."""
    return (
        name not in ("", ".", "..")
        and "/" not in name
        and "\\" not in name
        and "\x00" not in name
        and os.path.basename(name) == name
    )


def _regular_file(path: Path) -> str | None:
    """``None`` when ``path`` is a regular file (not a link), else why it cannot be checked."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "the file is missing"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link; compile writes regular files only"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    return None


def _is_sha256(value: object) -> bool:
    return isinstance(value, str) and len(value) == 64 and set(value) <= _HEX


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def read_report(
    directory: str | os.PathLike[str], *, max_bytes: int = VERIFY_MAX_ARTIFACT_BYTES
) -> dict[str, Any]:
    """The ``report.json`` of a compile output directory, checked against its schema first.

    It is untrusted input. Required: ``format`` ``"qevo-compile-report"``, ``version`` 1, a
    ``source`` object with its ``type`` and 64-hex-digit content ``hash``, the ``pipeline``
    string, ``exact`` (bool), finite ``energy_scale`` (non-zero) and ``total_energy_bound``
    (≥ 0), and a non-empty ``artifacts`` object whose names are plain file names inside
    ``directory`` (never paths), each with ``target`` (string), ``sha256`` (64 hex digits) and
    ``bytes`` (a non-negative integer: a listed artifact over ``max_bytes`` fails its own size
    check, the report stays readable), the compiled IR among them; ``targets`` maps
    names to objects with an ``options`` object. Anything else is a :class:`FormatError`.
    """
    from qevo_ir.formats._common import decode_text, load_json, read_bounded
    from qevo_ir.report import REPORT_FORMAT, REPORT_VERSION

    out = Path(directory)
    report_path = out / "report.json"
    why = _regular_file(report_path)
    if why == "the file is missing":
        raise FormatError(
            f"{printable(str(out))}: no report.json; is this a 'qevo compile' output directory?"
        )
    if why is not None:
        raise FormatError(f"{printable(str(report_path))}: {why}")
    name = printable(str(report_path))
    report = load_json(
        decode_text(read_bounded(report_path, min(max_bytes, VERIFY_MAX_REPORT_BYTES)), name), name
    )

    def bad(why: str) -> FormatError:
        return FormatError(f"{name}: not a qevo compile report: {why} (recompile)")

    if not isinstance(report, dict):
        raise bad("not a JSON object")
    artifacts = report.get("artifacts")
    if not isinstance(artifacts, dict) or not artifacts:
        raise bad("'artifacts' must be a non-empty object")
    for art, meta in artifacts.items():
        if not _plain_name(art) or art in _BOOKKEEPING or art == "report.json":
            raise bad(f"artifact name {printable(repr(art))} is not a file name inside the folder")
        if (
            not isinstance(meta, dict)
            or not isinstance(meta.get("target"), str)
            or not _is_sha256(meta.get("sha256"))
            or type(meta.get("bytes")) is not int
            or not 0 <= meta["bytes"] < 1 << 62
        ):
            raise bad(
                f"artifacts[{printable(repr(art))}] needs 'target', a 64-hex-digit 'sha256' and "
                "'bytes' (a non-negative integer)"
            )
    if IR_NAME not in artifacts:
        raise bad(f"the compiled IR {IR_NAME} is not listed")
    targets = report.get("targets", {})
    if not isinstance(targets, dict) or not all(
        isinstance(t, dict) and isinstance(t.get("options", {}), dict) for t in targets.values()
    ):
        raise bad("targets must map each backend to an object with an 'options' object")
    if report.get("format") != REPORT_FORMAT:
        raise bad(f"'format' must be {REPORT_FORMAT!r}")
    if type(report.get("version")) is not int or report["version"] != REPORT_VERSION:
        raise bad(f"'version' must be {REPORT_VERSION}")
    source = report.get("source")
    if not isinstance(source, dict) or not _is_sha256(source.get("hash")):
        raise bad("'source' must be an object with the source's 64-hex-digit 'hash'")
    if not isinstance(source.get("type"), str):
        raise bad("'source.type' must be a string")
    if not isinstance(report.get("pipeline"), str):
        raise bad("'pipeline' must be a string")
    if type(report.get("exact")) is not bool:
        raise bad("'exact' must be true or false")
    scale, total = report.get("energy_scale"), report.get("total_energy_bound")
    if not _finite_number(scale) or scale == 0:
        raise bad("'energy_scale' must be a finite non-zero number")
    if not _finite_number(total) or total < 0:  # type: ignore[operator]
        raise bad("'total_energy_bound' must be a finite number >= 0")
    variables = report.get("variables")
    if variables is not None and (
        not isinstance(variables, dict) or not isinstance(variables.get("labels"), list)
    ):
        raise bad("'variables' must be an object with a 'labels' list")
    return report


def _qaoa_options(opts: dict[str, Any]) -> str | None:
    """``None`` when the recorded QAOA options can be checked, else why not."""
    layers = opts.get("layers", 1)
    if type(layers) is not int or not 1 <= layers <= QAOA_CHECK_MAX_LAYERS:
        return (
            f"not checked: the report's layers = {printable(repr(layers))[:40]} is not an integer "
            f"in [1, {QAOA_CHECK_MAX_LAYERS}]"
        )
    for key in ("gammas", "betas"):
        angles = opts.get(key)
        if angles is None:
            continue
        if (
            not isinstance(angles, list)
            or len(angles) > QAOA_CHECK_MAX_LAYERS
            or not all(type(a) in (int, float) and np.isfinite(a) for a in angles)
        ):
            return f"not checked: the report's {key} is not a list of finite numbers"
    return None


def _scan(out: Path) -> list[str]:
    names: list[str] = []
    try:
        with os.scandir(out) as it:
            for entry in it:
                names.append(entry.name)
                if len(names) > VERIFY_MAX_ENTRIES:
                    raise FormatError(
                        f"{printable(str(out))}: holds over {VERIFY_MAX_ENTRIES} entries; not a "
                        "compile output folder"
                    )
    except OSError as exc:
        raise FormatError(
            f"{printable(str(out))}: cannot list it ({exc.strerror or exc})"
        ) from None
    return sorted(names)


def verify_directory(
    directory: str | os.PathLike[str],
    *,
    max_bytes: int = VERIFY_MAX_ARTIFACT_BYTES,
    timeout: float = WORKER_TIMEOUT_S,
) -> list[CheckResult]:
    """Re-check a ``qevo compile`` output folder, trusting neither its report nor its files.

    Under a shared lock (a concurrent compile commits only between two verifies): the report
    is checked by :func:`read_report`; every entry of the folder is either listed in it and
    checked (regular file, size, sha256) or reported as unexpected; the source's content hash
    must be the report's; the compiled IR must follow from the source by the report's pipeline
    (:func:`check_source_tie`); then each vendor artifact is read back in a worker process with
    memory and time limits and checked by meaning: BQM energies with labels matched by name,
    ``exact.json`` re-derived, QAOA states. Files over ``max_bytes`` are not read.
    """
    from qevo_ir.atomic import directory_lock

    out = Path(directory)
    if not out.is_dir():
        raise FormatError(f"{printable(str(out))}: not a folder")
    with directory_lock(out, shared=True):
        return _verify_locked(out, max_bytes, timeout)


def _verify_locked(out: Path, max_bytes: int, timeout: float) -> list[CheckResult]:
    from qevo_ir.atomic import STAGING_PREFIX
    from qevo_ir.formats import read_hamiltonian
    from qevo_ir.formats.qevo_poly import read_ir

    report = read_report(out, max_bytes=max_bytes)
    artifacts: dict[str, dict[str, Any]] = report["artifacts"]
    results: list[CheckResult] = []
    readable: set[str] = set()
    present = _scan(out)
    for name in present:
        if name == "report.json" or name in _BOOKKEEPING or name in artifacts:
            continue
        if name.startswith(STAGING_PREFIX) and os.path.isdir(out / name):
            continue  # a compile in progress, or one killed (the next compile removes it)
        results.append(
            CheckResult(
                name,
                "unexpected",
                False,
                "not listed in report.json; a compile writes no such file",
            )
        )
    for name, meta in sorted(artifacts.items()):
        path = out / name
        why = _regular_file(path)
        if why is not None:
            results.append(CheckResult(name, "present", False, why))
            continue
        size = os.lstat(path).st_size
        if size > max_bytes:
            results.append(
                CheckResult(name, "size", False, f"{size} bytes, over the limit of {max_bytes}")
            )
            continue
        readable.add(name)  # checked by meaning below even when its hash differs
        if size != meta["bytes"] or meta["sha256"] != _sha256(path):
            results.append(
                CheckResult(
                    name,
                    "sha256",
                    False,
                    f"content differs from what compile wrote ({size} bytes, the report says "
                    f"{meta['bytes']})",
                )
            )
            continue
        results.append(CheckResult(name, "sha256", True, f"matches the report ({size} bytes)"))
    if IR_NAME not in readable:
        return results
    embedded = EMBEDDED_NAME in artifacts
    if embedded and EMBEDDED_NAME not in readable:
        return results
    try:
        ham = read_ir(out / IR_NAME, max_bytes=max_bytes)
        if embedded:
            read_hamiltonian(out / EMBEDDED_NAME, max_bytes=max_bytes)
    except (FormatError, LimitExceeded, OSError) as exc:
        results.append(CheckResult(IR_NAME, "read", False, str(exc)))
        return results
    variables = report.get("variables")
    if variables is not None and [_label_key(x) for x in variables["labels"]] != _label_keys(ham):
        results.append(
            CheckResult(IR_NAME, "labels", False, "the report's variable labels are not the IR's")
        )
    pending: list[tuple[str, str, dict[str, Any]]] = []
    tie = _source_task(out, report, readable)
    if isinstance(tie, CheckResult):
        results.append(tie)
    elif tie is not None:
        pending.append((IR_NAME, "source", tie))
    for name in sorted(artifacts):
        if name not in _CHECKS or name not in readable:
            continue
        backend, kind = _CHECKS[name]
        ir_file = out / EMBEDDED_NAME if embedded and kind != "qaoa" else out / IR_NAME
        opts = report.get("targets", {}).get(backend, {}).get("options", {})
        if kind == "qaoa":
            skip = _qaoa_options(opts)
            if skip is None and ham.num_variables > QAOA_CHECK_MAX_QUBITS:
                skip = (
                    f"not checked: {ham.num_variables} qubits is above the verifier's "
                    f"statevector limit of {QAOA_CHECK_MAX_QUBITS}"
                )
            if skip is not None:
                results.append(CheckResult(name, kind, False, skip))
                continue
        task = {
            "backend": backend,
            "kind": kind,
            "artifact": str(out / name),
            "ir": str(ir_file),
            "options": opts,
            "max_bytes": max_bytes,
        }
        pending.append((name, kind, task))
    outcomes = _run_workers([t for _, _, t in pending], timeout)
    for (name, kind, _), res in zip(pending, outcomes, strict=True):
        results.append(CheckResult(name, kind, bool(res.get("ok")), str(res.get("detail", ""))))
    return results


def _source_task(
    out: Path, report: dict[str, Any], readable: set[str]
) -> CheckResult | dict[str, Any] | None:
    """Tie the compiled IR to the source (content hash, then the pipeline re-run)."""
    source = report["source"]
    if SOURCE_NAME not in report["artifacts"] and source.get("type") in UNSTORED_SOURCES:
        # A constrained, polynomial or parameter model is compiled from the caller's object and
        # has no qevo file format: the artifacts are checked against the compiled IR only.
        return CheckResult(
            "report.json",
            "source",
            True,
            f"not tied: a {printable(str(source['type']))} source is not stored in the folder; "
            "every artifact is checked against the compiled IR only",
        )
    if SOURCE_NAME not in report["artifacts"]:
        return CheckResult(
            "report.json",
            "source",
            False,
            f"not tied: the source ({printable(str(source['type']))[:40]}) is not in the folder, "
            "so the compiled IR cannot be checked against it",
        )
    if SOURCE_NAME not in readable:
        return None  # missing, not a regular file or too large: listed already
    task = {
        "kind": "tie",
        "source": str(out / SOURCE_NAME),
        "source_hash": source["hash"],
        "ir": str(out / IR_NAME),
        "embedded": str(out / EMBEDDED_NAME) if EMBEDDED_NAME in report["artifacts"] else None,
        "pipeline": report["pipeline"],
        "claimed": {k: report[k] for k in ("energy_scale", "total_energy_bound", "exact")},
        "max_bytes": VERIFY_MAX_ARTIFACT_BYTES,
    }
    return task


def raise_on_failure(results: list[CheckResult]) -> None:
    bad = [r for r in results if not r.ok]
    if bad:
        raise VerificationError("; ".join(f"{r.artifact}: {r.detail}" for r in bad))
