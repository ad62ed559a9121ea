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
    "verify_directory",
]

EXHAUSTIVE_MAX_VARIABLES = 14
QAOA_CHECK_MAX_QUBITS = 16
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
    scale = 1.0 + float(np.abs(ham.linear).sum() + np.abs(ham.quad).sum() + abs(ham.offset))
    return 1e-9 * scale


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
    gammas = rng.uniform(-np.pi, np.pi, layers)
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


def verify_directory(directory: str | os.PathLike[str]) -> list[CheckResult]:
    """Re-check every artifact a ``qevo compile`` wrote against the IR it was lowered from."""
    from qevo_ir.formats import read_hamiltonian
    from qevo_ir.formats._common import load_json

    out = Path(directory)
    report_path = out / "report.json"
    if not report_path.is_file():
        raise FormatError(f"{out}: no report.json; is this a 'qevo compile' output directory?")
    report = load_json(report_path.read_text(encoding="utf-8"), str(report_path))
    if not isinstance(report, dict) or not isinstance(report.get("artifacts"), dict):
        raise FormatError(f"{report_path}: not a qevo compile report (no 'artifacts')")
    results: list[CheckResult] = []
    for name, meta in sorted(report["artifacts"].items()):
        path = out / name
        if not path.is_file():
            results.append(CheckResult(name, "present", False, "the file is missing"))
            continue
        if isinstance(meta, dict) and meta.get("sha256") != _sha256(path):
            results.append(
                CheckResult(name, "sha256", False, "content differs from what compile wrote")
            )
        else:
            results.append(CheckResult(name, "sha256", True, "matches the report"))
    ir_path = out / "compiled.qevo.json"
    embedded = (out / "embedded_target.qevo.json").is_file()
    try:
        ham = read_hamiltonian(out / "embedded_target.qevo.json" if embedded else ir_path)
    except (FormatError, OSError) as exc:
        results.append(CheckResult(ir_path.name, "read", False, str(exc)))
        return results
    targets = report.get("targets", {})
    for name in sorted(report["artifacts"]):
        if name not in _CHECKS or not (out / name).is_file():
            continue
        backend, kind = _CHECKS[name]
        ir_file = out / "embedded_target.qevo.json" if embedded and kind != "qaoa" else ir_path
        opts = targets.get(backend, {}).get("options", {}) if isinstance(targets, dict) else {}
        task = {
            "backend": backend,
            "kind": kind,
            "artifact": str(out / name),
            "ir": str(ir_file),
            "options": opts if isinstance(opts, dict) else {},
        }
        if kind == "qaoa" and ham.num_variables > QAOA_CHECK_MAX_QUBITS:
            results.append(
                CheckResult(
                    name,
                    kind,
                    False,
                    f"not checked: {ham.num_variables} qubits is above the verifier's "
                    f"statevector limit of {QAOA_CHECK_MAX_QUBITS}",
                )
            )
            continue
        res = _run_worker(task)
        results.append(CheckResult(name, kind, bool(res.get("ok")), str(res.get("detail", ""))))
    return results


def raise_on_failure(results: list[CheckResult]) -> None:
    bad = [r for r in results if not r.ok]
    if bad:
        raise VerificationError("; ".join(f"{r.artifact}: {r.detail}" for r in bad))
