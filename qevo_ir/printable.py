"""Text from files made safe to print: every non-printable character escaped.

Labels, file names and report fields are untrusted: a newline in one could forge an output line,
an escape sequence could drive the terminal. Everything the CLI prints from a file goes through
:func:`printable`.
"""

from __future__ import annotations

__all__ = ["printable"]


def printable(text: str) -> str:
    """``text`` with every non-printable character escaped (``\\n``, ``\\x1b``, ``\\u202e``,
    lone surrogates); printable text is returned unchanged."""
    if text.isprintable():
        return text
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape", "backslashreplace").decode("ascii")
        for ch in text
    )
