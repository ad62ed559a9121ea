"""The memory budget: how many bytes one operation may plan to allocate, checked before it does.

Readers, passes and lowerings compute the memory that the sizes a file or a call *declares*
imply (variables, couplings, layers, qubits, a target graph) and refuse above the budget with
:class:`~qevo_ir.errors.LimitExceeded` before allocating anything. The budget is half the
memory available when first asked (``MemAvailable``, capped by ``RLIMIT_AS``), or what
:func:`set_memory_budget` (the CLI's ``--max-memory``) says.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator

from qevo_ir.errors import LimitExceeded, ValidationError

__all__ = [
    "BYTES_PER_COUPLING",
    "BYTES_PER_VARIABLE",
    "JSON_BYTES_PER_BYTE",
    "check_memory",
    "check_qaoa_request",
    "default_memory_budget",
    "memory_budget",
    "parse_size",
    "set_memory_budget",
    "using_memory_budget",
]

#: Peak bytes per variable of reading, converting and writing a Hamiltonian (measured: 45 for
#: ``qevo convert`` of 2·10⁶ declared variables; 54 at 5·10⁷), with headroom.
BYTES_PER_VARIABLE = 64
#: Peak bytes per coupling: row, col, value, the canonical sort's copies and the text.
BYTES_PER_COUPLING = 96
#: Python's ``json`` holds about 12-16 bytes of objects per byte of document.
JSON_BYTES_PER_BYTE = 16
_MIN_BUDGET = 64 << 20

_budget: int | None = None


def _available() -> int:
    avail = None
    with contextlib.suppress(OSError, ValueError), open("/proc/meminfo", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
                break
    if avail is None:
        try:
            avail = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            avail = 8 << 30
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
        if soft != resource.RLIM_INFINITY and soft > 0:
            avail = min(avail, soft)
    return int(avail)


def default_memory_budget() -> int:
    """Half the memory available now (at least 64 MiB)."""
    return max(_MIN_BUDGET, _available() // 2)


def memory_budget() -> int:
    """The budget in bytes: the one set, else :func:`default_memory_budget` (computed once)."""
    global _budget
    if _budget is None:
        _budget = default_memory_budget()
    return _budget


def set_memory_budget(nbytes: int | str | None) -> None:
    """Set the budget (bytes, or a size such as ``"512M"``, ``"4G"``); ``None`` restores the
    default."""
    global _budget
    _budget = None if nbytes is None else parse_size(nbytes)


@contextlib.contextmanager
def using_memory_budget(nbytes: int | str) -> Iterator[None]:
    """Run a block under another budget."""
    global _budget
    old = _budget
    set_memory_budget(nbytes)
    try:
        yield
    finally:
        _budget = old


_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([kKmMgGtT]?)(?:i?[bB])?\s*")


def parse_size(value: int | str) -> int:
    """Bytes from an int or a string like ``"1500000"``, ``"512M"``, ``"4G"``, ``"1.5GiB"``."""
    if isinstance(value, bool):
        raise ValidationError(f"a memory size must be a number of bytes, got {value!r}")
    if isinstance(value, int):
        nbytes = value
    else:
        m = _SIZE.fullmatch(str(value)[:40])
        if m is None:
            raise ValidationError(
                f"cannot read {str(value)[:40]!r} as a memory size; write bytes or a number "
                "with K, M, G or T (e.g. 512M, 4G)"
            )
        power = " KMGT".index(m.group(2).upper() or " ")
        nbytes = int(float(m.group(1)) * 1024**power)
    if not 1 <= nbytes <= 1 << 60:
        raise ValidationError(f"a memory budget must be between 1 byte and 1 EiB, got {nbytes}")
    return nbytes


def human(nbytes: float) -> str:
    """``nbytes`` as ``"3.2 GiB"``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if nbytes < 1024 or unit == "TiB":
            return f"{nbytes:.1f} {unit}" if unit != "B" else f"{int(nbytes)} B"
        nbytes /= 1024
    return f"{nbytes:.1f} TiB"  # pragma: no cover


def check_memory(need: float, what: str, fix: str = "") -> None:
    """Raise :class:`LimitExceeded` when ``need`` bytes exceed the budget, naming both."""
    budget = memory_budget()
    if need > budget:
        raise LimitExceeded(
            f"{what} needs about {human(need)} of memory, over the budget of {human(budget)} "
            f"(--max-memory, default half the available memory){'; ' + fix if fix else ''}"
        )


#: Bytes a QAOA circuit object takes per gate (Qiskit's instruction records, Cirq's operations),
#: with headroom; 10⁷ layers of a 3-variable problem would need about 80 GB.
BYTES_PER_GATE = 1024
#: Beyond this many radians, ``γ·E`` has no float64 precision left (the phase is noise).
MAX_PHASE_RADIANS = 1e15
#: More shots than this is a typo, not a plan (every shot is a row of ``n`` bytes), as for reads.
MAX_SHOTS = 10_000_000


def check_qaoa_request(
    num_qubits: int,
    num_terms: int,
    energy_bound: float,
    *,
    layers: object = 1,
    gammas: object = None,
    betas: object = None,
    shots: object = None,
    seed: object = None,
) -> None:
    """Validate QAOA options before anything is built: ``layers`` a non-negative integer within
    the memory budget (a circuit has about ``layers·(2n + m)`` gates), angles finite with
    ``|γ|·B`` and ``|β|`` below :data:`MAX_PHASE_RADIANS`, ``shots`` an integer in
    ``[1, MAX_SHOTS]``, ``seed`` a non-negative integer. Raises :class:`ValidationError` or
    :class:`LimitExceeded`."""
    import math

    if isinstance(layers, bool) or not isinstance(layers, int) or layers < 0:
        raise ValidationError(f"layers must be an integer >= 0, got {_short(layers)}")
    gates = layers * (2 * num_qubits + num_terms)
    check_memory(
        float(gates) * BYTES_PER_GATE,
        f"a QAOA circuit of {layers} layers on {num_qubits} qubits ({gates} gates)",
        "use fewer layers",
    )
    for key, values, scale in (("gammas", gammas, energy_bound), ("betas", betas, 1.0)):
        if values is None:
            continue
        try:
            items = [float(v) for v in values]  # type: ignore[attr-defined]
        except (TypeError, ValueError, OverflowError):
            raise ValidationError(
                f"{key} must be a list of numbers, got {_short(values)}"
            ) from None
        for v in items:
            if not math.isfinite(v):
                raise ValidationError(f"{key} must be finite, got {v!r}")
            if abs(v) * max(scale, 1.0) > MAX_PHASE_RADIANS:
                raise ValidationError(
                    f"{key} holds {v!r}: the phase {key[:-1]}·(energy bound) would exceed "
                    f"{MAX_PHASE_RADIANS:g} radians, where float64 keeps no precision"
                )
    if shots is not None and (
        isinstance(shots, bool) or not isinstance(shots, int) or not 1 <= shots <= MAX_SHOTS
    ):
        raise ValidationError(f"shots must be an integer in [1, {MAX_SHOTS}], got {_short(shots)}")
    if shots is not None:  # every shot is a row of n bytes, and its copies while counting
        check_memory(
            4.0 * float(shots) * max(num_qubits, 1),
            f"{shots} shots of {num_qubits} qubits",
            "take fewer shots",
        )
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63
    ):
        raise ValidationError(f"seed must be an integer in [0, 2**63), got {_short(seed)}")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
