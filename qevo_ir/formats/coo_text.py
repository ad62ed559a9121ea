"""dimod's COO text format (``i j bias`` lines, ``i i bias`` for linear terms), read strictly and
written at full precision.

Unlike ``dimod.serialization.coo``, the reader refuses any line it cannot parse (naming the line),
and the writer keeps every float exactly. Variables are indices ``0..n-1``: labels and provenance
are not stored. The offset and the number of variables ride in ``#`` comment lines that dimod
ignores. See ``specs/format.md``.
"""

from __future__ import annotations

import re

import numpy as np

from qevo_ir.advice import option
from qevo_ir.atomic import atomic_write_text
from qevo_ir.formats._common import (
    DEFAULT_MAX_BYTES,
    MAX_INDEX,
    PathLike,
    build_hamiltonian,
    check_budget,
    decode_text,
    fail,
    format_floats,
    path_name,
    prepare_output,
    read_bounded,
    require_range_labels,
)
from qevo_ir.formats._text import (
    Triplets,
    merged_terms,
    parse_float,
    parse_triplets,
    render_triplets,
)
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.variables import VariableTable
from qevo_ir.vartypes import BINARY, SPIN, Vartype, as_vartype

__all__ = ["dumps", "loads", "read", "write"]

_COMMENT = r"[ \t\f]*#[^\n]*"
_COMMENT_LINE = re.compile(rf"^{_COMMENT}", re.MULTILINE)
# dimod's header rule: any comment line containing ``vartype=`` or ``vartype:``.
_VARTYPE = re.compile(r"^[ \t\f]*#.*?vartype[:=][ \t]*([-_.a-zA-Z0-9]+)", re.MULTILINE)
_NUM_VARIABLES = re.compile(r"^[ \t\f]*#[ \t]*num_variables[ \t]*[:=][ \t]*(\S*)", re.MULTILINE)
_OFFSET = re.compile(r"^[ \t\f]*#[ \t]*offset[ \t]*[:=][ \t]*(\S*)", re.MULTILINE)
_EXPECTED = "'i j bias' (non-negative integer indices, a decimal bias), a '#' comment or a blank"


def dumps(ham: Hamiltonian, *, drop_labels: bool = False, name: str = "<string>") -> str:
    """``ham`` as COO text: a ``# vartype=``, ``# num_variables=`` and ``# offset=`` header, then
    the non-zero linear terms as ``i i h`` and every coupling as ``i j J`` (``i < j``), sorted.

    A Hamiltonian with labels other than ``0..n-1`` is refused unless ``drop_labels``.
    """
    ham = require_range_labels(ham, name, "COO", drop_labels)
    (offset,) = format_floats(np.array([ham.offset]))
    header = (
        f"# vartype={ham.vartype.value}\n# num_variables={ham.num_variables}\n# offset={offset}\n"
    )
    return header + render_triplets(*merged_terms(ham.linear, ham.row, ham.col, ham.quad))


def write(
    ham: Hamiltonian, path: PathLike, *, drop_labels: bool = False, force: bool = True
) -> Hamiltonian:
    """Write ``ham`` to ``path`` atomically; returns what :func:`read` gives back (indices as
    labels, no provenance)."""
    text = dumps(ham, drop_labels=drop_labels, name=path_name(path))
    prepare_output(path, force)
    atomic_write_text(path, text)
    return ham.with_variables(VariableTable.range(ham.num_variables))


def loads(
    text: str,
    *,
    vartype: Vartype | str | None = None,
    name: str = "<string>",
    max_bytes: int = DEFAULT_MAX_BYTES,
    index_base: int | None = None,
) -> Hamiltonian:
    """The Hamiltonian in COO ``text``.

    The vartype comes from a ``# vartype=`` header or the ``vartype`` argument (they must agree).
    There are ``max(i, j) + 1`` variables, or ``# num_variables=`` if larger; repeated pairs add
    up, as in dimod. ``max_bytes`` bounds the arrays the reader allocates.

    ``index_base=1`` reads 1-based indices (file index ``k`` is variable ``k - 1``). Without it
    (``None``), a file whose indices never use 0 and that has no ``# num_variables=`` header is
    refused rather than read with a phantom variable 0 (tnac4o and many benchmark sets are
    1-based); ``index_base=0`` reads such a file 0-based on purpose.
    """
    if index_base not in (None, 0, 1):
        fail(name, f"index_base must be 0 or 1, got {index_base!r}")
    # Headers are looked for in the comment lines only (one pass over the text).
    comments = "\n".join(_COMMENT_LINE.findall(text))
    vt = _vartype(comments, vartype, name)
    declared = _single(_NUM_VARIABLES, comments, name, "num_variables")
    offset_token = _single(_OFFSET, comments, name, "offset")
    offset = 0.0 if offset_token is None else parse_float(offset_token, name, "# offset")
    n_declared = None
    if declared is not None:
        if not re.fullmatch(r"[0-9]{1,10}", declared) or int(declared) > MAX_INDEX + 1:
            fail(
                name,
                f"# num_variables={declared!r} is not a count between 0 and {MAX_INDEX + 1}",
            )
        n_declared = int(declared)
        check_budget(name, n_declared, 0, max_bytes)
    t = parse_triplets(text, name, ignorable=_COMMENT, expected=_EXPECTED)
    t = _rebase(t, index_base, declared is not None, name)
    n = int(max(t.i.max(), t.j.max())) + 1 if t.i.size else 0
    if n_declared is not None:
        if n > n_declared:
            k = int(np.argmax(np.maximum(t.i, t.j)))
            fail(
                name,
                f"line {t.line_of(k)}: index {n - 1} is out of range for "
                f"# num_variables={n_declared}",
            )
        n = n_declared
    diag = t.i == t.j
    check_budget(name, n, int(np.count_nonzero(~diag)), max_bytes)
    linear = np.bincount(t.i[diag], weights=t.value[diag], minlength=n).astype(np.float64)
    off = ~diag
    return build_hamiltonian(
        name, vt, linear, t.i[off], t.j[off], t.value[off], offset, VariableTable.range(n),
        duplicates="sum", self_loops="refuse",
    )  # fmt: skip


def _rebase(t: Triplets, index_base: int | None, declared: bool, name: str) -> Triplets:
    """``t`` with 0-based indices; a file that looks 1-based is refused unless told."""
    if not t.i.size:
        return t
    low = int(min(t.i.min(), t.j.min()))
    if index_base == 1:
        if low < 1:
            k = int(np.argmin(np.minimum(t.i, t.j)))
            fail(name, f"line {t.line_of(k)}: index 0 in a file read with index base 1")
        return Triplets(t.i - 1, t.j - 1, t.value, t.line_of)
    if index_base is None and low > 0 and not declared:
        fail(
            name,
            f"no line uses index 0 (the lowest is {low}): if the indices are 1-based, pass "
            f"{option('index_base', 1)}; if variable 0 is meant to be unused, pass "
            f"{option('index_base', 0)} (or add a '# num_variables=' header)",
        )
    return t


def read(
    path: PathLike,
    *,
    vartype: Vartype | str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    index_base: int | None = None,
) -> Hamiltonian:
    """Read a COO file (files over ``max_bytes`` are refused before reading)."""
    name = path_name(path)
    text = decode_text(read_bounded(path, max_bytes), name)
    return loads(text, vartype=vartype, name=name, max_bytes=max_bytes, index_base=index_base)


def _vartype(text: str, given: Vartype | str | None, name: str) -> Vartype:
    found = {m.group(1) for m in _VARTYPE.finditer(text)}
    header: Vartype | None = None
    if found:
        if not found <= {"SPIN", "BINARY"}:
            bad = sorted(found - {"SPIN", "BINARY"})[0]
            fail(name, f"# vartype={bad}: expected SPIN or BINARY")
        if len(found) > 1:
            fail(name, "the file declares both vartype=SPIN and vartype=BINARY")
        header = SPIN if found == {"SPIN"} else BINARY
    want = None if given is None else as_vartype(given)
    if header is None and want is None:
        fail(
            name,
            "no '# vartype=SPIN' or '# vartype=BINARY' header; add one, or pass "
            f"{option('vartype', 'SPIN')} (or BINARY)",
        )
    if header is not None and want is not None and header is not want:
        fail(name, f"the header says vartype={header.value}, but {want.value} was requested")
    vt = header if header is not None else want
    assert vt is not None
    return vt


def _single(pattern: re.Pattern[str], text: str, name: str, key: str) -> str | None:
    values = {m.group(1).rstrip("\r") for m in pattern.finditer(text)}
    if len(values) > 1:
        fail(name, f"the '# {key}=' header appears with different values {sorted(values)}")
    return next(iter(values), None)
