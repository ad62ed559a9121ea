"""Output helpers shared by the commands: JSON to stdout or a file, tables, a progress bar."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from qevo_ir.atomic import atomic_write_text, check_new
from qevo_ir.printable import printable

__all__ = ["emit_json", "progress_bar", "table"]


def emit_json(data: Any, out: str | None = None, *, force: bool = False) -> None:
    """Print ``data`` as JSON, or write it atomically to ``out``."""
    text = json.dumps(data, indent=1, allow_nan=False, default=_default) + "\n"
    if out is None or out == "-":
        sys.stdout.write(text)
    else:
        check_new(out, force)
        atomic_write_text(Path(out), text)


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    return str(value)


def table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    """A plain aligned text table."""
    # Labels come from files: escaped, so they can neither forge a line nor drive the terminal.
    cells = [[printable(str(h)) for h in header]] + [
        [printable(_fmt(c)) for c in row] for row in rows
    ]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def progress_bar(label: str) -> Callable[[int, int], None] | None:
    """A callback ``(done, total)`` drawing a bar on stderr, or ``None`` when not a terminal."""
    if not sys.stderr.isatty():
        return None
    start = time.perf_counter()
    state = {"last": 0.0}

    def update(done: int, total: int) -> None:
        now = time.perf_counter()
        if done < total and now - state["last"] < 0.1:
            return
        state["last"] = now
        frac = done / total if total else 1.0
        bar = "#" * int(30 * frac)
        sys.stderr.write(f"\r{label} [{bar:<30}] {100 * frac:5.1f}% {now - start:6.1f}s")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    return update
