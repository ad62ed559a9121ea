"""Shared machinery of the format readers and writers: bounded reads, strict JSON, checked arrays.

Every reader funnels untrusted input through these helpers so that sizes are checked before
anything is allocated and every failure is a :class:`~qevo_ir.errors.FormatError` naming the file.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Sequence
from typing import IO, Any, NoReturn

import numpy as np
import numpy.typing as npt

from qevo_ir.advice import option
from qevo_ir.atomic import check_new
from qevo_ir.coo import IndexArray, ValueArray, canonicalize
from qevo_ir.errors import FormatError, LimitExceeded, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.variables import Label, VariableTable
from qevo_ir.vartypes import BINARY, SPIN, Vartype

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MAX_INDEX",
    "FileTooLarge",
    "PathLike",
    "build_hamiltonian",
    "check_budget",
    "check_indices",
    "check_regular",
    "decode_text",
    "fail",
    "first_duplicate_pair",
    "float_list",
    "format_floats",
    "index_list",
    "labels_from_json",
    "labels_to_json",
    "load_json",
    "make_table",
    "open_regular",
    "path_name",
    "prepare_output",
    "read_bounded",
    "read_bytes_file",
    "read_json_file",
    "read_text_file",
    "require_range_labels",
    "strict_int",
    "strict_number",
    "vartype_from_name",
]

PathLike = str | os.PathLike[str]

#: Default limit on a file's size, and on the bytes a reader allocates for its arrays.
DEFAULT_MAX_BYTES = 2 * 1024**3

#: Largest variable index any reader accepts (indices are int32-addressable, as in dimod).
MAX_INDEX = 2**31 - 2

# Bytes a Hamiltonian's arrays take: float64 linear per variable; int64 row, col + float64 quad
# per coupling.
_BYTES_PER_VARIABLE = 8
_BYTES_PER_COUPLING = 24


class FileTooLarge(FormatError, LimitExceeded):
    """A file, or the arrays it declares, exceeds the reader's ``max_bytes`` limit."""


def path_name(path: PathLike) -> str:
    """The name a message uses for ``path``: the path exactly as the caller gave it."""
    if not isinstance(path, str | bytes | os.PathLike):
        raise ValidationError(f"a file path is a str or os.PathLike, got {type(path).__name__}")
    return os.fspath(path)


def fail(name: str, message: str) -> NoReturn:
    """Raise :class:`FormatError` with ``name`` first, as every reader's message starts."""
    raise FormatError(f"{name}: {message}")


def read_bounded(path: PathLike, max_bytes: int) -> bytes:
    """The whole content of ``path``, refusing (before reading) a file over ``max_bytes``.

    The read itself is also bounded, so a special file that reports size 0 (a pipe, a device)
    cannot make it read forever.
    """
    name = path_name(path)
    try:
        st = os.stat(path)
    except (OSError, ValueError) as exc:
        fail(name, f"cannot read the file ({getattr(exc, 'strerror', None) or exc})")
    check_regular(name, st.st_mode)
    if st.st_size > max_bytes:
        raise FileTooLarge(
            f"{name}: the file has {st.st_size} bytes, over the {max_bytes}-byte limit; "
            "pass a larger max_bytes if it is trusted"
        )
    try:
        # O_NONBLOCK: a FIFO swapped in after the stat cannot block the open.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as fh:
            check_regular(name, os.fstat(fh.fileno()).st_mode)
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        fail(name, f"cannot read the file ({exc.strerror or exc})")
    if len(data) > max_bytes:
        raise FileTooLarge(
            f"{name}: more than {max_bytes} bytes; pass a larger max_bytes if it is trusted"
        )
    return data


def check_regular(name: str, mode: int) -> None:
    """Fail unless ``mode`` is a regular file's: a FIFO would block, a device never end."""
    if stat.S_ISREG(mode):
        return
    if stat.S_ISDIR(mode):
        fail(name, "is a directory, not a file")
    kind = (
        "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a device"
        if (stat.S_ISCHR(mode) or stat.S_ISBLK(mode))
        else "not a regular file"
    )
    fail(name, f"is {kind}; only regular files are read (a FIFO would block, a device not end)")


def open_regular(path: PathLike, name: str) -> IO[bytes]:
    """``path`` opened for reading, refusing (without blocking) anything but a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except (OSError, ValueError) as exc:
        fail(name, f"cannot read the file ({getattr(exc, 'strerror', None) or exc})")
    fh = os.fdopen(fd, "rb")
    try:
        check_regular(name, os.fstat(fd).st_mode)
    except BaseException:
        fh.close()
        raise
    return fh


def decode_text(data: bytes, name: str) -> str:
    """``data`` as UTF-8 text (a leading BOM dropped, line ends made ``\\n``), refusing binary
    content."""
    if not data.strip():
        fail(name, "the file is empty")
    if b"\x00" in data:
        fail(name, "contains NUL bytes: binary data, not a text format")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        fail(name, f"is not UTF-8 text (invalid byte at offset {exc.start})")
    text = text.removeprefix("\ufeff")
    if "\r" in text:
        # Universal newlines, as Python's text files (and so dimod's COO reader) read them:
        # "\r\n" and a bare "\r" end a line like "\n", inside comments too.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text


def check_budget(name: str, num_variables: int, num_interactions: int, max_bytes: int) -> None:
    """Refuse, before allocating, a problem whose arrays would take more than ``max_bytes``."""
    need = _BYTES_PER_VARIABLE * num_variables + _BYTES_PER_COUPLING * num_interactions
    if need > max_bytes:
        raise FileTooLarge(
            f"{name}: declares {num_variables} variables and {num_interactions} couplings, "
            f"which need {need} bytes of arrays, over the {max_bytes}-byte limit; pass a larger "
            "max_bytes if the file is trusted"
        )
    from qevo_ir.budget import BYTES_PER_COUPLING, BYTES_PER_VARIABLE, human, memory_budget

    peak = BYTES_PER_VARIABLE * num_variables + BYTES_PER_COUPLING * num_interactions
    if peak > memory_budget():
        raise FileTooLarge(
            f"{name}: declares {num_variables} variables and {num_interactions} couplings, "
            f"which need about {human(peak)} of memory to read and convert, over the budget of "
            f"{human(memory_budget())} (--max-memory, default half the available memory)"
        )


# ----------------------------------------------------------------------------- JSON
class _Refused(Exception):
    """Raised inside the JSON hooks; turned into a FormatError with the file name."""


def _refuse_constant(token: str) -> NoReturn:
    raise _Refused(f"the JSON token {token} is not allowed (NaN and Infinity are refused)")


def _finite_float(token: str) -> float:
    value = float(token)
    if not np.isfinite(value):
        raise _Refused(f"the number {token} overflows to infinity")
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Refused(f"duplicate key {key!r} in a JSON object")
            seen.add(key)
    return out


_BIG_EXPONENT = re.compile(r"[eE][+]?0*[1-9][0-9]{2}")
_DIGITS_ONLY = bytes(b if 48 <= b <= 57 else 32 for b in range(256))


def _maybe_huge_number(text: str) -> bool:
    """Whether ``text`` may hold a number literal that overflows float64: one with a 3-digit
    exponent, or a run of 200 digits (k digits with an exponent of at most 99 stay below
    ``10**(k + 99)``, finite while k < 209). Both scans run at C speed."""
    if _BIG_EXPONENT.search(text):
        return True
    digits = text.encode("utf-8", "surrogatepass").translate(_DIGITS_ONLY)
    return b"0" * 200 in digits


#: Largest JSON document read by default: Python's parser takes about 16 bytes of memory and
#: 0.05-0.2 s per megabyte of text; larger problems belong in ``.npz``.
JSON_MAX_BYTES = 128 << 20


def _check_json_size(text: str, name: str) -> None:
    from qevo_ir.budget import JSON_BYTES_PER_BYTE, human, memory_budget

    limit = min(JSON_MAX_BYTES, memory_budget() // JSON_BYTES_PER_BYTE)
    if len(text) > limit:
        raise FileTooLarge(
            f"{name}: a JSON document of {human(len(text))} is over the {human(limit)} limit "
            f"(parsing JSON takes about {JSON_BYTES_PER_BYTE}x its size in memory); write large "
            "problems as .npz, or raise --max-memory"
        )


def load_json(text: str, name: str, where: str = "") -> Any:
    """Parse ``text`` strictly: no NaN/Infinity, no duplicate keys, bounded nesting.

    ``where`` prefixes the messages (e.g. ``"header.npy: "`` for JSON inside another file).
    """
    name = f"{name}: {where.removesuffix(': ')}" if where else name
    _check_json_size(text, name)
    # A number literal can overflow float64 only with a 3-digit exponent or 200+ digits; without
    # one in the text, C's float parser is exact and 3x faster than a Python hook per number.
    parse_float = _finite_float if _maybe_huge_number(text) else None
    try:
        return json.loads(
            text,
            parse_constant=_refuse_constant,
            parse_float=parse_float,
            object_pairs_hook=_unique_keys,
        )
    except _Refused as exc:
        fail(name, str(exc))
    except json.JSONDecodeError as exc:
        fail(name, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
    except RecursionError:
        fail(name, "the JSON is nested too deeply to be a model file")
    except ValueError as exc:  # e.g. an integer literal with more digits than Python allows
        digits = re.search(r"value has (\d+) digits", str(exc))
        if digits is not None:
            fail(
                name,
                f"an integer of {digits.group(1)} digits; no count, index or coefficient of a "
                "problem file is that long",
            )
        fail(name, f"not valid JSON: {exc}")


def read_bytes_file(path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of ``path``, size-bounded; every failure a :class:`FormatError` naming it."""
    return read_bounded(path, max_bytes)


def read_text_file(path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The UTF-8 text of ``path``, size-bounded; every failure a :class:`FormatError` naming it.

    The one entry point for backends and plugins that read a text artifact from an untrusted
    path: a directory, an unreadable file, a file over ``max_bytes``, binary content or invalid
    UTF-8 each raise a typed error instead of ``OSError``/``UnicodeDecodeError``.
    """
    return decode_text(read_bounded(path, max_bytes), path_name(path))


def read_json_file(path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Parse ``path`` as strict JSON (see :func:`load_json`) after :func:`read_text_file`."""
    name = path_name(path)
    return load_json(read_text_file(path, max_bytes=max_bytes), name)


def strict_int(value: object, name: str, field: str, *, minimum: int = 0) -> int:
    """``value`` as an int (JSON integer, not bool) ``>= minimum``."""
    if type(value) is not int:
        fail(name, f"{field} must be an integer, got {_describe(value)}")
    if value < minimum:
        fail(name, f"{field} = {value} must be >= {minimum}")
    return value


def strict_number(value: object, name: str, field: str) -> float:
    """``value`` as a finite float (JSON number, not bool)."""
    if type(value) not in (int, float):
        fail(name, f"{field} must be a number, got {_describe(value)}")
    try:
        out = float(value)  # type: ignore[arg-type]
    except OverflowError:
        fail(name, f"{field} = {value} is too large for a float64")
    if not np.isfinite(out):
        fail(name, f"{field} is not finite")
    return out


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _check_list(value: object, name: str, field: str, length: int | None) -> list[Any]:
    if not isinstance(value, list):
        fail(name, f"{field} must be a list, got {_describe(value)}")
    if length is not None and len(value) != length:
        fail(name, f"{field} has {len(value)} entries, expected {length}")
    return value


def float_list(value: object, name: str, field: str, length: int | None = None) -> ValueArray:
    """A JSON list of numbers as a finite float64 array (length checked before converting)."""
    items = _check_list(value, name, field, length)
    kinds = set(map(type, items))
    if not kinds <= {int, float}:
        k = next(i for i, x in enumerate(items) if type(x) not in (int, float))
        fail(name, f"{field}[{k}] must be a number, got {_describe(items[k])}")
    try:
        arr = np.array(items, dtype=np.float64)
    except OverflowError:
        fail(name, f"{field} holds an integer too large for a float64")
    if arr.size and not np.isfinite(arr).all():
        k = int(np.flatnonzero(~np.isfinite(arr))[0])
        fail(name, f"{field}[{k}] is not finite")
    return arr.reshape(-1)


def index_list(
    value: object, name: str, field: str, num_variables: int, length: int | None = None
) -> IndexArray:
    """A JSON list of variable indices as int64, each checked to lie in ``[0, num_variables)``."""
    items = _check_list(value, name, field, length)
    if set(map(type, items)) - {int}:
        k = next(i for i, x in enumerate(items) if type(x) is not int)
        fail(name, f"{field}[{k}] must be an integer index, got {_describe(items[k])}")
    try:
        arr = np.array(items, dtype=np.int64).reshape(-1)
    except OverflowError:
        k = next(i for i, x in enumerate(items) if not -(2**63) <= x < 2**63)
        fail(name, f"{field}[{k}] = {items[k]} is out of range for {num_variables} variables")
    check_indices(arr, name, field, num_variables)
    return arr


def check_indices(arr: npt.NDArray[Any], name: str, field: str, num_variables: int) -> None:
    """Fail naming the first entry of ``arr`` outside ``[0, num_variables)``."""
    if arr.size == 0:
        return
    bad = (arr < 0) | (arr >= num_variables)
    if bad.any():
        k = int(np.flatnonzero(bad)[0])
        fail(name, f"{field}[{k}] = {int(arr[k])} is out of range for {num_variables} variables")


# ----------------------------------------------------------------------------- labels, vartype
def labels_to_json(table: VariableTable) -> list[Any] | None:
    """Labels as JSON values (tuples become lists), or ``None`` for the default ``0..n-1``."""
    if table.is_range:
        return None
    return [_label_to_json(x) for x in table.labels]


def _label_to_json(label: Label) -> Any:
    if isinstance(label, tuple):
        return [_label_to_json(x) for x in label]
    return label


def labels_from_json(value: object, name: str, field: str, n: int) -> list[Label] | None:
    """Labels read from JSON (lists become tuples), checked; ``None`` stays ``None``."""
    if value is None:
        return None
    items = _check_list(value, name, field, n)
    from qevo_ir.variables import check_label

    out: list[Label] = []
    for k, item in enumerate(items):
        if isinstance(item, float):
            fail(name, f"{field}[{k}] = {item!r}: float labels are refused (1 and 1.0 collide)")
        try:
            out.append(check_label(item))
        except ValidationError as exc:
            fail(name, f"{field}[{k}]: {exc}")
        except RecursionError:
            fail(name, f"{field}[{k}] is nested too deeply")
    return out


def make_table(labels: Sequence[Label] | None, n: int, name: str, field: str) -> VariableTable:
    """A :class:`VariableTable` from checked labels; a duplicate label is a FormatError."""
    try:
        return VariableTable(labels, num_variables=n)
    except ValidationError as exc:
        fail(name, f"{field}: {exc}")


def vartype_from_name(value: object, name: str, field: str) -> Vartype:
    """``"SPIN"`` or ``"BINARY"`` exactly (files use the canonical names only)."""
    if value == "SPIN":
        return SPIN
    if value == "BINARY":
        return BINARY
    shown = repr(value) if isinstance(value, str) else _describe(value)
    fail(name, f'{field} must be "SPIN" or "BINARY", got {shown}')


# ----------------------------------------------------------------------------- building
def build_hamiltonian(
    name: str,
    vartype: Vartype,
    linear: ValueArray,
    row: IndexArray,
    col: IndexArray,
    quad: ValueArray,
    offset: float,
    table: VariableTable,
    *,
    duplicates: str,
    self_loops: str,
    field: str = "couplings",
) -> Hamiltonian:
    """A Hamiltonian from validated arrays (indices in range, values finite).

    ``self_loops``: ``"refuse"`` (our formats) or ``"fold"`` (dimod: ``x_i² = x_i`` goes to the
    linear term, ``s_i² = 1`` to the offset). ``duplicates``: ``"refuse"`` or ``"sum"`` (dimod's
    rule). Explicit zero couplings in a file are kept, so a written Hamiltonian reads back equal.
    """
    n = len(linear)
    loop = row == col
    if loop.any():
        if self_loops == "refuse":
            k = int(np.flatnonzero(loop)[0])
            fail(
                name,
                f"{field}[{k}] couples variable {int(row[k])} with itself; a coupling needs "
                "two different variables (put x_i² = x_i in linear, s_i² = 1 in offset)",
            )
        if vartype is BINARY:
            linear = linear + np.bincount(row[loop], weights=quad[loop], minlength=n)
        else:
            offset = offset + float(quad[loop].sum())
        keep = ~loop
        row, col, quad = row[keep], col[keep], quad[keep]
    try:
        r, c, q = canonicalize(n, row, col, quad, keep_zeros=True)
    except ValidationError as exc:  # pragma: no cover - inputs are validated above
        fail(name, str(exc))
    if len(q) != len(quad) and duplicates == "refuse":
        dup = first_duplicate_pair(row, col)
        assert dup is not None
        lo, hi = sorted((int(row[dup]), int(col[dup])))
        fail(name, f"{field}[{dup}] repeats the pair ({lo}, {hi}); each pair may appear once")
    if not np.isfinite(offset):
        fail(name, "the offset is not finite")
    if not np.isfinite(linear).all():  # only a fold of huge values can overflow here
        fail(name, "a linear bias overflows to infinity")
    return Hamiltonian._trusted(
        vartype, np.ascontiguousarray(linear, dtype=np.float64), r, c, q, float(offset), table
    )


def first_duplicate_pair(row: IndexArray, col: IndexArray) -> int | None:
    """Index of the first entry whose unordered pair ``{row, col}`` appeared before, or None."""
    if len(row) < 2:
        return None
    lo, hi = np.minimum(row, col), np.maximum(row, col)
    order = np.lexsort((np.arange(len(lo)), hi, lo))  # stable: earlier entries first
    same = (lo[order][1:] == lo[order][:-1]) & (hi[order][1:] == hi[order][:-1])
    if not same.any():
        return None
    return int(order[1:][same].min())


# ----------------------------------------------------------------------------- text output
def format_floats(values: npt.NDArray[np.float64]) -> list[str]:
    """Each value as the shortest decimal that reads back to the same float64, never exponent.

    ``repr`` gives the shortest round-trip digits; for the few values ``repr`` would write with
    an exponent (``|x| < 1e-4`` or ``>= 1e16``) the same digits are written positionally, so
    readers that only accept ``[+-]digits[.digits]`` (dimod's COO reader) still parse them.
    """
    out = list(map(repr, values.tolist()))
    a = np.abs(values)
    suspects = np.flatnonzero((a != 0) & ((a < 2e-4) | (a >= 1e15)))
    for k in suspects.tolist():
        if "e" in out[k]:
            out[k] = np.format_float_positional(values[k], unique=True, trim="0")
    return out


def prepare_output(path: PathLike, force: bool) -> None:
    """Refuse to replace an existing ``path`` unless ``force`` (see :func:`qevo_ir.atomic`)."""
    check_new(path, force)


def require_range_labels(ham: Hamiltonian, name: str, fmt: str, drop_labels: bool) -> Hamiltonian:
    """``ham`` with labels ``0..n-1``; labels other than that are an error unless dropped."""
    if ham.variables.is_range and ham.variables.provenance is None:
        return ham
    if not ham.variables.is_range and not drop_labels:
        fail(
            name,
            f"the {fmt} format stores variable indices only, and this Hamiltonian has labels "
            f"(first: {ham.labels[0]!r}); pass {option('drop_labels')} to write indices 0..n-1, or "
            "write .json/.npz (qevo-ir) or .bqm.json (dimod), which keep labels",
        )
    return ham.with_variables(VariableTable.range(ham.num_variables))
