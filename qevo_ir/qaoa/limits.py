"""Limits of the fast QAOA path, checked before anything of size ``2**n`` is allocated.

Three checks, each refusing with its numbers (:class:`~qevo_ir.errors.LimitExceeded`):

* qubits: at most :data:`FAST_MAX_QUBITS` (the limit of the Qiskit and Cirq backends' simulators);
  ``max_qubits`` lowers it or raises it up to :data:`MAX_QUBITS`;
* memory: the peak working set (:func:`fast_qaoa_bytes`) must fit both the machine's available
  memory (:func:`available_memory_bytes`) and the caller's ``max_bytes`` budget;
* time: the estimated run time (:func:`estimate_fast_qaoa_seconds`) must be at most
  ``max_seconds`` (default :data:`DEFAULT_MAX_SECONDS`).
"""

from __future__ import annotations

import os
import re

from qevo_ir.errors import LimitExceeded
from qevo_ir.qaoa.diagonal import MAX_QUBITS, format_bytes, statevector_memory_bytes

__all__ = [
    "DEFAULT_MAX_SECONDS",
    "FAST_MAX_QUBITS",
    "available_memory_bytes",
    "check_fast_qaoa",
    "estimate_fast_qaoa_seconds",
    "fast_qaoa_bytes",
]

#: Default qubit limit of ``solve(h, "qaoa")``: the same as the Qiskit and Cirq backends.
FAST_MAX_QUBITS = 26
#: Default refusal threshold for the estimated run time of ``solve(h, "qaoa")``.
DEFAULT_MAX_SECONDS = 600.0
# Peak bytes per basis state: the float64 diagonal (8), four float64 working planes or a
# complex128 state and its adjoint (32), the probabilities and their cumulative sum (16), and
# BLAS temporaries of the diagonal's construction (8).
_BYTES_PER_STATE = 64
# Seconds per basis state, qubit and layer for one expectation-and-gradient evaluation with the
# numpy engine (a conservative figure: measured 0.2 s for n = 20, p = 3 on a loaded 2-core
# machine, i.e. about 3.2e-9 s per state x qubit x layer).
_SECONDS_PER_STATE_QUBIT_LAYER = 3.2e-9
# Evaluations the angle optimiser makes per restart (L-BFGS-B with gradients, typical).
_EVALS_PER_RESTART = 40


def available_memory_bytes() -> int | None:
    """Memory this process can still allocate without swapping, or ``None`` if unknown.

    From psutil when installed, else ``MemAvailable`` in ``/proc/meminfo``, else
    ``os.sysconf`` (available physical pages times the page size).
    """
    try:
        import psutil
    except ImportError:
        pass
    else:
        return int(psutil.virtual_memory().available)
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            match = re.search(r"^MemAvailable:\s+([0-9]+)\s+kB", fh.read(), re.MULTILINE)
        if match is not None:
            return int(match.group(1)) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


def fast_qaoa_bytes(n: int) -> int:
    """Peak bytes of ``solve(h, "qaoa")`` on ``n`` qubits (an integer for any ``n``)."""
    return _BYTES_PER_STATE << n


def estimate_fast_qaoa_seconds(n: int, layers: int, restarts: int, optimize: bool) -> float:
    """Estimated seconds of ``solve(h, "qaoa")`` (angle optimisation plus sampling)."""
    evals = (restarts * _EVALS_PER_RESTART if optimize else 0) + 2
    per_eval = _SECONDS_PER_STATE_QUBIT_LAYER * max(n, 1) * max(layers, 1)
    if n > 1000:  # beyond float range; the qubit check refuses long before
        return float("inf")
    return float(evals * per_eval * 2.0**n)


def check_fast_qaoa(
    n: int,
    *,
    layers: int,
    restarts: int,
    optimize: bool,
    max_qubits: int | None = None,
    max_bytes: int | None = None,
    max_seconds: float | None = None,
) -> dict[str, float | int | None]:
    """Refuse a fast-path QAOA run that would not fit; return the figures checked."""
    limit = FAST_MAX_QUBITS if max_qubits is None else int(max_qubits)
    if not 0 <= limit <= MAX_QUBITS:
        raise LimitExceeded(f"max_qubits must be in [0, {MAX_QUBITS}], got {max_qubits!r}")
    need = fast_qaoa_bytes(n)
    if n > limit:
        state = statevector_memory_bytes(n)
        raise LimitExceeded(
            f"qaoa (numpy fast path): {n} qubits exceed the statevector limit of {limit} "
            f"qubits: a complex128 statevector on {n} qubits needs {format_bytes(state)} "
            f"(about {format_bytes(need)} at peak while solving); reduce the problem (fix, "
            "components) or use a sampler (sa, tabu)"
        )
    available = available_memory_bytes()
    budget = (
        min(b for b in (available, max_bytes) if b is not None)
        if (available is not None or max_bytes is not None)
        else None
    )
    if budget is not None and need > budget:
        which = "max_bytes" if max_bytes is not None and budget == max_bytes else "available memory"
        raise LimitExceeded(
            f"qaoa (numpy fast path): {n} qubits need about {format_bytes(need)} ({need} bytes), "
            f"over the {which} of {format_bytes(budget)} ({budget} bytes)"
        )
    seconds = estimate_fast_qaoa_seconds(n, layers, restarts, optimize)
    cap = DEFAULT_MAX_SECONDS if max_seconds is None else float(max_seconds)
    if seconds > cap:
        raise LimitExceeded(
            f"qaoa (numpy fast path): {n} qubits at p = {layers} with {restarts} restarts are "
            f"estimated to take {seconds:.3g} s, over the limit of {cap:g} s (max_seconds); "
            "pass a larger max_seconds to run it anyway"
        )
    return {"qubits": n, "bytes": need, "budget_bytes": budget, "estimated_seconds": seconds}
