"""G-set / rudy / BiqMac graph files: an ``n m`` header line, then ``m`` lines ``i j w`` with
1-based vertex indices; ``#`` comment lines and blank lines are allowed.

Two meanings (``meaning=``):

* ``"maxcut"`` (the default; what G-set, rudy and the max-cut libraries mean): a SPIN
  Hamiltonian whose energy is minus the weight of the cut,
  ``E(s) = Σ_(ij) w_ij (s_i s_j - 1) / 2``, so ``J_ij = w_ij / 2`` and ``offset = -Σ w / 2``, and
  the ground energy is minus the maximum cut. A self-loop has no cut meaning and is refused;
  a repeated edge is refused.
* ``"qubo"``: a BINARY Hamiltonian ``E(x) = Σ_lines w x_i x_j`` (``i = j`` lines are the linear
  terms ``w x_i``), minimised; repeated lines add up.

Vertex ``k`` of the file is variable ``k - 1``. The writer writes the ``maxcut`` form of a SPIN
Hamiltonian with no fields (it must be exactly ``Σ w (s s - 1)/2``) and the ``qubo`` form of a
BINARY one, with no offset. See ``specs/format.md``.
"""

from __future__ import annotations

import re
from typing import Literal

import numpy as np

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
from qevo_ir.formats._text import line_number, parse_triplets
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.variables import VariableTable
from qevo_ir.vartypes import BINARY, SPIN

__all__ = ["MEANINGS", "Meaning", "dumps", "is_header", "loads", "read", "write"]

Meaning = Literal["maxcut", "qubo"]
MEANINGS: tuple[str, ...] = ("maxcut", "qubo")

_COMMENT = r"[ \t]*#[^\n]*"
_HEADER = re.compile(r"^[ \t]*([0-9]+)[ \t]+([0-9]+)[ \t]*\r?$", re.MULTILINE)
_EXPECTED = "'i j w' (1-based vertex indices, a decimal weight), a '#' comment or a blank line"


def is_header(line: str) -> bool:
    """Whether ``line`` (the first non-comment line of a file) is a G-set ``n m`` header."""
    return _HEADER.fullmatch(line.rstrip("\n")) is not None


def _check_meaning(meaning: str, name: str) -> Meaning:
    if meaning not in MEANINGS:
        fail(name, f"unknown G-set meaning {meaning!r}; choose maxcut or qubo")
    return meaning  # type: ignore[return-value]


def loads(
    text: str,
    *,
    meaning: str = "maxcut",
    name: str = "<string>",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Hamiltonian:
    """The Hamiltonian of G-set ``text`` (see the module docstring for the two meanings)."""
    kind = _check_meaning(meaning, name)
    body = re.sub(rf"^{_COMMENT}$", "", text, flags=re.MULTILINE)
    header = re.search(r"^[ \t]*\S[^\n]*$", body, re.MULTILINE)
    if header is None or _HEADER.fullmatch(header.group(0)) is None:
        fail(name, "expected an 'n m' header line (vertices, edges) first")
    line = line_number(text, header.start())
    fields = _HEADER.fullmatch(header.group(0))
    assert fields is not None
    if max(len(fields.group(1)), len(fields.group(2))) > 18:  # past int64: no int() of it
        fail(name, f"line {line}: the header's sizes are over the limit {MAX_INDEX + 1}")
    n, m = int(fields.group(1)), int(fields.group(2))
    if n > MAX_INDEX + 1:
        fail(name, f"line {line}: {n} vertices is over the limit {MAX_INDEX + 1}")
    check_budget(name, n, m, max_bytes)
    # Blank out the header (line numbers stay right) and parse the rest strictly.
    data = body[: header.start()] + body[header.end() :]
    t = parse_triplets(data, name, ignorable=_COMMENT, expected=_EXPECTED)
    if len(t.value) != m:
        fail(name, f"line {line}: the header declares {m} edges, the file has {len(t.value)}")
    if t.i.size:
        low = np.minimum(t.i, t.j)
        high = np.maximum(t.i, t.j)
        if low.min() < 1:
            k = int(np.argmin(low))
            fail(name, f"line {t.line_of(k)}: vertex 0 in a 1-based file (vertices are 1..{n})")
        if high.max() > n:
            k = int(np.argmax(high))
            fail(name, f"line {t.line_of(k)}: vertex {int(high[k])} is over n = {n}")
    i, j, w = t.i - 1, t.j - 1, t.value
    if kind == "maxcut":
        loop = i == j
        if loop.any():
            k = int(np.flatnonzero(loop)[0])
            fail(
                name,
                f"line {t.line_of(k)}: a self-loop has no max-cut meaning (read the file with "
                "meaning='qubo' if it is a QUBO)",
            )
        with np.errstate(over="ignore"):
            offset = -0.5 * float(np.sum(w))
        return build_hamiltonian(
            name, SPIN, np.zeros(n), i, j, 0.5 * w, offset, VariableTable.range(n),
            duplicates="refuse", self_loops="refuse", field="edges",
        )  # fmt: skip
    diag = i == j
    linear = np.bincount(i[diag], weights=w[diag], minlength=n).astype(np.float64)
    off = ~diag
    return build_hamiltonian(
        name, BINARY, linear, i[off], j[off], w[off], 0.0, VariableTable.range(n),
        duplicates="sum", self_loops="refuse", field="edges",
    )  # fmt: skip


def dumps(ham: Hamiltonian, *, drop_labels: bool = False, name: str = "<string>") -> str:
    """``ham`` as a G-set file: the max-cut form of a SPIN Hamiltonian, the QUBO form of a
    BINARY one. Refused (naming the reason) when the Hamiltonian has no exact G-set form."""
    ham = require_range_labels(ham, name, "G-set", drop_labels)
    n = ham.num_variables
    if ham.vartype is SPIN:
        if np.any(ham.linear != 0):
            fail(
                name,
                "a max-cut G-set file has no fields; this SPIN Hamiltonian has linear terms "
                "(write it as BINARY, ham.to_binary(), for the qubo meaning, or use .coo)",
            )
        w = 2.0 * ham.quad
        expected = -0.5 * float(np.sum(w))
        if ham.offset != expected:
            fail(
                name,
                f"a max-cut G-set file means E = Σ w (s_i s_j - 1)/2, offset -Σw/2 = {expected!r};"
                f" this Hamiltonian has offset {ham.offset!r} (use .coo or .json to keep it)",
            )
        i, j, values = ham.row, ham.col, w
    else:
        if ham.offset != 0.0:
            fail(name, f"a G-set QUBO file has no offset; this one has {ham.offset!r}")
        nz = np.flatnonzero(ham.linear)
        i = np.concatenate([nz, ham.row])
        j = np.concatenate([nz, ham.col])
        values = np.concatenate([ham.linear[nz], ham.quad])
        order = np.lexsort((j, i))
        i, j, values = i[order], j[order], values[order]
    if not np.all(np.isfinite(values)):
        fail(name, "a weight overflows float64 when doubled")
    lines = [f"{n} {len(values)}"]
    lines += map(
        "%d %d %s".__mod__,
        zip((i + 1).tolist(), (j + 1).tolist(), format_floats(values), strict=True),
    )
    return "\n".join(lines) + "\n"


def write(
    ham: Hamiltonian, path: PathLike, *, drop_labels: bool = False, force: bool = True
) -> Hamiltonian:
    """Write ``ham`` to ``path`` atomically; returns what :func:`read` gives back."""
    text = dumps(ham, drop_labels=drop_labels, name=path_name(path))
    prepare_output(path, force)
    atomic_write_text(path, text)
    return ham.with_variables(VariableTable.range(ham.num_variables))


def read(
    path: PathLike, *, meaning: str = "maxcut", max_bytes: int = DEFAULT_MAX_BYTES
) -> Hamiltonian:
    """Read a G-set / rudy / BiqMac file (files over ``max_bytes`` are refused before reading)."""
    name = path_name(path)
    text = decode_text(read_bounded(path, max_bytes), name)
    return loads(text, meaning=meaning, name=name, max_bytes=max_bytes)
