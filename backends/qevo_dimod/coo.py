"""The ``bqm.coo`` text format: dimod's COO layout, written at full precision and read strictly.

dimod's own COO writer prints ``1e-7`` as ``0.000000`` and its reader silently skips lines it
cannot parse; this module keeps every bit of every bias and rejects what it cannot parse, naming
the line. The layout and header rules are in ``specs/backend_dimod.md``.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import FormatError, LabelError, ValidationError
from qevo_ir.formats import load_json, read_text_file
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.variables import Label, check_label
from qevo_ir.vartypes import as_vartype

__all__ = ["COO_MAX_BYTES", "dumps_coo", "format_biases", "loads_coo", "read_coo"]

#: Files larger than this are refused before they are read (about 40 million terms).
COO_MAX_BYTES = 1 << 30

# Index fields longer than this cannot be an int64 label; refusing them avoids huge ints.
_MAX_INDEX_DIGITS = 18

_BLANK = np.zeros(256, dtype=bool)
_BLANK[list(b" \t\n\r\x0b\x0c")] = True  # exactly the bytes bytes.split() splits on
_DIGIT = np.zeros(256, dtype=bool)
_DIGIT[list(b"0123456789")] = True
_NUMBER = _DIGIT.copy()
_NUMBER[list(b"+-.eE")] = True
_NONDIGIT = ~_DIGIT & ~_BLANK
_NEWLINE, _HASH = ord("\n"), ord("#")

_HEADER = re.compile(r"^#\s*(vartype|offset|labels|variable_order)\s*[:=]\s*(.*?)\s*$")


# ----------------------------------------------------------------------------- writing
def format_biases(values: npt.NDArray[np.float64]) -> list[str]:
    """Shortest round-trip decimal strings of ``values``, never in exponent notation.

    ``repr`` is exact but writes ``1e-07``, which dimod's COO reader skips without a word; the
    positional form (``0.0000001``) is exact too and matches dimod's line pattern.
    """
    out = list(map(repr, values.tolist()))
    if "e" in "\n".join(out):  # rare (|x| < 1e-4 or >= 1e16): fix those entries only
        for k in np.flatnonzero(np.char.find(np.asarray(out, dtype=str), "e") >= 0):
            out[int(k)] = np.format_float_positional(values[k], unique=True, trim="-")
    return out


def _coo_labels_mode(ham: Hamiltonian) -> tuple[str, npt.NDArray[np.int64]]:
    """How the data lines name variables: ``"range"``, ``"int"`` (the labels) or ``"labels"``.

    Returns the mode and, per variable, the number written on its lines.
    """
    n = ham.num_variables
    if ham.variables.is_range:
        return "range", np.arange(n, dtype=np.int64)
    labels = ham.labels
    if all(type(x) is int and 0 <= x < 10**_MAX_INDEX_DIGITS for x in labels):
        return "int", np.fromiter(labels, dtype=np.int64, count=n)
    return "labels", np.arange(n, dtype=np.int64)


def dumps_coo(ham: Hamiltonian) -> str:
    """The COO text of ``ham`` (see ``specs/backend_dimod.md``).

    Lines ``u v bias`` sorted by ``(u, v)`` with ``u <= v``; ``u u bias`` is a linear bias,
    written when it is nonzero or the variable has no coupling (so dimod's reader sees every
    variable). Headers are comments: ``# vartype=``, ``# offset=`` and, when labels are not
    ``0..n-1``, ``# variable_order=`` (integer labels, written on the lines) or ``# labels=``
    (any labels; the lines hold positions in that list).
    """
    n = ham.num_variables
    mode, names = _coo_labels_mode(ham)
    head = [
        f"# vartype={ham.vartype.value}",
        f"# offset={format_biases(np.array([ham.offset]))[0]}",
    ]
    if mode == "int" and np.any(np.diff(names) <= 0):
        head.append("# variable_order=" + json.dumps(names.tolist()))
    elif mode == "labels":
        head.append("# labels=" + json.dumps(_jsonable(ham.labels), ensure_ascii=False))
    degree = np.bincount(ham.row, minlength=n) + np.bincount(ham.col, minlength=n)
    diag = np.flatnonzero((ham.linear != 0) | (degree == 0))
    u = np.concatenate([names[diag], names[ham.row]])
    v = np.concatenate([names[diag], names[ham.col]])
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    bias = np.concatenate([ham.linear[diag], ham.quad])
    order = np.lexsort((hi, lo))
    texts = format_biases(bias[order])
    lines = [
        f"{a} {b} {t}"
        for a, b, t in zip(lo[order].tolist(), hi[order].tolist(), texts, strict=True)
    ]
    return "\n".join(head + lines) + "\n"


def _jsonable(labels: tuple[Label, ...]) -> list[Any]:
    return [_jsonable(x) if isinstance(x, tuple) else x for x in labels]


# ----------------------------------------------------------------------------- reading
def read_coo(path: str | os.PathLike[str], *, max_bytes: int = COO_MAX_BYTES) -> Hamiltonian:
    """Read a COO file into a validated Hamiltonian; errors name the file and the line."""
    text = read_text_file(path, max_bytes=max_bytes)
    return loads_coo(text, source=os.fspath(path))


def loads_coo(text: str, *, source: str = "<string>", vartype: str | None = None) -> Hamiltonian:
    """Parse COO text (ours or dimod's) into a Hamiltonian.

    Every data line must be ``u v bias``: ``u``, ``v`` decimal non-negative integers of at most
    18 digits, ``bias`` a finite decimal number (``[+-]digits[.digits][e[+-]digits]``; no
    ``nan``, ``inf`` or ``_``). Anything else raises :class:`FormatError` naming ``source`` and the
    line number. ``vartype`` is needed when the text has no ``# vartype=`` header. The scan is
    vectorised over the bytes of the text (no Python loop per line).
    """
    headers, lines, tok_u, tok_v, tok_b = _scan(text.encode("utf-8"), source)
    u = _parse_indices(tok_u, lines, source)
    v = _parse_indices(tok_v, lines, source)
    bias = _parse_biases(tok_b, lines, source)
    vt = _header_vartype(headers, vartype, source)
    offset = _header_offset(headers, source)
    if "labels" in headers and "variable_order" in headers:
        raise FormatError(f"{source}: give '# labels=' or '# variable_order=', not both")
    if "labels" in headers:
        labels = _header_list(headers["labels"], source, "labels")
        n = len(labels)
        bad = np.flatnonzero(np.maximum(u, v) >= n)
        if bad.size:
            raise FormatError(
                f"{source}:{lines[int(bad[0])]}: index {max(u[bad[0]], v[bad[0]])} is out of "
                f"range for the {n} labels of the '# labels=' header"
            )
        ui, vi, names = u, v, labels
    else:
        present = np.unique(np.concatenate([u, v]))
        if "variable_order" in headers:
            order_list = _header_list(headers["variable_order"], source, "variable_order")
            order = np.array(order_list, dtype=np.int64) if order_list else np.zeros(0, np.int64)
            if any(type(x) is not int or x < 0 for x in order_list):
                raise FormatError(f"{source}: '# variable_order=' must list non-negative ints")
            if len(np.unique(order)) != len(order):
                raise FormatError(f"{source}: '# variable_order=' repeats a variable")
            missing = np.setdiff1d(present, order)
            if missing.size:
                raise FormatError(
                    f"{source}: variable {int(missing[0])} is not in '# variable_order='"
                )
            pos = np.argsort(order, kind="stable")
            ui = pos[np.searchsorted(order[pos], u)]
            vi = pos[np.searchsorted(order[pos], v)]
            names = order.tolist()
        else:
            ui = np.searchsorted(present, u)
            vi = np.searchsorted(present, v)
            names = present.tolist()
    n = len(names)
    diag = ui == vi
    linear = np.bincount(ui[diag], weights=bias[diag], minlength=n).astype(np.float64)
    off = ~diag
    try:
        return Hamiltonian(
            linear,
            ui[off],
            vi[off],
            bias[off],
            offset,
            vartype=vt,
            variables=names,
            keep_zeros=True,
        )
    except (LabelError, ValidationError) as exc:
        raise FormatError(f"{source}: {exc}") from None


def _header_vartype(headers: dict[str, tuple[int, str]], vartype: str | None, source: str) -> str:
    if "vartype" not in headers:
        if vartype is None:
            raise FormatError(
                f"{source}: no '# vartype=SPIN' or '# vartype=BINARY' header; pass vartype="
            )
        return as_vartype(vartype).value
    k, value = headers["vartype"]
    try:
        got = as_vartype(value).value
    except ValidationError:
        raise FormatError(f"{source}:{k}: vartype {value!r} is not SPIN or BINARY") from None
    if vartype is not None and as_vartype(vartype).value != got:
        raise FormatError(f"{source}:{k}: header says {got}, but vartype={vartype!r} was given")
    return got


def _header_offset(headers: dict[str, tuple[int, str]], source: str) -> float:
    if "offset" not in headers:
        return 0.0
    k, value = headers["offset"]
    try:
        off = float(value)
    except ValueError:
        raise FormatError(f"{source}:{k}: offset {value!r} is not a number") from None
    if not np.isfinite(off):
        raise FormatError(f"{source}:{k}: offset {value!r} is not finite")
    return off


def _header_list(header: tuple[int, str], source: str, name: str) -> list[Any]:
    k, value = header
    items = load_json(value, f"{source}:{k}", f"'# {name}=' header")
    if not isinstance(items, list):
        raise FormatError(f"{source}:{k}: '# {name}=' must be a JSON list")
    try:
        return [check_label(x) for x in items]
    except LabelError as exc:
        raise FormatError(f"{source}:{k}: {exc}") from None


def _scan(
    raw: bytes, source: str
) -> tuple[
    dict[str, tuple[int, str]], npt.NDArray[np.int64], list[bytes], list[bytes], list[bytes]
]:
    """Headers and the three token columns of the data lines, with each data line's number.

    Tokens are found with numpy over the bytes: a token starts at a non-blank byte after a blank
    one; its line is the number of newlines before it. A line whose first token starts with ``#``
    is a comment. Every data line must hold exactly three tokens, and only ASCII.
    """
    b = np.frombuffer(raw, dtype=np.uint8)
    empty: list[bytes] = []
    if b.size == 0:
        return {}, np.zeros(0, dtype=np.int64), empty, empty, empty
    blank = _BLANK[b]
    edge = np.flatnonzero(blank[1:] != blank[:-1]) + 1  # blank→token and token→blank
    if not blank[0]:
        edge = np.concatenate([[0], edge])
    if not blank[-1]:
        edge = np.concatenate([edge, [b.size]])
    starts, ends = edge[0::2], edge[1::2]
    nl_pos = np.flatnonzero(b == _NEWLINE)
    line = np.searchsorted(nl_pos, starts)  # 0-based: newlines before the token
    first = np.ones(line.size, dtype=bool)
    first[1:] = line[1:] != line[:-1]
    hashed = first & (b[starts] == _HASH)
    comment_lines = line[hashed]
    in_comment = np.isin(line, comment_lines)
    # Bytes that may not appear in a data token at all (non-ASCII, letters other than e/E, ...).
    odd = np.flatnonzero(~_NUMBER[b] & ~blank)
    if odd.size:
        odd_line = np.searchsorted(nl_pos, odd)
        outside = ~np.isin(odd_line, comment_lines)
        if np.any(outside):
            k = int(odd[outside][0])
            raise FormatError(
                f"{source}:{int(odd_line[outside][0]) + 1}: unexpected character "
                f"{bytes(b[k : k + 1])!r} in a data line (expected 'u v bias')"
            )
    # Comment lines: a few headers; decode each (a loop over comment lines only).
    headers: dict[str, tuple[int, str]] = {}
    pieces: list[bytes] = []
    cursor = 0
    for ln, pos in zip(comment_lines.tolist(), starts[hashed].tolist(), strict=True):
        stop = int(nl_pos[ln]) if ln < len(nl_pos) else len(raw)
        try:
            comment = raw[pos:stop].decode("utf-8").rstrip("\r")
        except UnicodeDecodeError:
            raise FormatError(f"{source}:{ln + 1}: comment is not valid UTF-8") from None
        m = _HEADER.match(comment)
        if m:
            if m.group(1) in headers:
                raise FormatError(f"{source}:{ln + 1}: header {m.group(1)!r} given twice")
            headers[m.group(1)] = (ln + 1, m.group(2))
        pieces.append(raw[cursor:pos])
        cursor = stop
    pieces.append(raw[cursor:])
    data = ~in_comment
    data_line = line[data]
    if data_line.size:  # tokens come in line order: count each line's run of tokens
        run = np.flatnonzero(np.diff(data_line, prepend=-1, append=data_line[-1] + 1))
        counts = np.diff(run)
        if np.any(counts != 3):
            k = int(data_line[run[int(np.flatnonzero(counts != 3)[0])]]) + 1
            raise FormatError(f"{source}:{k}: expected 'u v bias' (three fields)")
    tokens = b"".join(pieces).split()
    if len(tokens) != data_line.size:  # cannot happen: both split on the same blank bytes
        raise FormatError(f"{source}: inconsistent tokenisation")
    lines = data_line[0::3] + 1
    _check_indices(b, starts[data], ends[data], lines, source)
    return headers, lines, tokens[0::3], tokens[1::3], tokens[2::3]


def _check_indices(
    b: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    ends: npt.NDArray[np.int64],
    lines: npt.NDArray[np.int64],
    source: str,
) -> None:
    """The first two tokens of every data line are 1-18 decimal digits."""
    if starts.size == 0:
        return
    # A non-blank, non-digit byte; in a data line it is one of + - . e E (others were refused).
    nondigit = np.flatnonzero(_NONDIGIT[b])
    tok = np.searchsorted(starts, nondigit, side="right") - 1
    inside = (tok >= 0) & (nondigit < ends[np.maximum(tok, 0)])
    tok = tok[inside]
    for field in (0, 1):
        s, e = starts[field::3], ends[field::3]
        bad = (e - s) > _MAX_INDEX_DIGITS
        in_field = tok[tok % 3 == field] // 3
        bad[in_field] = True
        if np.any(bad):
            k = int(np.flatnonzero(bad)[0])
            token = bytes(b[s[k] : e[k]]).decode("ascii", "replace")
            raise FormatError(
                f"{source}:{lines[k]}: variable {token!r} is not a non-negative integer "
                f"of at most {_MAX_INDEX_DIGITS} digits"
            )


def _parse_indices(
    tokens: list[bytes], lines: npt.NDArray[np.int64], source: str
) -> npt.NDArray[np.int64]:
    return np.fromiter(map(int, tokens), dtype=np.int64, count=len(tokens))


def _parse_biases(
    tokens: list[bytes], lines: npt.NDArray[np.int64], source: str
) -> npt.NDArray[np.float64]:
    try:
        values = np.fromiter(map(float, tokens), dtype=np.float64, count=len(tokens))
    except ValueError:
        for k, token in enumerate(tokens):  # error path only: find the line to name
            try:
                float(token)
            except ValueError:
                raise FormatError(
                    f"{source}:{lines[k]}: bias {token.decode()!r} is not a finite decimal number"
                ) from None
        raise
    if not np.all(np.isfinite(values)):
        k = int(np.flatnonzero(~np.isfinite(values))[0])
        raise FormatError(f"{source}:{lines[k]}: bias {tokens[k].decode()!r} overflows a float")
    return values
