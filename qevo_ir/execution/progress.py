"""Progress bars on stderr for long work: tqdm when installed and stderr is a terminal, else none.

``progress`` arguments across the API read the same way: ``None`` (auto: a bar only when
stderr is a terminal and tqdm is installed), ``False`` (never), ``True`` (a bar whenever tqdm is
installed), or a callable ``(done, total)`` called as work completes.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["Progress", "ProgressArg", "progress_enabled", "progress_reporter", "quiet"]

Progress = Callable[[int, int], None]
ProgressArg = bool | Progress | None

_QUIET = {"on": False}


def quiet(on: bool = True) -> None:
    """Turn every automatic bar off (``qevo --quiet``, ``--json``); explicit callables still run."""
    _QUIET["on"] = bool(on)


def progress_enabled(progress: ProgressArg) -> bool:
    """Whether ``progress`` asks for a bar (or a callback) here and now."""
    if callable(progress):
        return True
    if progress is False or _QUIET["on"]:
        return False
    if progress is None:
        try:
            if not sys.stderr.isatty():
                return False
        except (AttributeError, ValueError):  # stderr replaced or closed
            return False
    return _tqdm() is not None


def _tqdm() -> Any:
    try:
        return importlib.import_module("tqdm").tqdm
    except ImportError:
        return None


@contextlib.contextmanager
def progress_reporter(
    progress: ProgressArg, total: int, desc: str, unit: str = "task"
) -> Iterator[Progress | None]:
    """Yield a ``(done, total)`` callback for ``total`` units of work, or ``None`` for silence.

    A bar is closed on exit, whatever happened; a callable ``progress`` is passed through.
    """
    if callable(progress):
        yield progress
        return
    if not progress_enabled(progress):
        yield None
        return
    tqdm = _tqdm()
    # No monitor thread: a sleeping extra thread would stop deadline workers from forking.
    tqdm.monitor_interval = 0
    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False, dynamic_ncols=True)

    def update(done: int, total_now: int) -> None:
        if total_now != bar.total:  # work whose size is known only once it starts
            bar.total = total_now
        bar.update(done - bar.n)

    try:
        yield update
    finally:
        bar.close()
