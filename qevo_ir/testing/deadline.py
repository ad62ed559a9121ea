"""A wall-clock deadline for robustness and fuzz checks: a reader that hangs is a failure."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

__all__ = ["Hang", "deadline"]


class Hang(Exception):  # deliberately not a QevoError: a hang is a failure, never an outcome
    """Raised by :func:`deadline` when its body overruns."""


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the main thread if the body runs longer than ``seconds``.

    Uses ``SIGALRM`` (POSIX, main thread only); the previous handler and timer are restored.
    """

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
