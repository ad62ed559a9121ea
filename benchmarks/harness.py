"""The benchmark harness: timing by medians, rows that set qevo_ir beside a peer, and reports.

A workload returns :class:`Row` objects; :class:`Report` collects them with the machine they ran
on and renders JSON and a Markdown table. Ratios are always ``peer time / qevo_ir time`` (a
speed-up: above 1 means qevo_ir is faster); every target says which way it reads.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = [
    "MODES",
    "Context",
    "Mode",
    "Report",
    "Row",
    "Target",
    "Timing",
    "machine_info",
    "measure",
    "memory_bandwidth",
    "peak_traced_bytes",
]

Mode = Literal["micro", "quick", "full"]
MODES: tuple[Mode, ...] = ("micro", "quick", "full")
SCHEMA = "qevo-ir-bench"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of repeated runs; :attr:`median` is what the tables report."""

    runs: tuple[float, ...]

    @property
    def median(self) -> float:
        return float(statistics.median(self.runs))

    @property
    def best(self) -> float:
        return float(min(self.runs))


def measure(
    fn: Callable[[], Any],
    *,
    repeat: int,
    warmup: int = 1,
    budget: float | None = None,
) -> Timing:
    """Time ``fn()`` ``repeat`` times after ``warmup`` untimed calls (garbage collection off).

    Parameters
    ----------
    fn : callable
        The work, with its inputs bound (setup is never timed).
    repeat : int
        Timed runs (``>= 1``).
    warmup : int, optional
        Untimed runs first (imports, JIT compilation, caches).
    budget : float, optional
        Stop repeating once this many seconds were spent in timed runs (at least one run).

    Returns
    -------
    Timing
    """
    for _ in range(warmup):
        fn()
    runs: list[float] = []
    was_enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        for _ in range(max(1, repeat)):
            t0 = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t0)
            if budget is not None and sum(runs) > budget:
                break
    finally:
        if was_enabled:
            gc.enable()
    return Timing(tuple(runs))


def peak_traced_bytes(fn: Callable[[], Any]) -> tuple[int, Any]:
    """Peak bytes allocated (numpy arrays included, via :mod:`tracemalloc`) while ``fn()`` runs.

    The figure is the peak above what was allocated when ``fn`` started, so inputs do not count;
    what ``fn`` returns does (it is alive at the end).
    """
    gc.collect()
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base, _ = tracemalloc.get_traced_memory()
        out = fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base, out


def memory_bandwidth(nbytes: int = 256 << 20, repeat: int = 5) -> float:
    """Bytes per second of a numpy copy of a large array (read + write counted)."""
    src = np.ones(nbytes // 8, dtype=np.float64)
    dst = np.empty_like(src)
    timing = measure(lambda: np.copyto(dst, src), repeat=repeat)
    return 2.0 * src.nbytes / timing.best


@dataclass(frozen=True)
class Target:
    """A goal for one row: ``speedup >= bound``, ``seconds <= bound`` or ``value <= bound``.

    ``speedup`` is the row's ratio (peer / qevo_ir); "within 1.5x of the peer" is
    ``Target("speedup", 1 / 1.5, ...)``. ``value`` compares :attr:`Row.value` (a chain length,
    a memory factor).
    """

    kind: Literal["speedup", "seconds", "value"]
    bound: float
    text: str

    def met(self, row: Row) -> bool | None:
        """Whether ``row`` meets the target; ``None`` when the figure is missing."""
        if self.kind == "speedup":
            got = row.ratio
            return None if got is None else got >= self.bound
        if self.kind == "seconds":
            return None if row.ours_s is None else row.ours_s <= self.bound
        return None if row.value is None else row.value <= self.bound


@dataclass
class Row:
    """One line of the table: qevo_ir's figure beside a peer's, with the target it answers.

    ``ours_s``/``peer_s`` are medians in seconds (``None`` when not run). ``value`` carries a
    non-time figure that a ``value`` target reads (chain length, memory factor).
    ``extrapolated`` marks a peer time scaled from a smaller run (the note says how).
    """

    workload: str
    case: str
    ours: str
    ours_s: float | None
    peer: str | None = None
    peer_s: float | None = None
    target: Target | None = None
    value: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    note: str = ""
    extrapolated: bool = False

    @property
    def ratio(self) -> float | None:
        """``peer_s / ours_s``: the speed-up of qevo_ir over the peer."""
        if self.ours_s is None or self.peer_s is None or self.ours_s <= 0:
            return None
        return self.peer_s / self.ours_s

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "workload": self.workload,
            "case": self.case,
            "ours": self.ours,
            "ours_s": self.ours_s,
            "peer": self.peer,
            "peer_s": self.peer_s,
            "ratio": self.ratio,
            "value": self.value,
            "target": None
            if self.target is None
            else {"kind": self.target.kind, "bound": self.target.bound, "text": self.target.text},
            "met": self.met,
            "extrapolated": self.extrapolated,
            "metrics": _jsonable(self.metrics),
            "note": self.note,
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


@dataclass
class Context:
    """What a workload needs: the mode, a repeat count, a seeded generator and a logger."""

    mode: Mode
    repeat: int
    seed: int = 2024
    verbose: bool = True
    rng: np.random.Generator = field(init=False)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def pick(self, micro: Any, quick: Any, full: Any) -> Any:
        """The value for the current mode."""
        return {"micro": micro, "quick": quick, "full": full}[self.mode]

    def log(self, message: str) -> None:
        if self.verbose:
            print(f"  {message}", file=sys.stderr, flush=True)

    def time(self, fn: Callable[[], Any], *, repeat: int | None = None, **kw: Any) -> float:
        """Median seconds of ``fn`` over ``repeat`` (default: the context's) runs."""
        return measure(fn, repeat=self.repeat if repeat is None else repeat, **kw).median

    def compare(
        self,
        ours: Callable[[], Any],
        peer: Callable[[], Any],
        *,
        repeat: int | None = None,
        warmup: int = 1,
    ) -> tuple[float, float]:
        """Medians of ``ours`` and ``peer`` timed alternately, so both see the same machine load."""
        for _ in range(warmup):
            ours()
            peer()
        a: list[float] = []
        b: list[float] = []
        for _ in range(self.repeat if repeat is None else repeat):
            a += measure(ours, repeat=1, warmup=0).runs
            b += measure(peer, repeat=1, warmup=0).runs
        return Timing(tuple(a)).median, Timing(tuple(b)).median

    @contextmanager
    def section(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        self.log(f"[{name}] ...")
        yield
        self.log(f"[{name}] done in {time.perf_counter() - t0:.1f} s")


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _version(module: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(module)
    except metadata.PackageNotFoundError:
        return None


PEER_PACKAGES = (
    "numpy",
    "scipy",
    "numba",
    "dimod",
    "dwave-samplers",
    "minorminer",
    "pyqubo",
    "qiskit",
    "qiskit-aer",
    "qiskit-optimization",
    "cirq-core",
)


def machine_info() -> dict[str, Any]:
    """CPU model, cores available, memory, OS, Python and the versions of every package used."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": cores,
        "memory_bytes": _memory_bytes(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": {name: _version(name) for name in PEER_PACKAGES},
    }


def _fmt_seconds(s: float | None) -> str:
    if s is None:
        return "—"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1.0:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def _fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    if r >= 100:
        return f"{r:,.0f}×"
    if r >= 10:
        return f"{r:.1f}×"
    return f"{r:.2f}×"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


@dataclass
class Report:
    """Every row of one run, with the machine, the mode and the total time."""

    mode: str
    rows: list[Row]
    machine: dict[str, Any]
    seconds: float
    errors: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        met = [r.met for r in self.rows if r.target is not None]
        return {
            "rows": len(self.rows),
            "targets": len(met),
            "met": sum(1 for m in met if m is True),
            "missed": sum(1 for m in met if m is False),
            "unknown": sum(1 for m in met if m is None),
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SCHEMA,
            "version": SCHEMA_VERSION,
            "mode": self.mode,
            "seconds": self.seconds,
            "machine": _jsonable(self.machine),
            "summary": self.summary(),
            "errors": dict(self.errors),
            "rows": [r.to_json() for r in self.rows],
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=1, allow_nan=False) + "\n"

    def to_markdown(self) -> str:
        m = self.machine
        mem = m.get("memory_bytes")
        pk = m.get("packages", {})
        versions = ", ".join(f"{k} {v}" for k, v in pk.items() if v)
        lines = [
            f"Mode `{self.mode}`, {self.seconds:.0f} s in all. Machine: {m.get('cpu')}, "
            f"{m.get('cores')} cores, "
            + (f"{mem / 2**30:.1f} GiB" if isinstance(mem, int) else "unknown memory")
            + f", Python {m.get('python')}; {versions}.",
            "",
            "Times are medians of repeated runs; **speed-up = peer time ÷ qevo_ir time** "
            "(above 1: qevo_ir is faster). ✅ met, ❌ missed, · no target.",
            "",
        ]
        workloads: list[str] = []
        for r in self.rows:
            if r.workload not in workloads:
                workloads.append(r.workload)
        for w in workloads:
            lines += [
                f"### {w}",
                "",
                "| case | qevo_ir | time | peer | peer time | speed-up | target | |",
                "|---|---|---:|---|---:|---:|---|---|",
            ]
            for r in (r for r in self.rows if r.workload == w):
                mark = {True: "✅", False: "❌", None: "·"}[r.met]
                peer_time = _fmt_seconds(r.peer_s) + (" (extrap.)" if r.extrapolated else "")
                extra = ""
                if r.value is not None:
                    extra = f" (value {r.value:.3g})"
                lines.append(
                    "| "
                    + " | ".join(
                        _cell(x)
                        for x in (
                            r.case,
                            r.ours,
                            _fmt_seconds(r.ours_s),
                            r.peer or "—",
                            peer_time,
                            _fmt_ratio(r.ratio),
                            (r.target.text if r.target else "") + extra,
                            mark,
                        )
                    )
                    + " |"
                )
            notes = [r for r in self.rows if r.workload == w and r.note]
            if notes:
                lines.append("")
                lines += [f"- *{_cell(r.case)}*: {r.note}" for r in notes]
            lines.append("")
        if self.errors:
            lines += ["### errors", ""]
            lines += [f"- `{k}`: {v}" for k, v in self.errors.items()]
            lines.append("")
        s = self.summary()
        lines.append(
            f"Targets: {s['met']} met, {s['missed']} missed, {s['unknown']} not measured "
            f"(of {s['targets']})."
        )
        return "\n".join(lines) + "\n"
