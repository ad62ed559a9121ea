"""Options of the commands that run many tasks: ``--workers N``, ``--scheduler ADDRESS``, and the
time left before ``qevo --timeout``."""

from __future__ import annotations

import argparse
import contextlib
import re
import socket
import time
from collections.abc import Iterator
from typing import Any

from qevo_ir.errors import DeadlineExceeded, ValidationError

__all__ = ["OUTPUT_MARGIN_S", "add_execution_options", "engine", "output_phase", "time_left"]

#: Time kept back from ``--timeout`` for finishing once the work stops (collecting the
#: finished reads, decoding, the lower bound) and writing the output ...
OUTPUT_MARGIN_S = 0.5
#: ... plus this share of the timeout (finishing grows with the problem).
OUTPUT_MARGIN_SHARE = 0.05
#: How long a TCP connect to the scheduler may take before ``--scheduler`` gives up.
_PROBE_TIMEOUT_S = 5.0
#: Dask's communication schemes that run over TCP (the only ones a probe can check).
_SCHEMES = ("tcp", "tls", "ws", "wss")


def add_execution_options(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help=f"{what} on a local pool of N worker processes (results do not depend on N)",
    )
    p.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=f"{what} on a Dask cluster, e.g. tcp://10.0.0.5:8786 (needs the 'dask' extra)",
    )


@contextlib.contextmanager
def engine(args: argparse.Namespace) -> Iterator[tuple[Any, int | None]]:
    """``(executor, workers)`` for the execution layer from ``--workers``/``--scheduler``; a Dask
    client is connected for the command and closed after it."""
    workers = getattr(args, "workers", None)
    address = getattr(args, "scheduler", None)
    if workers is not None and workers < 1:
        raise ValidationError(f"--workers must be at least 1, got {workers}")
    if address is None:
        yield None, workers
        return
    if workers is not None:
        raise ValidationError("give --workers or --scheduler, not both")
    from qevo_ir.plugins import require

    distributed = require("distributed", "dask")
    address = _probe(address)
    try:
        client = distributed.Client(address, timeout=10, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise ValidationError(f"--scheduler {address}: cannot connect ({exc})") from None
    try:
        yield client, None
    finally:
        client.close()


def _probe(address: str) -> str:
    """The scheduler's address with its scheme (``HOST:PORT`` means ``tcp://HOST:PORT``), refused
    at once when nobody listens there (Dask's client retries a refused connection until its
    timeout)."""
    scheme, sep, rest = address.partition("://")
    if not sep:
        scheme, rest = "tcp", address
    if scheme not in _SCHEMES:
        raise ValidationError(
            f"--scheduler {address!r}: the scheme must be one of {', '.join(_SCHEMES)}, "
            "e.g. tcp://10.0.0.5:8786"
        )
    match = re.fullmatch(r"(\[[0-9A-Fa-f:.]+\]|[^:/\[\]]+):(\d{1,5})/?", rest)
    if match is None:
        raise ValidationError(f"--scheduler {address!r}: give HOST:PORT, e.g. tcp://10.0.0.5:8786")
    host, port = match.group(1).strip("[]"), int(match.group(2))
    if not 0 < port < 65536:
        raise ValidationError(f"--scheduler {address}: port {port} is not 1..65535")
    try:
        with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT_S):
            pass
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ValidationError(f"--scheduler {address}: cannot connect ({reason})") from None
    return f"{scheme}://{rest}"


def time_left(args: argparse.Namespace) -> float | None:
    """Seconds the work may take before ``--timeout`` (finishing and output time kept back:
    0.5 s plus 5 % of the timeout), or ``None``."""
    deadline: float | None = getattr(args, "deadline", None)
    if deadline is None:
        return None
    margin = OUTPUT_MARGIN_S + OUTPUT_MARGIN_SHARE * float(getattr(args, "timeout", 0.0) or 0.0)
    left = deadline - time.monotonic() - margin
    if left <= 0:
        raise DeadlineExceeded("the --timeout passed before the work could start")
    return left


def output_phase(args: argparse.Namespace) -> None:
    """The work is done: writing its result is no longer cut off at ``--timeout`` (a watchdog
    still ends a command that takes more than two seconds more)."""
    hook = getattr(args, "output_phase", None)
    if hook is not None:
        hook()
