"""Entry point of ``qevo``: builds the parser, runs one command, turns errors into one line.

Every error a user can cause (bad file, bad option, size limit, missing SDK) prints one line on
stderr and exits with 2; ``--debug`` shows the traceback instead. Ctrl-C and SIGTERM exit with
130/143 after the atomic writers have removed their temporary files.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

from qevo_ir._version import __version__
from qevo_ir.advice import cli_context
from qevo_ir.atomic import LOCK_NAME
from qevo_ir.cli.commands import ALL as COMMANDS
from qevo_ir.errors import DeadlineExceeded, QevoError, ValidationError
from qevo_ir.execution.engine import WATCHDOG_THREAD

__all__ = ["build_parser", "main"]

EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a killed pipeline stage
MAX_TIMEOUT_S = 1e9  # setitimer overflows far above this; 1e9 s is over 30 years
TERMINATED_MESSAGE = "qevo: terminated; nothing partial was written"
_MAX_MESSAGE = 300  # characters of an argparse message shown
CLI_MIN_BUDGET = 1 << 20  # --max-memory below 1 MiB leaves no room for any reader


class _Terminated(BaseException):
    """Raised in the main thread on SIGTERM so ``finally`` blocks and atomic writers clean up."""


class _TimedOut(QevoError, TimeoutError):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse prints usage + message and exits 2; keep it to one line on stderr.
        if len(message) > _MAX_MESSAGE:  # an argument of 5,000 digits is not echoed whole
            message = message[: _MAX_MESSAGE - 3] + "..."
        self.exit(EXIT_USAGE, f"qevo: error: {message} (see qevo {self._sub_hint()}--help)\n")

    def _sub_hint(self) -> str:
        parts = self.prog.split()[1:]
        return (" ".join(parts) + " ") if parts else ""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="qevo",
        description=(
            "Compile Ising/QUBO Hamiltonians (parameter-correlation Hamiltonians of model blocks) "
            "through passes to dimod BQMs, Qiskit/Cirq QAOA circuits and an exact solver, and "
            "verify every lowering."
        ),
        epilog="Run 'qevo demo' for a tour. Each command has its own --help.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"qevo {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks instead of one-line errors"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop the command SECONDS after it started, native solvers included (a sampler "
        "whose reads split returns the reads that finished; otherwise exit 2, nothing written)",
    )
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress bars (they are drawn on stderr only when it is a terminal)",
    )
    parser.add_argument(
        "--max-memory",
        metavar="SIZE",
        help="memory budget, e.g. 512M or 4G (default: half the available memory); inputs and "
        "sizes that need more are refused before anything is allocated",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated()


def _sigterm_outside_work(signum: int, frame: FrameType | None) -> None:
    """SIGTERM to the ``qevo`` process before its work starts (parsing options) or after it ended
    (its output complete, the exit under way): one line and 143, as during the work, instead of
    the silent death of the default action."""
    print(TERMINATED_MESSAGE, file=sys.stderr)
    raise SystemExit(143)


TIMEOUT_MESSAGE = "the command ran past its --timeout and was stopped; nothing was written"
#: After the deadline, how long the main thread has to notice the alarm before the watchdog
#: ends the process (native code in the main thread does not see signals).
WATCHDOG_GRACE_S = 0.5
#: Time a command has to write a result it already holds once its --timeout work is done.
OUTPUT_GRACE_S = 2.0


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise _TimedOut(TIMEOUT_MESSAGE)


def _process_age() -> float:
    """Seconds since this process started (Linux ``/proc``; 0 where unknown)."""
    try:
        with open("/proc/self/stat", encoding="ascii") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as fh:
            uptime = float(fh.read().split()[0])
        return max(0.0, uptime - int(fields[19]) / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def _watchdog(deadline: list[float], finished: threading.Event) -> None:
    """End the process if the main thread is still busy ``WATCHDOG_GRACE_S`` past the deadline:
    it is then inside native code that the alarm cannot interrupt. ``deadline[0]`` may move
    (the output phase)."""
    while not finished.wait(max(0.0, deadline[0] + WATCHDOG_GRACE_S - time.monotonic())):
        if time.monotonic() >= deadline[0] + WATCHDOG_GRACE_S:
            break
    else:
        return
    from qevo_ir.execution.engine import kill_live_workers

    kill_live_workers()
    with contextlib.suppress(Exception):
        sys.stderr.write(f"qevo: error: {TIMEOUT_MESSAGE}\n")
        sys.stderr.flush()
    os._exit(EXIT_USAGE)


#: Commands whose ``-o`` is a folder they create when it is missing.
_FOLDER_COMMANDS = frozenset(("compile", "compile-block", "solve-many"))


@contextlib.contextmanager
def _fresh_folder(args: argparse.Namespace) -> Iterator[list[bool]]:
    """When a folder command fails (an error, a signal, a timeout) after creating its output
    folder, remove that folder again if it holds nothing but the lock file: a failed command
    leaves nothing behind. The block sets ``keep[0]`` when it succeeds."""
    keep = [False]
    output = getattr(args, "output", None)
    path = Path(output) if args.command in _FOLDER_COMMANDS and output else None
    fresh = path is not None and not os.path.lexists(path)
    try:
        yield keep
    finally:
        if fresh and not keep[0] and path is not None:
            with contextlib.suppress(OSError):
                real_dir = path.is_dir() and not path.is_symlink()
                if real_dir and set(os.listdir(path)) <= {LOCK_NAME}:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(path / LOCK_NAME)
                    path.rmdir()


def main(argv: Sequence[str] | None = None) -> int:
    if argv is None:  # the qevo process itself (in-process callers keep their own handlers)
        signal.signal(signal.SIGTERM, _sigterm_outside_work)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    debug = bool(args.debug) or os.environ.get("QEVO_DEBUG") == "1"
    if args.timeout is not None and not 0 < args.timeout <= MAX_TIMEOUT_S:
        parser.error(f"--timeout must be a number of seconds in (0, {MAX_TIMEOUT_S:g}]")
    # As a command, the clock starts with the process (imports count); called in-process
    # (tests, scripts), it starts now.
    started = time.monotonic() - (_process_age() if argv is None else 0.0)
    args.deadline = None if args.timeout is None else started + args.timeout
    from qevo_ir.execution.progress import quiet

    quiet(bool(args.quiet) or bool(getattr(args, "json", False)))
    from qevo_ir.budget import parse_size, set_memory_budget

    requested = getattr(args, "max_memory", None)
    try:
        if requested is not None and parse_size(requested) < CLI_MIN_BUDGET:
            raise ValidationError(
                f"{requested!r} is under the smallest budget a command can run in (1M); "
                "write a size such as 512M or 4G"
            )
        set_memory_budget(requested)
    except QevoError as exc:
        parser.error(f"--max-memory: {exc}")
    # Handlers are put back afterwards, so main() can also run in-process (tests, scripts).
    old_term = signal.signal(signal.SIGTERM, _on_sigterm)
    old_alarm = None
    finished = threading.Event()
    watched = [args.deadline]

    def output_phase() -> None:
        # The work is done and its result in hand: writing it is not cut off by the alarm,
        # only by the watchdog, OUTPUT_GRACE_S from now.
        if args.deadline is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            watched[0] = time.monotonic() + OUTPUT_GRACE_S

    args.output_phase = output_phase
    if args.deadline is not None:
        old_alarm = signal.signal(signal.SIGALRM, _on_alarm)
        threading.Thread(
            target=_watchdog, args=(watched, finished), name=WATCHDOG_THREAD, daemon=True
        ).start()
    try:
        if args.deadline is not None:  # inside try: a tiny timeout may fire at once
            remaining = args.deadline - time.monotonic()
            if remaining <= 0:  # spent on start-up already: no race with a fast command
                raise _TimedOut(TIMEOUT_MESSAGE)
            signal.setitimer(signal.ITIMER_REAL, max(1e-3, remaining))
        with warnings.catch_warnings(), cli_context():  # advice names CLI flags (--force)
            warnings.showwarning = _one_line_warning
            with _fresh_folder(args) as keep:
                code = int(args.run(args) or 0)
                keep[0] = code == 0
                return code
    except KeyboardInterrupt:
        if args.deadline is not None and time.monotonic() >= args.deadline:
            # Native code (minorminer) turns the alarm it noticed into KeyboardInterrupt.
            print(f"qevo: error: {TIMEOUT_MESSAGE}", file=sys.stderr)
            return EXIT_USAGE
        print("qevo: interrupted; nothing partial was written", file=sys.stderr)
        return 130
    except _Terminated:
        print(TERMINATED_MESSAGE, file=sys.stderr)
        return 143
    except BrokenPipeError:  # stdout closed early (``qevo ... | head``): quiet, like cat
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except DeadlineExceeded as exc:  # a solve stopped at the deadline with nothing to show
        if debug:
            traceback.print_exc()
        print(f"qevo: error: {TIMEOUT_MESSAGE} ({_one_line(exc)})", file=sys.stderr)
        return EXIT_USAGE
    except (QevoError, OSError, MemoryError, RecursionError) as exc:
        if debug:
            traceback.print_exc()
        print(f"qevo: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug, not a user error: still one line unless --debug
        if debug:
            traceback.print_exc()
        print(
            f"qevo: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(rerun with --debug and report it)",
            file=sys.stderr,
        )
        return 1
    finally:
        finished.set()
        quiet(False)
        if args.deadline is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, old_alarm)
        signal.signal(signal.SIGTERM, old_term)  # the process's own: _sigterm_outside_work


def _one_line_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    """A warning (numpy's included) as one ``qevo: warning:`` line, without the source line."""
    text = " ".join(str(message).split())
    print(f"qevo: warning: {category.__name__}: {text}", file=sys.stderr)


def _silence_stdout() -> None:
    # Python flushes stdout at exit and would report the broken pipe again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (captured in tests)
        pass


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, MemoryError):
        return "out of memory; the problem is too large for this machine"
    if isinstance(exc, RecursionError):
        return "input nests too deeply"
    if isinstance(exc, OSError) and exc.filename is not None:
        return f"{exc.filename}: {exc.strerror or exc}"
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
