"""Format detection and dispatch: :func:`read_hamiltonian` recognises a file by its content,
:func:`write_hamiltonian` picks a format from the name or ``format=``.

The content decides (zip magic, JSON keys, a ``p qubo`` line, COO lines); the extension is only a
hint for content that says nothing. :data:`FORMATS` is the table the CLI prints.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from qevo_ir.advice import match_name, unknown_name
from qevo_ir.formats import coo_text, dimod_json, gset, qbsolv, qevo_json, qevo_npz
from qevo_ir.formats._common import (
    DEFAULT_MAX_BYTES,
    PathLike,
    decode_text,
    fail,
    load_json,
    open_regular,
    path_name,
    read_bounded,
)
from qevo_ir.formats._document import FORMAT_NAME, QevoDocument
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.variables import VariableTable
from qevo_ir.vartypes import Vartype, as_vartype

__all__ = [
    "FORMATS",
    "FormatInfo",
    "detect_format",
    "format_for_path",
    "formats_help",
    "read_document",
    "read_hamiltonian",
    "write_hamiltonian",
]


@dataclass(frozen=True)
class FormatInfo:
    """One file format: its name for ``format=``, extensions, and what it keeps."""

    name: str
    extensions: tuple[str, ...]
    description: str
    keeps_labels: bool
    keeps_provenance: bool
    keeps_offset: str
    vartypes: str


FORMATS: tuple[FormatInfo, ...] = (
    FormatInfo(
        "qevo-json", (".json",), "qevo-ir JSON, version 1: small problems, human-readable",
        keeps_labels=True, keeps_provenance=True, keeps_offset="yes", vartypes="SPIN, BINARY",
    ),
    FormatInfo(
        "qevo-npz", (".npz",), "qevo-ir .npz arrays, version 1: large problems, fast",
        keeps_labels=True, keeps_provenance=True, keeps_offset="yes", vartypes="SPIN, BINARY",
    ),
    FormatInfo(
        "dimod-json", (".bqm.json",), "dimod BinaryQuadraticModel.to_serializable() as JSON",
        keeps_labels=True, keeps_provenance=False, keeps_offset="yes", vartypes="SPIN, BINARY",
    ),
    FormatInfo(
        "coo", (".coo",), "dimod COO text: 'i j bias' lines, '# vartype=' header",
        keeps_labels=False, keeps_provenance=False, keeps_offset="in a '# offset=' comment",
        vartypes="SPIN, BINARY",
    ),
    FormatInfo(
        "qubo", (".qubo",), "qbsolv .qubo text: 'p qubo' line, diagonal then couplers",
        keeps_labels=False, keeps_provenance=False, keeps_offset="in a 'c offset' comment",
        vartypes="BINARY (SPIN is converted exactly on write)",
    ),
    FormatInfo(
        "gset", (".gset", ".rudy"), "G-set / rudy / BiqMac graph: 'n m' line, 1-based 'i j w'",
        keeps_labels=False, keeps_provenance=False, keeps_offset="implied by the meaning",
        vartypes="SPIN max-cut (default) or BINARY qubo",
    ),
)  # fmt: skip

_BY_NAME: Mapping[str, FormatInfo] = {f.name: f for f in FORMATS}
# Longest extension first, so ``x.bqm.json`` is dimod's and ``x.json`` ours.
_BY_EXTENSION = sorted(
    ((ext, f.name) for f in FORMATS for ext in f.extensions), key=lambda e: -len(e[0])
)
_HEAD_BYTES = 64 * 1024


def formats_help() -> str:
    """The format table as text, for ``--help``."""
    width = max(len(f.name) for f in FORMATS)
    lines = []
    for f in FORMATS:
        lines.append(f"  {f.name:<{width}}  {', '.join(f.extensions):<10} {f.description}")
        lines.append(
            f"  {'':<{width}}  {'':<10} labels: {'yes' if f.keeps_labels else 'no'}; "
            f"provenance: {'yes' if f.keeps_provenance else 'no'}; offset: {f.keeps_offset}; "
            f"vartypes: {f.vartypes}"
        )
    return "\n".join(lines)


def format_for_path(path: PathLike) -> str | None:
    """The format named by ``path``'s extension (case-insensitive), or ``None``."""
    lower = os.fspath(path).lower()
    for ext, name in _BY_EXTENSION:
        if lower.endswith(ext):
            return name
    return None


def _check_format_name(fmt: str, name: str) -> str:
    found = match_name(fmt, _BY_NAME)
    if found is None:
        fail(name, unknown_name("format", fmt, _BY_NAME))
    return found


# ----------------------------------------------------------------------------- detection
def _sniff(head: bytes, name: str) -> str | None:
    """The format the first bytes show, ``"json"`` for either JSON flavour, or ``None``."""
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "qevo-npz"
    if b"\x00" in head:
        fail(
            name,
            "binary data that is not a known format (expected qevo-ir .npz or JSON, dimod JSON, "
            "COO or qbsolv text)",
        )
    text = head.decode("utf-8", errors="replace").removeprefix("\ufeff")
    # \r\n and a bare \r end lines as \n does (the readers agree; the sniffing must too)
    stripped = text.replace("\r\n", "\n").replace("\r", "\n").lstrip()
    if not stripped:
        return None
    if stripped[0] in "{[":
        return "json"
    first = stripped.split("\n", 1)[0].lstrip()
    if first[0] == "#":
        data = re.search(r"^[ \t]*[^#\s][^\n]*$", stripped, re.MULTILINE)
        if data is not None and gset.is_header(data.group(0)):
            return "gset"
        return "coo"
    if gset.is_header(first):
        return "gset"
    if re.match(r"[0-9]+[ \t]+[0-9]", first):
        return "coo"
    if first[0] in "cpCP" and (len(first) == 1 or first[1] in " \t\r"):
        return "qubo"
    return None


def _json_flavour(doc: object, name: str) -> str:
    if isinstance(doc, dict):
        if doc.get("format") == FORMAT_NAME:
            return "qevo-json"
        if "type" in doc:
            return "dimod-json"
        if "format" in doc:
            fail(name, f'JSON with "format": {doc["format"]!r} is not a qevo-ir document')
    fail(
        name,
        'JSON that is neither a qevo-ir document ("format": "qevo-ir") nor a dimod BQM '
        '("type": "BinaryQuadraticModel")',
    )


def detect_format(path: PathLike, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """The format name of the file at ``path``, from its content (the extension as a hint)."""
    name = path_name(path)
    try:
        with open_regular(path, name) as fh:
            head = fh.read(_HEAD_BYTES)
    except OSError as exc:
        fail(name, f"cannot read the file ({exc.strerror or exc})")
    kind = _sniff(head, name)
    if kind == "json":
        flavour = _quick_json_flavour(head.decode("utf-8", errors="replace"))
        if flavour is not None:
            return flavour
        doc = load_json(decode_text(read_bounded(path, max_bytes), name), name)
        return _json_flavour(doc, name)
    if kind is not None:
        return kind
    return _by_hint(path, name, head)


def _quick_json_flavour(head: str) -> str | None:
    # Both writers put the distinguishing key first; a file written otherwise is parsed whole.
    if re.match(r'\s*\{\s*"format"\s*:\s*"qevo-ir"', head.removeprefix("\ufeff")):
        return "qevo-json"
    if re.match(r'\s*\{\s*"type"\s*:\s*"BinaryQuadraticModel"', head.removeprefix("\ufeff")):
        return "dimod-json"
    return None


def _by_hint(path: PathLike, name: str, head: bytes) -> str:
    if not head.strip():
        fail(name, "the file is empty")
    hint = format_for_path(path)
    if hint is not None:
        return hint
    fail(
        name,
        "cannot tell the format from the content or the extension; expected one of: "
        + ", ".join(f"{f.name} ({', '.join(f.extensions)})" for f in FORMATS),
    )


# ----------------------------------------------------------------------------- reading
def read_document(
    path: PathLike,
    *,
    format: str | None = None,
    vartype: Vartype | str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    index_base: int | None = None,
    gset_meaning: str = "maxcut",
) -> QevoDocument:
    """Read any supported file: the Hamiltonian plus metadata (empty for peer formats).

    ``format`` skips detection. ``vartype`` is needed only for COO files without a
    ``# vartype=`` header; for other formats it must agree with the file. Files over
    ``max_bytes`` are refused before reading. Every failure is a :class:`FormatError` whose
    message starts with the path. ``index_base`` (0 or 1) is for COO files: 1 reads
    1-based indices (``1 2 -1`` couples variables 0 and 1). ``gset_meaning`` is ``"maxcut"``
    (SPIN, energy = -cut) or ``"qubo"`` (BINARY) for G-set files.
    """
    name = path_name(path)
    fmt = _check_format_name(format, name) if format is not None else None
    if fmt is None:
        try:
            with open_regular(path, name) as fh:
                head = fh.read(_HEAD_BYTES)
        except OSError as exc:
            fail(name, f"cannot read the file ({exc.strerror or exc})")
        fmt = _sniff(head, name) or _by_hint(path, name, head)
    if fmt == "qevo-npz":
        doc = qevo_npz.read_document(path, max_bytes=max_bytes)
    elif fmt in ("json", "qevo-json", "dimod-json"):
        parsed = load_json(decode_text(read_bounded(path, max_bytes), name), name)
        flavour = _json_flavour(parsed, name) if fmt == "json" else fmt
        if flavour == "qevo-json":
            doc = qevo_json.from_document(parsed, name)
        else:
            doc = QevoDocument(dimod_json.from_document(parsed, name))
    elif fmt == "coo":
        text = decode_text(read_bounded(path, max_bytes), name)
        doc = QevoDocument(
            coo_text.loads(
                text, vartype=vartype, name=name, max_bytes=max_bytes, index_base=index_base
            )
        )
    elif fmt == "gset":
        text = decode_text(read_bounded(path, max_bytes), name)
        doc = QevoDocument(gset.loads(text, meaning=gset_meaning, name=name, max_bytes=max_bytes))
    else:
        text = decode_text(read_bounded(path, max_bytes), name)
        doc = QevoDocument(qbsolv.loads(text, name=name, max_bytes=max_bytes))
    if vartype is not None:
        want = as_vartype(vartype)
        if doc.hamiltonian.vartype is not want:
            fail(
                name,
                f"the file holds a {doc.hamiltonian.vartype.value} Hamiltonian, but "
                f"{want.value} was requested (convert with .change_vartype())",
            )
    return doc


def read_hamiltonian(
    path: PathLike,
    *,
    format: str | None = None,
    vartype: Vartype | str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    index_base: int | None = None,
    gset_meaning: str = "maxcut",
) -> Hamiltonian:
    """Read a Hamiltonian from any supported file; see :func:`read_document`."""
    return read_document(
        path,
        format=format,
        vartype=vartype,
        max_bytes=max_bytes,
        index_base=index_base,
        gset_meaning=gset_meaning,
    ).hamiltonian


# ----------------------------------------------------------------------------- writing
def write_hamiltonian(
    ham: Hamiltonian,
    path: PathLike,
    format: str | None = None,
    *,
    force: bool = True,
    metadata: Mapping[str, str] | None = None,
    drop_labels: bool = False,
    compress: bool = False,
) -> Hamiltonian:
    """Write ``ham`` to ``path`` atomically, in ``format`` or the one its extension names.

    Returns the Hamiltonian the file holds, which is what :func:`read_hamiltonian` gives back:
    ``ham`` itself for the qevo formats; without provenance for dimod JSON; with index labels
    for COO and qbsolv (which refuse labels unless ``drop_labels``), and as BINARY for qbsolv.
    ``metadata`` is for the qevo formats only, ``compress`` for ``.npz`` only. ``force=False``
    refuses to replace an existing file.
    """
    name = path_name(path)
    fmt = _check_format_name(format, name) if format is not None else format_for_path(path)
    if fmt is None:
        fail(
            name,
            "cannot tell the format from the extension; name it with format= (one of "
            + ", ".join(f"{f.name} for {', '.join(f.extensions)}" for f in FORMATS)
            + ")",
        )
    if metadata and fmt not in ("qevo-json", "qevo-npz"):
        fail(name, f"the {fmt} format cannot store metadata; use qevo-json or qevo-npz")
    if compress and fmt != "qevo-npz":
        fail(name, f"compress applies to qevo-npz only, not {fmt}")
    if drop_labels and fmt in ("qevo-json", "qevo-npz"):
        table = VariableTable.range(ham.num_variables)
        ham = ham.with_variables(table.with_provenance(ham.variables.provenance))
    if fmt == "qevo-json":
        return qevo_json.write(ham, path, metadata=metadata, force=force)
    if fmt == "qevo-npz":
        return qevo_npz.write(ham, path, metadata=metadata, compress=compress, force=force)
    if fmt == "dimod-json":
        return dimod_json.write(ham, path, drop_labels=drop_labels, force=force)
    if fmt == "coo":
        return coo_text.write(ham, path, drop_labels=drop_labels, force=force)
    if fmt == "gset":
        return gset.write(ham, path, drop_labels=drop_labels, force=force)
    return qbsolv.write(ham, path, drop_labels=drop_labels, force=force)
