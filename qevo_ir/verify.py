"""Equivalence checks between the IR and what a backend made of it, and ``qevo verify``.

The same checks serve the conformance suite (in-process, on native objects) and ``qevo verify``
(on written artifacts). Vendor readers are not safe on malformed files, so ``verify_directory``
reads each artifact in a worker process with memory and time limits and reports a crash, a
blow-up or a timeout as a clean failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import FormatError, VerificationError
from qevo_ir.hamiltonian import Hamiltonian

__all__ = [
    "CheckResult",
    "assignments_for_check",
    "check_energy_lowering",
    "check_exact_solution",
    "check_qaoa_lowering",
    "equal_up_to_global_phase",
    "read_report",
    "verify_directory",
]

EXHAUSTIVE_MAX_VARIABLES = 14
QAOA_CHECK_MAX_QUBITS = 16
QAOA_CHECK_MAX_LAYERS = 1000
WORKER_MEMORY_BYTES = 4 << 30
WORKER_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check: ``ok``, what was checked, and the mismatch when not ok."""

    artifact: str
    check: str
    ok: bool
    detail: str

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
    ham: Hamiltonian,
    rng: np.random.Generator,
    *,
    bound: tuple[list[float], list[float]] | None = None,
    layers: int = 1,
) -> tuple[bool, str]:
    """The circuit's state equals the fast path's up to a global phase; with β = 0 the phases
    equal ``-γE(b)``. ``bound``: the angles already bound into the circuit, if any.
    """
    from qevo_ir import qaoa

    spin = ham.to_spin()
    n = spin.num_variables
    diag = qaoa.cost_diagonal(spin.linear, spin.row, spin.col, spin.quad, spin.offset)
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


def check_exact_solution(document: dict[str, Any], ham: Hamiltonian) -> tuple[bool, str]:
    """An ``exact.json``'s ground states have its ground energy, and (small n) it is the minimum."""
    try:
        energy = float(document["ground_energy"])
        degeneracy = int(document["degeneracy"])
        states = np.asarray(document["levels"][0]["states"], dtype=np.int8)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        return False, f"malformed exact.json ({exc.__class__.__name__}: {exc})"
    tol = _tolerance(ham)
    if states.size and np.max(np.abs(ham.energies(states) - energy)) > tol:
        return False, "a listed ground state does not have the stated ground energy"
    if ham.num_variables <= 24:
        from qevo_exact import solve_exact

        sol = solve_exact(ham)
        if abs(sol.ground_energy - energy) > tol or sol.degeneracy != degeneracy:
            return False, (
                f"stated ground energy {energy!r} (degeneracy {degeneracy}) but the IR's is "
                f"{sol.ground_energy!r} (degeneracy {sol.degeneracy})"
            )
        return True, f"ground energy {energy!r} and degeneracy {degeneracy} re-derived exactly"
    return True, "listed ground states have the stated energy (too large to re-enumerate)"


# ----------------------------------------------------------------------------- directories
def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _limit_worker() -> None:  # runs in the child before exec
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (WORKER_MEMORY_BYTES, WORKER_MEMORY_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _run_worker(task: dict[str, Any]) -> dict[str, Any]:
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "qevo_ir._verify_worker"],
            input=json.dumps(task),
            capture_output=True,
            text=True,
            timeout=WORKER_TIMEOUT_S,
            preexec_fn=_limit_worker,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "detail": f"reading it took over {WORKER_TIMEOUT_S:.0f} s; stopped"}
    if proc.returncode != 0:
        if proc.returncode < 0:
            why = f"the reader crashed (signal {-proc.returncode})"
        else:
            last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            why = f"the reader failed ({last[:200]})"
        return {"ok": False, "detail": why}
    try:
        out: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {"ok": False, "detail": "the checker produced no result"}
    return out


_CHECKS = {
    "bqm.json": ("dimod", "energies"),
    "bqm.coo": ("dimod", "energies"),
    "qaoa.qasm": ("qiskit", "qaoa"),
    "qaoa.qpy": ("qiskit", "qaoa"),
    "qaoa.cirq.json": ("cirq", "qaoa"),
    "exact.json": ("exact", "exact"),
}


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


def read_report(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``report.json`` of a compile output directory, checked before anything is trusted.

    It is untrusted input: artifact names must be plain file names inside ``directory`` (never
    paths), each with a ``sha256`` string, and every target entry an object with an ``options``
    object; anything else is a :class:`FormatError` naming the report.
    """
    from qevo_ir.formats._common import DEFAULT_MAX_BYTES, decode_text, load_json, read_bounded

    out = Path(directory)
    report_path = out / "report.json"
    why = _regular_file(report_path)
    if why == "the file is missing":
        raise FormatError(f"{out}: no report.json; is this a 'qevo compile' output directory?")
    if why is not None:
        raise FormatError(f"{report_path}: {why}")
    name = str(report_path)
    report = load_json(decode_text(read_bounded(report_path, DEFAULT_MAX_BYTES), name), name)
    if not isinstance(report, dict) or not isinstance(report.get("artifacts"), dict):
        raise FormatError(f"{name}: not a qevo compile report (no 'artifacts')")
    for art, meta in report["artifacts"].items():
        if not _plain_name(art):
            raise FormatError(
                f"{name}: artifact name {art!r} is not a file name inside {out}; a report names "
                "only the files beside it (recompile to get a valid report)"
            )
        if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str):
            raise FormatError(
                f"{name}: artifacts[{art!r}] has no sha256 string; the report is damaged "
                "(recompile)"
            )
    targets = report.get("targets", {})
    if not isinstance(targets, dict) or not all(
        isinstance(t, dict) and isinstance(t.get("options", {}), dict) for t in targets.values()
    ):
        raise FormatError(
            f"{name}: targets must map each backend to an object with an 'options' object"
        )
    return report


def _qaoa_options(opts: dict[str, Any]) -> str | None:
    """``None`` when the recorded QAOA options can be checked, else why not."""
    layers = opts.get("layers", 1)
    if type(layers) is not int or not 1 <= layers <= QAOA_CHECK_MAX_LAYERS:
        return (
            f"not checked: the report's layers = {layers!r} is not an integer in "
            f"[1, {QAOA_CHECK_MAX_LAYERS}]"
        )
    for key in ("gammas", "betas"):
        angles = opts.get(key)
        if angles is None:
            continue
        if (
            not isinstance(angles, list)
            or len(angles) > QAOA_CHECK_MAX_LAYERS
            or not all(type(a) in (int, float) for a in angles)
        ):
            return f"not checked: the report's {key} is not a list of numbers"
    return None


def verify_directory(directory: str | os.PathLike[str]) -> list[CheckResult]:
    """Re-check every artifact a ``qevo compile`` wrote against the IR it was lowered from.

    ``report.json`` and every artifact are untrusted: the report is checked by
    :func:`read_report`, names never leave ``directory``, only regular files are read, and
    vendor readers run in a worker process with memory and time limits.
    """
    from qevo_ir.formats import read_hamiltonian

    out = Path(directory)
    report = read_report(out)
    results: list[CheckResult] = []
    for name, meta in sorted(report["artifacts"].items()):
        path = out / name
        why = _regular_file(path)
        if why is not None:
            results.append(CheckResult(name, "present", False, why))
            continue
        if meta["sha256"] != _sha256(path):
            results.append(
                CheckResult(name, "sha256", False, "content differs from what compile wrote")
            )
        else:
            results.append(CheckResult(name, "sha256", True, "matches the report"))
    ir_path = out / "compiled.qevo.json"
    embedded = _regular_file(out / "embedded_target.qevo.json") is None
    read_path = out / "embedded_target.qevo.json" if embedded else ir_path
    why = _regular_file(read_path)
    if why is not None:
        results.append(CheckResult(read_path.name, "read", False, why))
        return results
    try:
        ham = read_hamiltonian(read_path)
    except (FormatError, OSError) as exc:
        results.append(CheckResult(read_path.name, "read", False, str(exc)))
        return results
    targets = report.get("targets", {})
    for name in sorted(report["artifacts"]):
        if name not in _CHECKS or _regular_file(out / name) is not None:
            continue
        backend, kind = _CHECKS[name]
        ir_file = out / "embedded_target.qevo.json" if embedded and kind != "qaoa" else ir_path
        opts = targets.get(backend, {}).get("options", {})
        task = {
            "backend": backend,
            "kind": kind,
            "artifact": str(out / name),
            "ir": str(ir_file),
            "options": opts,
        }
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
        res = _run_worker(task)
        results.append(CheckResult(name, kind, bool(res.get("ok")), str(res.get("detail", ""))))
    return results


def raise_on_failure(results: list[CheckResult]) -> None:
    bad = [r for r in results if not r.ok]
    if bad:
        raise VerificationError("; ".join(f"{r.artifact}: {r.detail}" for r in bad))
