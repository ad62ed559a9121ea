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

__all__ = ["JSON_VERSION", "dumps", "emit_json", "number", "progress_bar", "table"]

#: Version of every ``--json`` document's schema (``specs/cli.md``); raised on breaking changes.
JSON_VERSION = 1


def emit_json(
    data: Any, out: str | None = None, *, force: bool = False, kind: str | None = None
) -> None:
    """Print ``data`` as JSON, or write it atomically to ``out``.

    With ``kind``, the document starts with ``"format": kind`` and ``"version"``
    (:data:`JSON_VERSION`). Floats are written with ``repr`` (they read back exactly); lists of
    numbers stay on one line, so a long assignment is one line, not one per value.
    """
    if kind is not None:
        data = {"format": kind, "version": JSON_VERSION, **data}
    text = dumps(data) + "\n"
    if out is None or out == "-":
        sys.stdout.write(text)
    else:
        check_new(out, force)
        atomic_write_text(Path(out), text)


def dumps(value: Any, indent: int = 1, _level: int = 0) -> str:
    """JSON text: objects and lists of containers indented, lists of scalars on one line."""
    value = _plain(value)
    pad = " " * (indent * (_level + 1))
    end = " " * (indent * _level)
    if isinstance(value, dict):
        if not value:
            return "{}"
        if _inline_record(value):  # {"energy": -1.5, "count": 3}: one line per record
            return json.dumps(value, allow_nan=False, default=_default)
        items = [
            f"{pad}{json.dumps(str(k))}: {dumps(v, indent, _level + 1)}" for k, v in value.items()
        ]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    if isinstance(value, list):
        if not value:
            return "[]"
        if all(not isinstance(_plain(v), dict | list) for v in value):
            return json.dumps(value, allow_nan=False, default=_default)
        return (
            "[\n" + ",\n".join(pad + dumps(v, indent, _level + 1) for v in value) + "\n" + end + "]"
        )
    return json.dumps(value, allow_nan=False, default=_default)


def _inline_record(value: dict[Any, Any]) -> bool:
    return len(value) <= 3 and all(
        isinstance(v, bool | int | float) or v is None for v in map(_plain, value.values())
    )


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if hasattr(value, "tolist") and not isinstance(value, str):
        return value.tolist()
    return value


def number(value: Any, digits: int = 10) -> str:
    """A float for people: ``digits`` significant digits (``-9.06``, not ``-9.059999999999999``)."""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


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
        return number(value)
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
