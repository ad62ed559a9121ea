"""Advice in the caller's language: CLI flags under ``qevo``, keyword arguments under Python.

An error raised deep in the library often tells the user what to pass to get past it (overwrite
an output, drop labels, give a vartype). The same option is ``--drop-labels`` on the command line
and ``drop_labels=True`` in Python; :func:`option` spells it for whoever is calling. The ``qevo``
entry point runs each command inside :func:`cli_context`; everything else is Python.

Names that a user typed and that are not known get :func:`unknown_name`: a case-insensitive
match is accepted by the callers, and the message lists every valid name with a "did you mean".
"""

from __future__ import annotations

import contextlib
import difflib
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

__all__ = ["cli_context", "did_you_mean", "in_cli", "match_name", "option", "unknown_name"]

_IN_CLI: ContextVar[bool] = ContextVar("qevo_ir_in_cli", default=False)


@contextlib.contextmanager
def cli_context() -> Iterator[None]:
    """Within this block, :func:`option` spells options as ``qevo`` flags."""
    token = _IN_CLI.set(True)
    try:
        yield
    finally:
        _IN_CLI.reset(token)


def in_cli() -> bool:
    """Whether the current call runs under the ``qevo`` command line."""
    return _IN_CLI.get()


def option(name: str, value: object = True, *, flag: str | None = None) -> str:
    """``name`` as the caller writes it: ``--drop-labels`` (CLI) or ``drop_labels=True``.

    ``flag`` overrides the CLI spelling where it is not derived from the keyword (``--vartype
    SPIN``); for a boolean keyword the flag alone is shown.
    """
    if in_cli():
        if flag is not None:
            return flag
        cli = "--" + name.replace("_", "-")
        return cli if isinstance(value, bool) else f"{cli} {value}"
    return f"{name}={value!r}"


def match_name(name: str, valid: Iterable[str]) -> str | None:
    """The entry of ``valid`` equal to ``name`` ignoring case (exact match first), or None."""
    names = list(valid)
    if name in names:
        return name
    folded = [v for v in names if v.casefold() == name.casefold()]
    return folded[0] if len(folded) == 1 else None


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest entries of ``valid`` (difflib), or ``""``."""
    lower = {v.casefold(): v for v in valid}
    close = difflib.get_close_matches(name.casefold(), list(lower), n=3, cutoff=0.6)
    if not close:
        return ""
    return " (did you mean " + " or ".join(repr(lower[c]) for c in close) + "?)"


def unknown_name(kind: str, name: str, valid: Iterable[str], *, extra: str = "") -> str:
    """``unknown KIND 'name' (did you mean 'x'?); valid KINDs: a, b, c`` for a message."""
    names = sorted(dict.fromkeys(valid))
    hint = did_you_mean(name, names)
    listing = ", ".join(names) if names else "none"
    plural = kind + ("es" if kind.endswith("s") else "s")
    return f"unknown {kind} {name!r}{hint}; valid {plural}: {listing}{extra}"
