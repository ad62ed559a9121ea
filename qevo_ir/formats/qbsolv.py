"""The qbsolv ``.qubo`` format: ``c`` comments, a ``p qubo`` program line, then diagonal and
coupler lines. BINARY only; indices only (no labels, no provenance).

qbsolv has no offset; the writer records it as a ``c offset <value>`` comment, which this
reader restores (other qbsolv readers ignore it). See ``specs/format.md``.
"""

from __future__ import annotations

import re

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
    first_duplicate_pair,
    format_floats,
    path_name,
    prepare_output,
    read_bounded,
    require_range_labels,
)
from qevo_ir.formats._text import (
    line_number,
    merged_terms,
    parse_float,
    parse_triplets,
    render_triplets,
)
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.variables import VariableTable
from qevo_ir.vartypes import BINARY, SPIN

__all__ = ["dumps", "loads", "read", "write"]

# qbsolv itself accepts upper-case 'C' and 'P' lines (and 'QUBO'), so this reader does too.
_COMMENT = r"[ \t]*[cC](?:[ \t][^\n]*)?"
_PROGRAM = r"[ \t]*[pP](?:[ \t][^\n]*)?"
_COMMENT_LINE = re.compile(rf"^{_COMMENT}$", re.MULTILINE)
_PROGRAM_LINE = re.compile(rf"^{_PROGRAM}$", re.MULTILINE)
_PROGRAM_FIELDS = re.compile(
    r"[ \t]*[pP][ \t]+(?i:qubo)[ \t]+(\S+)[ \t]+([0-9]{1,10})[ \t]+([0-9]{1,19})[ \t]+([0-9]{1,19})"
    r"[ \t]*\r?"
)
_OFFSET = re.compile(r"^[ \t]*[cC][ \t]+offset[ \t]+([^\n]*?)[ \t]*\r?$", re.MULTILINE)
_FIRST_DATA = re.compile(r"^[ \t]*[0-9]", re.MULTILINE)
_EXPECTED = "'i j value' (non-negative integer indices), a 'c' comment or the 'p qubo' line"


def dumps(ham: Hamiltonian, *, drop_labels: bool = False, name: str = "<string>") -> str:
    """``ham`` in qbsolv format, converted exactly to BINARY if it is SPIN.

    The diagonal lines are the non-zero linear terms; the couplers are every coupling
    (``i < j``). The offset goes into a ``c offset`` comment.
    """
    ham = require_range_labels(ham, name, "qbsolv", drop_labels)
    with np.errstate(over="ignore", invalid="ignore"):  # checked just below
        b = ham.to_binary()
    finite = np.isfinite(b.linear).all() and np.isfinite(b.quad).all()
    if not (finite and np.isfinite(b.offset)):
        fail(
            name,
            "converting this SPIN Hamiltonian to BINARY for qbsolv overflows float64 (s = 2x - 1 "
            "multiplies couplings by 4); divide the coefficients by a common factor, or write a "
            "format that keeps SPIN (.json, .npz, .bqm.json, .coo)",
        )
    nz = int(np.count_nonzero(b.linear))
    (offset,) = format_floats(np.array([b.offset]))
    lines = ["c qbsolv QUBO written by qevo-ir"]
    if ham.vartype is SPIN:
        lines.append("c converted exactly from SPIN (Ising) by s = 2x - 1")
    lines.append(f"c offset {offset}")
    lines.append(f"p qubo 0 {b.num_variables} {nz} {b.num_interactions}")
    return "\n".join(lines) + "\n" + render_triplets(*merged_terms(b.linear, b.row, b.col, b.quad))


def write(
    ham: Hamiltonian, path: PathLike, *, drop_labels: bool = False, force: bool = True
) -> Hamiltonian:
    """Write ``ham`` (as BINARY) to ``path`` atomically; returns the BINARY Hamiltonian that
    :func:`read` gives back (indices as labels, no provenance)."""
    text = dumps(ham, drop_labels=drop_labels, name=path_name(path))
    prepare_output(path, force)
    atomic_write_text(path, text)
    return ham.to_binary().with_variables(VariableTable.range(ham.num_variables))


def loads(text: str, *, name: str = "<string>", max_bytes: int = DEFAULT_MAX_BYTES) -> Hamiltonian:
    """The BINARY Hamiltonian in qbsolv ``text``; counts and indices checked against the
    ``p qubo`` line, sizes against ``max_bytes`` before anything is allocated."""
    programs = list(_PROGRAM_LINE.finditer(text))
    if not programs:
        fail(name, "no 'p qubo <topology> <maxNodes> <nNodes> <nCouplers>' program line")
    if len(programs) > 1:
        fail(name, f"line {line_number(text, programs[1].start())}: a second program line")
    program = programs[0]
    line = line_number(text, program.start())
    fields = _PROGRAM_FIELDS.fullmatch(program.group(0))
    if fields is None:
        fail(
            name,
            f"line {line}: expected 'p qubo <topology> <maxNodes> <nNodes> <nCouplers>', got "
            f"{program.group(0).strip()[:60]!r}",
        )
    max_nodes, n_nodes, n_couplers = (int(fields.group(k)) for k in (2, 3, 4))
    if max_nodes > MAX_INDEX + 1:
        fail(name, f"line {line}: maxNodes = {max_nodes} is over the limit {MAX_INDEX + 1}")
    if n_nodes > max_nodes:
        fail(name, f"line {line}: nNodes = {n_nodes} exceeds maxNodes = {max_nodes}")
    if n_couplers > max_nodes * (max_nodes - 1) // 2:
        fail(name, f"line {line}: nCouplers = {n_couplers} exceeds maxNodes choose 2")
    check_budget(name, max_nodes, n_couplers, max_bytes)
    early = _FIRST_DATA.search(text, 0, program.start())
    if early is not None:
        fail(
            name,
            f"line {line_number(text, early.start())}: a data line before the 'p qubo' line",
        )
    comments = "\n".join(_COMMENT_LINE.findall(text))
    offset_tokens = {m.group(1) for m in _OFFSET.finditer(comments)}
    if len(offset_tokens) > 1:
        fail(name, f"'c offset' appears with different values {sorted(offset_tokens)}")
    offset = 0.0
    if offset_tokens:
        offset = parse_float(offset_tokens.pop(), name, "c offset")

    t = parse_triplets(text, name, ignorable=f"{_COMMENT}|{_PROGRAM}", expected=_EXPECTED)
    if t.i.size and max(int(t.i.max()), int(t.j.max())) >= max_nodes:
        k = int(np.argmax(np.maximum(t.i, t.j)))
        fail(
            name,
            f"line {t.line_of(k)}: index {int(max(t.i[k], t.j[k]))} is out of range for "
            f"maxNodes = {max_nodes}",
        )
    diag = t.i == t.j
    got_nodes = int(np.count_nonzero(diag))
    got_couplers = len(diag) - got_nodes
    if got_nodes != n_nodes or got_couplers != n_couplers:
        fail(
            name,
            f"line {line}: declares {n_nodes} diagonal and {n_couplers} coupler lines, the file "
            f"has {got_nodes} and {got_couplers}",
        )
    nodes = t.i[diag]
    counts = np.bincount(nodes, minlength=max_nodes)
    if counts.size and counts.max() > 1:
        v = int(np.argmax(counts))
        k = int(np.flatnonzero(diag)[np.flatnonzero(nodes == v)[1]])
        fail(name, f"line {t.line_of(k)}: a second diagonal entry for node {v}")
    off = np.flatnonzero(~diag)
    dup = first_duplicate_pair(t.i[off], t.j[off])
    if dup is not None:
        k = int(off[dup])
        fail(
            name,
            f"line {t.line_of(k)}: a second coupler between nodes {int(t.i[k])} and {int(t.j[k])}",
        )
    linear = np.zeros(max_nodes, dtype=np.float64)
    linear[nodes] = t.value[diag]
    return build_hamiltonian(
        name, BINARY, linear, t.i[off], t.j[off], t.value[off], offset,
        VariableTable.range(max_nodes), duplicates="refuse", self_loops="refuse",
    )  # fmt: skip


def read(path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Hamiltonian:
    """Read a qbsolv ``.qubo`` file (files over ``max_bytes`` are refused before reading)."""
    name = path_name(path)
    text = decode_text(read_bounded(path, max_bytes), name)
    return loads(text, name=name, max_bytes=max_bytes)
