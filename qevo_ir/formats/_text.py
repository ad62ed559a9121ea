"""Strict, vectorised parsing of ``i j value`` text lines, shared by the COO and qbsolv formats.

Each line is matched whole by a regular expression (compiled code, one pass over the text), so a
line that does not parse is reported by number instead of being skipped, and the numbers are then
converted by numpy in bulk, never by a per-line Python loop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from qevo_ir.coo import IndexArray, ValueArray
from qevo_ir.formats._common import MAX_INDEX, fail, format_floats

__all__ = [
    "FLOAT",
    "Triplets",
    "line_number",
    "merged_terms",
    "parse_float",
    "parse_triplets",
    "render_triplets",
]

#: A decimal float: digits with an optional point and exponent (no ``nan``, ``inf``, ``0x``).
FLOAT = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,5})?"
# The grammar is unambiguous (no two adjacent repeats can share characters), so a hostile line
# cannot make the regex engine backtrack quadratically. ASCII digits only: ``\d`` would accept
# other scripts' digits.
# Ten digits hold every accepted index (up to 2**31 - 2) and cannot overflow int64.
_INDEX = r"[0-9]{1,10}"
_DATA = rf"[ \t]*{_INDEX}[ \t]+{_INDEX}[ \t]+{FLOAT}"
_FLOAT_RE = re.compile(rf"[ \t]*{FLOAT}[ \t]*\r?")


@dataclass(frozen=True)
class Triplets:
    """The data lines of a file: ``(i, j, value)`` arrays and a way back to line numbers."""

    i: IndexArray
    j: IndexArray
    value: ValueArray
    line_of: Callable[[int], int]


def line_number(text: str, position: int) -> int:
    """1-based line number of character ``position`` in ``text``."""
    return text.count("\n", 0, position) + 1


def parse_float(token: str, name: str, what: str) -> float:
    """A finite float from a header token such as ``# offset=...``."""
    if not _FLOAT_RE.fullmatch(token):
        fail(name, f"{what}: cannot parse {token!r} as a number")
    value = float(token)
    if not np.isfinite(value):
        fail(name, f"{what}: {token!r} overflows to infinity")
    return value


_CHUNK_CHARS = 8 * 1024 * 1024


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """``(start, chunk)`` pieces of ``text`` of about ``_CHUNK_CHARS``, cut after a newline."""
    pos = 0
    while pos < len(text):
        end = text.find("\n", min(pos + _CHUNK_CHARS, len(text)))
        end = len(text) if end == -1 else end + 1
        yield pos, text[pos:end]
        pos = end


def parse_triplets(text: str, name: str, *, ignorable: str, expected: str) -> Triplets:
    """Parse every ``i j value`` line of ``text``; lines matching ``ignorable`` are skipped.

    ``ignorable`` is a regex for whole lines (comments, a program line) without anchors. Blank
    lines are allowed. Any other line fails with its number; ``expected`` describes the format.
    """
    bad_line = re.compile(rf"^(?!(?:{_DATA}|{ignorable})?[ \t]*\r?$).*$", flags=re.MULTILINE)
    skip_line = re.compile(rf"^(?:{ignorable})[ \t]*\r?$", flags=re.MULTILINE)
    parts: list[tuple[IndexArray, IndexArray, ValueArray]] = []
    # Chunks of whole lines bound the temporary Python strings to a few chunk sizes, whatever the
    # size of the file.
    for start, chunk in _chunks(text):
        bad = bad_line.search(chunk)
        if bad is not None:
            shown = bad.group(0).rstrip("\r")
            if len(shown) > 60:
                shown = shown[:57] + "..."
            fail(
                name,
                f"line {line_number(text, start + bad.start())}: cannot parse {shown!r}; "
                f"expected {expected}",
            )
        tokens = skip_line.sub("", chunk).split()
        if len(tokens) % 3:  # pragma: no cover - every surviving line has exactly three tokens
            fail(name, "internal error: data lines do not split into triplets")
        # Every token matched the grammar above, so numpy's string conversion cannot fail.
        parts.append(
            (
                np.array(tokens[0::3], dtype=np.int64).reshape(-1),
                np.array(tokens[1::3], dtype=np.int64).reshape(-1),
                np.array(tokens[2::3], dtype=np.float64).reshape(-1),
            )
        )
    if parts:
        i, j, value = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
    else:
        i, j, value = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)

    def line_of(k: int) -> int:
        pattern = re.compile(rf"^{_DATA}[ \t]*\r?$", flags=re.MULTILINE)
        for count, match in enumerate(pattern.finditer(text)):
            if count == k:
                return line_number(text, match.start())
        return 0  # pragma: no cover - k is always a data line's index

    if value.size and not np.isfinite(value).all():
        k = int(np.flatnonzero(~np.isfinite(value))[0])
        fail(name, f"line {line_of(k)}: the value overflows to infinity")
    if i.size:
        top = np.maximum(i, j)
        if top.max() > MAX_INDEX:
            k = int(np.argmax(top))
            fail(
                name,
                f"line {line_of(k)}: index {int(top[k])} is over the limit {MAX_INDEX} "
                "(indices are 0-based and must fit a 32-bit signed integer)",
            )
    return Triplets(i, j, value, line_of)


def render_triplets(i: IndexArray, j: IndexArray, value: ValueArray) -> str:
    """``i j value`` lines (values exact, shortest positional decimal), each ending in a newline."""
    if len(i) == 0:
        return ""
    lines = map("%d %d %s".__mod__, zip(i.tolist(), j.tolist(), format_floats(value), strict=True))
    return "\n".join(lines) + "\n"


def merged_terms(
    linear: ValueArray, row: IndexArray, col: IndexArray, quad: ValueArray
) -> tuple[IndexArray, IndexArray, ValueArray]:
    """Non-zero linear terms as ``(i, i, h)`` merged with the couplings, sorted by ``(i, j)``."""
    nz = np.flatnonzero(linear)
    i = np.concatenate([nz, row])
    j = np.concatenate([nz, col])
    v = np.concatenate([linear[nz], quad])
    order = np.lexsort((j, i))
    return i[order], j[order], v[order]
