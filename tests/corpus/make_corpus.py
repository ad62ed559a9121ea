"""Write the malformed-input corpus: hostile, broken and valid-but-weird inputs plus a manifest.

Every file is built by hand from the standard library and numpy (never through qevo_ir's own
writers), so the corpus does not drift when a writer changes, and the bytes depend on this script
alone. ``manifest.json`` records, for each file, what every loader and CLI verb must do with it.

Usage::

    python tests/corpus/make_corpus.py [OUTDIR]     # default: tests/corpus/files

The committed copy under ``tests/corpus/files`` is checked against a fresh run by the tests.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import shutil
import struct
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qevo_ir.atomic import atomic_write_bytes, atomic_write_text

__all__ = ["MANIFEST_NAME", "PICKLE_MARKER_ENV", "Entry", "build", "main"]

MANIFEST_NAME = "manifest.json"
DEFAULT_OUT = Path(__file__).resolve().parent / "files"

#: The pickle payload in the corpus opens (creates) the file named by this environment variable
#: when it is unpickled; with the variable unset, unpickling fails without side effects.
PICKLE_MARKER_ENV = "QEVO_PICKLE_MARKER"

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
DBL_MAX = 1.7976931348623157e308


@dataclass
class Entry:
    """One corpus file and what must happen to it.

    ``kind``: ``"hamiltonian"`` (an input file for the loaders and the CLI) or ``"report"`` (a
    ``report.json`` for ``qevo verify``). ``expect``: ``"ok"`` or ``"error"`` for the loaders and
    every verb that reads the file; ``error`` the exception class name and ``match`` a
    (case-insensitive) substring of the message. ``compute``: for loadable files, what ``solve``
    and ``compile`` do (``"ok"`` or ``"error"``, with ``compute_match``). ``vartype``: passed as
    ``--vartype`` (a header-less COO file). For reports, ``verify`` is ``"error"`` (exit 2, a
    malformed report) or ``"fail"`` (exit 1, a named mismatch).
    """

    file: str
    category: str
    note: str
    kind: str = "hamiltonian"
    expect: str = "error"
    error: str = "FormatError"
    match: str = ""
    compute: str | None = None
    compute_match: str = ""
    vartype: str | None = None
    verify: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "file": self.file,
            "kind": self.kind,
            "category": self.category,
            "note": self.note,
            "expect": self.expect,
        }
        if self.expect == "error":
            out.update(error=self.error, match=self.match)
        if self.compute is not None:
            out.update(compute=self.compute, compute_match=self.compute_match)
        if self.vartype is not None:
            out["vartype"] = self.vartype
        if self.verify is not None:
            out["verify"] = self.verify
        out.update(self.extra)
        return out


# ----------------------------------------------------------------------------- building blocks
def pseudo_random_bytes(seed: str, size: int) -> bytes:
    """Deterministic bytes (a SHA-256 chain): the same on every platform and numpy version."""
    out = bytearray()
    block = seed.encode()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


def qevo_doc(**changes: Any) -> dict[str, Any]:
    """A valid 3-spin qevo-ir JSON document, with top-level ``changes`` applied."""
    doc: dict[str, Any] = {
        "format": "qevo-ir",
        "version": 1,
        "vartype": "SPIN",
        "num_variables": 3,
        "labels": None,
        "linear": [0.5, -1.0, 0.25],
        "quadratic": {"row": [0, 1], "col": [1, 2], "bias": [1.0, -0.5]},
        "offset": 0.125,
    }
    doc.update(changes)
    return doc


def dimod_doc(**changes: Any) -> dict[str, Any]:
    """A valid 3-variable dimod ``to_serializable()`` document, with ``changes`` applied."""
    doc: dict[str, Any] = {
        "type": "BinaryQuadraticModel",
        "version": {"bqm_schema": "3.0.0"},
        "use_bytes": False,
        "index_type": "int32",
        "bias_type": "float64",
        "num_variables": 3,
        "num_interactions": 2,
        "variable_labels": ["a", "b", "c"],
        "variable_type": "SPIN",
        "offset": 0.0,
        "info": {},
        "linear_biases": [0.5, -1.0, 0.25],
        "quadratic_biases": [1.0, -0.5],
        "quadratic_head": [0, 1],
        "quadratic_tail": [1, 2],
    }
    doc.update(changes)
    return doc


def dumps(doc: Any) -> str:
    """JSON text of ``doc`` (``allow_nan`` so that NaN/Infinity documents can be written)."""
    return json.dumps(doc, allow_nan=True) + "\n"


def npy(arr: np.ndarray[Any, Any], *, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def npy_forged(descr: str, shape: tuple[int, ...], data: bytes) -> bytes:
    """An ``.npy`` whose header declares ``shape`` but which holds only ``data``."""
    buf = io.BytesIO()
    header = {"descr": descr, "fortran_order": False, "shape": shape}
    np.lib.format.write_array_header_1_0(buf, header)
    return buf.getvalue() + data


def npz_header(n: int = 3, m: int = 2, **changes: Any) -> dict[str, Any]:
    head: dict[str, Any] = {
        "format": "qevo-ir",
        "version": 1,
        "num_variables": n,
        "num_interactions": m,
        "labels": None,
        "provenance": None,
        "metadata": {},
    }
    head.update(changes)
    return head


def npz_members(
    *,
    linear: Any = (0.5, -1.0, 0.25),
    row: Any = (0, 1),
    col: Any = (1, 2),
    quad: Any = (1.0, -0.5),
    offset: float = 0.125,
    vartype: str = "SPIN",
    header: dict[str, Any] | None = None,
) -> dict[str, bytes]:
    """The ``.npy`` members of a valid qevo-ir ``.npz`` (each overridable)."""
    head = npz_header(len(linear), len(row)) if header is None else header
    return {
        "linear.npy": npy(np.asarray(linear, dtype="<f8")),
        "row.npy": npy(np.asarray(row, dtype="<i8")),
        "col.npy": npy(np.asarray(col, dtype="<i8")),
        "quad.npy": npy(np.asarray(quad, dtype="<f8")),
        "offset.npy": npy(np.asarray(offset, dtype="<f8")),
        "vartype.npy": npy(np.asarray(vartype, dtype="<U")),
        "header.npy": npy(np.asarray(json.dumps(head, allow_nan=True), dtype="<U")),
    }


def zip_bytes(members: dict[str, bytes], *, deflate: bool = False) -> bytes:
    """A zip archive of ``members`` with fixed timestamps (byte-identical on every run)."""
    buf = io.BytesIO()
    method = zipfile.ZIP_DEFLATED if deflate else zipfile.ZIP_STORED
    with zipfile.ZipFile(buf, "w", compression=method) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
            info.compress_type = method
            info.create_system = 3
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


class _Getenv:
    """Unpickles to ``os.getenv(PICKLE_MARKER_ENV)``."""

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return (os.getenv, (PICKLE_MARKER_ENV,))


class _CreateMarker:
    """Unpickles to ``open(os.getenv(PICKLE_MARKER_ENV), "w")``: creating the marker file is the
    proof that a reader unpickled the payload."""

    def __reduce__(self) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        return (open, (_Getenv(), "w"))


def pickle_payload_npy() -> bytes:
    """An object-dtype ``.npy`` whose unpickling creates the marker file."""
    arr = np.empty(1, dtype=object)
    arr[0] = _CreateMarker()
    return npy(arr, allow_pickle=True)


def deep_json(depth: int, *, obj: bool) -> str:
    if obj:
        return '{"a":' * depth + "1" + "}" * depth + "\n"
    return "[" * depth + "]" * depth + "\n"


def report_doc(**changes: Any) -> dict[str, Any]:
    """A well-formed report for a compile with ``--target exact`` (sha256s are placeholders)."""
    doc: dict[str, Any] = {
        "format": "qevo-compile-report",
        "version": 1,
        "source": {"type": "Hamiltonian", "hash": "0" * 64},
        "pipeline": "",
        "passes": [],
        "exact": True,
        "total_energy_bound": 0.0,
        "energy_scale": 1.0,
        "targets": {"exact": {"backend": "exact", "options": {}, "seconds": 0.0}},
        "artifacts": {
            "source.qevo.json": {"target": "source", "sha256": "0" * 64, "bytes": 1},
            "compiled.qevo.json": {"target": "ir", "sha256": "0" * 64, "bytes": 1},
            "exact.json": {"target": "exact", "sha256": "0" * 64, "bytes": 1},
        },
    }
    doc.update(changes)
    return doc


# ----------------------------------------------------------------------------- the corpus
def build(out: Path) -> list[Entry]:
    """Write every corpus file into ``out`` (created, emptied first) and the manifest."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    entries: list[Entry] = []

    def add(name: str, content: str | bytes, **kwargs: Any) -> None:
        data = content.encode("utf-8") if isinstance(content, str) else content
        atomic_write_bytes(out / name, data)
        entries.append(Entry(file=name, **kwargs))

    valid_json = dumps(qevo_doc())
    valid_dimod = dumps(dimod_doc())
    valid_npz = zip_bytes(npz_members())

    # -- truncated -------------------------------------------------------------------------
    add(
        "trunc_qevo_half.json",
        valid_json[: len(valid_json) // 2],
        category="truncated",
        match="not valid JSON",
        note="qevo-ir JSON cut in half",
    )
    add(
        "trunc_qevo_last_brace.json",
        valid_json.rstrip()[:-1],
        category="truncated",
        match="not valid JSON",
        note="qevo-ir JSON missing its closing brace",
    )
    add(
        "trunc_dimod.bqm.json",
        valid_dimod[: len(valid_dimod) * 2 // 3],
        category="truncated",
        match="not valid JSON",
        note="dimod BQM JSON cut at two thirds",
    )
    add(
        "trunc_npz_half.npz",
        valid_npz[: len(valid_npz) // 2],
        category="truncated",
        match=".npz",
        note="qevo-ir .npz cut in half (no central directory)",
    )
    add(
        "trunc_npz_no_eocd.npz",
        valid_npz[:-22],
        category="truncated",
        match=".npz",
        note="qevo-ir .npz without its end-of-central-directory record",
    )
    add(
        "trunc_npz_header_only.npz",
        valid_npz[:30],
        category="truncated",
        match=".npz",
        note="only the first local file header of a zip",
    )
    crc = bytearray(valid_npz)
    at = valid_npz.index(b"\x00\x00\x00\x00\x00\x00\xe0?")  # a float64 0.5 in linear.npy
    crc[at + 7] ^= 0x01
    add(
        "trunc_npz_bad_crc.npz",
        bytes(crc),
        category="truncated",
        match="damaged",
        note="one flipped bit in linear.npy: the zip CRC-32 no longer matches",
    )
    members = npz_members()
    members["quad.npy"] = members["quad.npy"][:-8]
    add(
        "trunc_npz_member_short.npz",
        zip_bytes(members),
        category="truncated",
        match="truncated or forged",
        note="quad.npy holds fewer bytes than its header declares",
    )

    # -- versions and keys -----------------------------------------------------------------
    add(
        "version_qevo_2.json",
        dumps(qevo_doc(version=2)),
        category="version",
        match="version 2 is not supported",
        note="a future qevo-ir version",
    )
    add(
        "version_qevo_string.json",
        dumps(qevo_doc(version="1")),
        category="version",
        match="version must be an integer",
        note="version as a string",
    )
    add(
        "version_qevo_float.json",
        dumps(qevo_doc(version=1.0)),
        category="version",
        match="version must be an integer",
        note="version 1.0 is not the integer 1",
    )
    doc = qevo_doc()
    del doc["linear"]
    add(
        "keys_qevo_missing_linear.json",
        dumps(doc),
        category="missing-key",
        match="missing key 'linear'",
        note="no linear terms",
    )
    doc = qevo_doc()
    del doc["format"]
    add(
        "keys_qevo_missing_format.json",
        dumps(doc),
        category="missing-key",
        match="neither a qevo-ir document",
        note="no format key: not recognisable",
    )
    add(
        "keys_qevo_unknown_key.json",
        dumps(qevo_doc(extra_field=1)),
        category="missing-key",
        match="unknown key 'extra_field'",
        note="a key version 1 does not define",
    )
    add("keys_qevo_quadratic_keys.json",
        dumps(qevo_doc(quadratic={"row": [0], "col": [1], "value": [1.0]})),
        category="missing-key", match="quadratic must have exactly the keys",
        note="quadratic.bias spelled value")  # fmt: skip
    add(
        "version_npz_2.npz",
        zip_bytes(npz_members(header=npz_header(version=2))),
        category="version",
        match="version 2 is not supported",
        note="header version 2",
    )
    members = npz_members()
    del members["quad.npy"]
    add(
        "keys_npz_missing_quad.npz",
        zip_bytes(members),
        category="missing-key",
        match="missing array quad.npy",
        note="an archive without quad.npy",
    )
    members = npz_members()
    head = npz_header()
    del head["num_interactions"]
    members["header.npy"] = npy(np.asarray(json.dumps(head), dtype="<U"))
    add(
        "keys_npz_header_missing.npz",
        zip_bytes(members),
        category="missing-key",
        match="missing 'num_interactions'",
        note="header without num_interactions",
    )
    add(
        "version_dimod_schema_2.bqm.json",
        dumps(dimod_doc(version={"bqm_schema": "2.0.0"})),
        category="version",
        match="bqm_schema '2.0.0' is not supported",
        note="dimod < 0.10",
    )
    doc = dimod_doc()
    del doc["offset"]
    add(
        "keys_dimod_missing_offset.bqm.json",
        dumps(doc),
        category="missing-key",
        match="missing key 'offset'",
        note="dimod document without offset",
    )
    add(
        "keys_dimod_wrong_type.bqm.json",
        dumps(dimod_doc(type="DiscreteQuadraticModel")),
        category="missing-key",
        match="not a dimod BQM",
        note="a DQM is not a BQM",
    )

    # -- non-finite and huge numbers -------------------------------------------------------
    add(
        "nan_qevo_token.json",
        valid_json.replace("0.25", "NaN"),
        category="non-finite",
        match="NaN",
        note="the JSON extension token NaN",
    )
    add(
        "nan_qevo_infinity.json",
        valid_json.replace("-1.0", "-Infinity"),
        category="non-finite",
        match="Infinity",
        note="the token -Infinity",
    )
    add(
        "nan_qevo_overflow_literal.json",
        valid_json.replace("0.125", "1e999"),
        category="non-finite",
        match="overflows to infinity",
        note="a literal past DBL_MAX",
    )
    add(
        "nan_qevo_long_int.json",
        valid_json.replace("0.125", "9" * 5000),
        category="non-finite",
        match="",
        note="a 5000-digit integer literal",
    )
    add(
        "nan_npz_linear.npz",
        zip_bytes(npz_members(linear=(0.5, float("nan"), 0.25))),
        category="non-finite",
        match="not finite",
        note="NaN in linear.npy",
    )
    add(
        "nan_npz_quad_inf.npz",
        zip_bytes(npz_members(quad=(1.0, float("inf")))),
        category="non-finite",
        match="not finite",
        note="+Inf in quad.npy",
    )
    add(
        "nan_npz_offset_neginf.npz",
        zip_bytes(npz_members(offset=float("-inf"))),
        category="non-finite",
        match="not finite",
        note="-Inf offset",
    )
    add(
        "nan_coo.coo",
        "# vartype=SPIN\n0 1 nan\n",
        category="non-finite",
        match="line 2: cannot parse",
        note="nan, which dimod's COO reader skips silently",
    )
    add(
        "nan_coo_inf.coo",
        "# vartype=SPIN\n0 1 1.0\n1 2 -inf\n",
        category="non-finite",
        match="line 3: cannot parse",
        note="-inf in COO",
    )
    add(
        "nan_coo_overflow.coo",
        "# vartype=BINARY\n0 1 1e400\n",
        category="non-finite",
        match="overflows to infinity",
        note="1e400 parses but overflows",
    )
    add(
        "nan_qubo_inf.qubo",
        "p qubo 0 2 1 1\n0 0 inf\n0 1 1.0\n",
        category="non-finite",
        match="line 2: cannot parse",
        note="inf in qbsolv",
    )
    add(
        "nan_dimod_token.bqm.json",
        valid_dimod.replace("0.25", "NaN"),
        category="non-finite",
        match="NaN",
        note="NaN in linear_biases",
    )
    nan_bytes = dimod_doc(
        use_bytes=True,
        linear_biases=base64.b64encode(struct.pack("<3d", 0.5, float("nan"), 0.25)).decode(),
        quadratic_biases=base64.b64encode(struct.pack("<2d", 1.0, -0.5)).decode(),
        quadratic_head=base64.b64encode(struct.pack("<2i", 0, 1)).decode(),
        quadratic_tail=base64.b64encode(struct.pack("<2i", 1, 2)).decode(),
    )
    add(
        "nan_dimod_bytes.bqm.json",
        dumps(nan_bytes),
        category="non-finite",
        match="not finite",
        note="NaN hidden in a base64 use_bytes array",
    )
    add(
        "dimod_bias_type_bogus.bqm.json",
        dumps(dimod_doc(bias_type="complex128")),
        category="missing-key",
        match="bias_type must be one of",
        note="bias_type dimod never writes (lists do not need it, but a present value is checked)",
    )
    add(
        "dimod_index_type_bogus.bqm.json",
        dumps(dimod_doc(index_type=["int32"])),
        category="missing-key",
        match="index_type must be one of",
        note="index_type of the wrong JSON type in a list document",
    )
    add(
        "huge_qevo_1e308.json",
        dumps(qevo_doc(linear=[1e308, 1e308, -1e308])),
        category="huge-coefficient",
        expect="ok",
        compute="error",
        compute_match="too large",
        note="finite, but sum|h| overflows float64: loads (storage is lossless); solve and "
        "compile refuse it (over the 1e300 limit)",
    )
    add("huge_qevo_dbl_max.json",
        dumps(qevo_doc(quadratic={"row": [0, 1], "col": [1, 2], "bias": [DBL_MAX, -DBL_MAX]})),
        category="huge-coefficient", expect="ok", compute="error", compute_match="too large",
        note="J = ±DBL_MAX: a spin-to-binary conversion would multiply it by 4")  # fmt: skip
    add(
        "huge_npz_1e308.npz",
        zip_bytes(npz_members(quad=(1e308, 1e308))),
        category="huge-coefficient",
        expect="ok",
        compute="error",
        compute_match="too large",
        note="1e308 couplings in .npz",
    )
    add(
        "huge_coo_1e308.coo",
        "# vartype=SPIN\n0 0 1e308\n0 1 1e308\n1 2 -1e308\n",
        category="huge-coefficient",
        expect="ok",
        compute="error",
        compute_match="too large",
        note="1e308 in COO",
    )
    add(
        "huge_offset_dbl_max.json",
        dumps(qevo_doc(offset=DBL_MAX)),
        category="huge-coefficient",
        expect="ok",
        compute="error",
        compute_match="too large",
        note="offset = DBL_MAX",
    )
    add(
        "huge_1e299_ok.json",
        dumps(qevo_doc(linear=[1e299, -1e299, 1.0])),
        category="huge-coefficient",
        expect="ok",
        compute="ok",
        note="|offset| + sum|h| + sum|J| = 2e299, under the 1e300 limit: every verb works",
    )
    add(
        "huge_just_over_limit.json",
        dumps(qevo_doc(linear=[6e299, -5e299, 1.0])),
        category="huge-coefficient",
        expect="ok",
        compute="error",
        compute_match="1e+300",
        note="|offset| + sum|h| + sum|J| = 1.1e300, just over the limit",
    )
    add("tiny_subnormal.json",
        dumps(qevo_doc(linear=[5e-324, -5e-324, 0.0],
                       quadratic={"row": [0], "col": [1], "bias": [1e-310]})),
        category="huge-coefficient", expect="ok", compute="ok",
        note="subnormal coefficients load and solve exactly")  # fmt: skip

    # -- labels ----------------------------------------------------------------------------
    add(
        "labels_float.json",
        dumps(qevo_doc(labels=["a", 1.0, "c"])),
        category="labels",
        match="float labels are refused",
        note="1 and 1.0 would collide",
    )
    add(
        "labels_bool.json",
        dumps(qevo_doc(labels=["a", True, "c"])),
        category="labels",
        match="bool labels are refused",
        note="True == 1 would collide",
    )
    add(
        "labels_null.json",
        dumps(qevo_doc(labels=["a", None, "c"])),
        category="labels",
        match="labels[1]",
        note="null is not a label",
    )
    add(
        "labels_object.json",
        dumps(qevo_doc(labels=["a", {"x": 1}, "c"])),
        category="labels",
        match="labels[1]",
        note="an object is not a label",
    )
    add(
        "labels_duplicate.json",
        dumps(qevo_doc(labels=["a", "b", "a"])),
        category="labels",
        match="duplicate",
        note="two variables called 'a'",
    )
    add(
        "labels_duplicate_tuple.json",
        dumps(qevo_doc(labels=[["x", 1], "b", ["x", 1]])),
        category="labels",
        match="duplicate",
        note="two variables called ('x', 1)",
    )
    add(
        "labels_duplicate.bqm.json",
        dumps(dimod_doc(variable_labels=["a", "b", "b"])),
        category="labels",
        match="duplicate",
        note="dimod document with a repeated label",
    )
    add(
        "labels_wrong_length.json",
        dumps(qevo_doc(labels=["a", "b"])),
        category="labels",
        match="labels has 2 entries, expected 3",
        note="fewer labels than variables",
    )
    add(
        "labels_not_list.json",
        dumps(qevo_doc(labels="abc")),
        category="labels",
        match="labels must be a list",
        note="labels as one string",
    )
    deep_label = "[" * 5000 + '"x"' + "]" * 5000
    add(
        "labels_deep_nesting.json",
        dumps(qevo_doc(labels=["DEEP", "b", "c"])).replace('"DEEP"', deep_label),
        category="labels",
        match="nest",
        note="a label nested 5000 lists deep",
    )
    unicode_labels = ["spin-\u00fc\u00df", "\u65e5\u672c\u8a9e", "\U0001f9ca\u200d\U0001f525"]
    add(
        "labels_unicode.json",
        dumps(qevo_doc(labels=unicode_labels)),
        category="labels",
        expect="ok",
        compute="ok",
        note="non-ASCII labels (umlaut, CJK, emoji ZWJ sequence)",
    )
    rtl = ["\u05d0\u05d1", "a\u202eb", "e\u0301"]
    add(
        "labels_unicode_rtl.bqm.json",
        dumps(dimod_doc(variable_labels=rtl)),
        category="labels",
        expect="ok",
        compute="ok",
        note="right-to-left text, a bidi override, a combining mark",
    )
    path_labels = ["../../etc/passwd", "/tmp/x", "..\\..\\windows\\system32"]
    add(
        "labels_pathlike.json",
        dumps(qevo_doc(labels=path_labels)),
        category="labels",
        expect="ok",
        compute="ok",
        note="labels that look like paths are data, never paths",
    )
    add(
        "labels_pathlike.bqm.json",
        dumps(dimod_doc(variable_labels=["~/.ssh/id_rsa", ".", ".."])),
        category="labels",
        expect="ok",
        compute="ok",
        note="path-like labels in dimod JSON",
    )
    members = npz_members(header=npz_header(labels=["/etc/shadow", "../x", "con:"]))
    add(
        "labels_pathlike.npz",
        zip_bytes(members),
        category="labels",
        expect="ok",
        compute="ok",
        note="path-like labels in .npz",
    )
    add(
        "labels_int_str_distinct.json",
        dumps(qevo_doc(labels=[1, "1", [1]])),
        category="labels",
        expect="ok",
        compute="ok",
        note="1, '1' and (1,) are three different labels",
    )
    add(
        "labels_control_chars.json",
        dumps(qevo_doc(labels=["a\nb", "\t", "\u0000nul"])),
        category="labels",
        expect="ok",
        compute="ok",
        note="newline, tab and NUL inside labels (escaped in every message)",
    )
    add(
        "labels_huge_int.json",
        dumps(qevo_doc(labels=[10**30, -(10**30), 0])),
        category="labels",
        match="does not fit a signed 64-bit integer",
        note="integer labels beyond int64: refused, since Python hashes ints modulo 2**61 - 1 and "
        "unbounded ints could all collide in the label table (issue 15)",
    )
    add(
        "labels_int64_edges.json",
        dumps(qevo_doc(labels=[2**63 - 1, -(2**63), 0])),
        category="labels",
        expect="ok",
        compute="ok",
        note="integer labels at the int64 limits",
    )

    # -- self-loops and shapes ---------------------------------------------------------------
    add("loop_qevo.json", dumps(qevo_doc(quadratic={"row": [0, 1], "col": [1, 1],
                                                    "bias": [1.0, 2.0]})),
        category="self-loop", match="couples variable 1 with itself",
        note="a coupling of a variable with itself")  # fmt: skip
    add(
        "loop_npz.npz",
        zip_bytes(npz_members(row=(0, 2), col=(1, 2))),
        category="self-loop",
        match="with itself",
        note="self-loop in .npz",
    )
    add(
        "loop_dimod_folds.bqm.json",
        dumps(dimod_doc(quadratic_head=[0, 1], quadratic_tail=[1, 1])),
        category="self-loop",
        expect="ok",
        compute="ok",
        note="dimod's own rule: s_i s_i = 1 folds into the offset",
    )
    add(
        "shape_linear_short.json",
        dumps(qevo_doc(linear=[0.5, -1.0])),
        category="shape",
        match="linear has 2 entries, expected 3",
        note="num_variables 3, two linear terms",
    )
    add("shape_row_col.json", dumps(qevo_doc(quadratic={"row": [0, 1], "col": [1],
                                                        "bias": [1.0, -0.5]})),
        category="shape", match="quadratic.col has 1 entries, expected 2",
        note="row and col of different lengths")  # fmt: skip
    add("shape_bias_long.json", dumps(qevo_doc(quadratic={"row": [0, 1], "col": [1, 2],
                                                          "bias": [1.0, -0.5, 3.0]})),
        category="shape", match="quadratic.bias has 3 entries, expected 2",
        note="one bias too many")  # fmt: skip
    add("shape_duplicate_pair.json", dumps(qevo_doc(quadratic={"row": [0, 1], "col": [1, 0],
                                                               "bias": [1.0, -0.5]})),
        category="shape", match="repeats the pair (0, 1)",
        note="(0, 1) and (1, 0) are one pair")  # fmt: skip
    add(
        "shape_npz_col_short.npz",
        zip_bytes(npz_members(col=(1,))),
        category="shape",
        match="col.npy has 1 entries, row.npy has 2",
        note="col shorter than row",
    )
    members = npz_members()
    members["linear.npy"] = npy(np.zeros((3, 1)))
    add(
        "shape_npz_linear_2d.npz",
        zip_bytes(members),
        category="shape",
        match="expected a 1-d array",
        note="linear as a 3x1 matrix",
    )
    members = npz_members()
    members["row.npy"] = npy(np.asarray([0.0, 1.0]))
    add(
        "shape_npz_row_float.npz",
        zip_bytes(members),
        category="shape",
        match="is not integer",
        note="row indices stored as floats",
    )
    add(
        "shape_dimod_head_tail.bqm.json",
        dumps(dimod_doc(quadratic_tail=[1])),
        category="shape",
        match="quadratic_tail has 1 entries, expected 2",
        note="head and tail of different lengths",
    )
    add(
        "shape_npz_index_out_of_range.npz",
        zip_bytes(npz_members(col=(1, 3))),
        category="shape",
        match="col.npy[1] = 3 is out of range",
        note="index 3 of 3 variables",
    )

    # -- declared sizes --------------------------------------------------------------------
    add(
        "size_qevo_negative.json",
        dumps(qevo_doc(num_variables=-3)),
        category="size",
        match="num_variables = -3 must be >= 0",
        note="a negative count",
    )
    add(
        "size_qevo_1e9.json",
        dumps(qevo_doc(num_variables=10**9)),
        category="size",
        match="expected 1000000000",
        note="declares 10^9 variables, holds 3",
        extra={"declares": 10**9},
    )
    add(
        "size_qevo_2e63.json",
        dumps(qevo_doc(num_variables=2**64)),
        category="size",
        match="expected 18446744073709551616",
        note="a count past int64",
    )
    members = npz_members()
    members["linear.npy"] = npy_forged("<f8", (10**9,), struct.pack("<3d", 0.5, -1.0, 0.25))
    members["header.npy"] = npy(np.asarray(json.dumps(npz_header(10**9)), dtype="<U"))
    add(
        "size_npz_forged_1e9.npz",
        zip_bytes(members),
        category="size",
        match="declares shape (1000000000,)",
        note="linear.npy claims 10^9 float64 (8 GB)",
        extra={"declares": 10**9},
    )
    members = npz_members()
    members["quad.npy"] = npy_forged("<f8", (2**62,), b"")
    add(
        "size_npz_forged_2e62.npz",
        zip_bytes(members),
        category="size",
        match="truncated or forged",
        note="quad.npy claims 2^62 entries",
    )
    add(
        "size_coo_1e9.coo",
        "# vartype=SPIN\n# num_variables=1000000000\n0 1 1.0\n",
        category="size",
        error="FileTooLarge",
        match="over the",
        note="COO header declaring 10^9 variables (8 GB of linear terms)",
        extra={"declares": 10**9},
    )
    add(
        "size_coo_negative.coo",
        "# vartype=SPIN\n# num_variables=-5\n0 1 1.0\n",
        category="size",
        match="is not a count",
        note="a negative count in COO",
    )
    add(
        "size_qubo_1e9.qubo",
        "p qubo 0 1000000000 0 0\n",
        category="size",
        error="FileTooLarge",
        match="over the",
        note="qbsolv maxNodes = 10^9",
        extra={"declares": 10**9},
    )
    add(
        "size_qubo_1e10.qubo",
        "p qubo 0 9999999999 0 0\n",
        category="size",
        match="over the limit",
        note="maxNodes past the int32 index space",
    )
    add(
        "size_dimod_1e9.bqm.json",
        dumps(dimod_doc(num_variables=10**9)),
        category="size",
        match="num_variables = 1000000000",
        note="dimod num_variables disagrees with labels",
        extra={"declares": 10**9},
    )

    # -- nesting ----------------------------------------------------------------------------
    add(
        "deep_list.json",
        deep_json(20_000, obj=False),
        category="nesting",
        match="nested too deeply",
        note="20000 nested lists",
    )
    add(
        "deep_object.json",
        deep_json(20_000, obj=True),
        category="nesting",
        match="nested too deeply",
        note="20000 nested objects",
    )
    add(
        "deep_in_qevo.json",
        dumps(qevo_doc()).replace(
            '"offset": 0.125', '"offset": ' + deep_json(3000, obj=False).strip()
        ),
        category="nesting",
        match="nested too deeply",
        note="the offset is a deep list",
    )

    # -- pickle payloads -------------------------------------------------------------------
    payload = pickle_payload_npy()
    members = npz_members()
    members["payload.npy"] = payload
    add(
        "pickle_extra_member.npz",
        zip_bytes(members),
        category="pickle",
        match="unexpected archive member 'payload.npy'",
        note="an extra object-array member whose unpickling creates a marker file",
        extra={"pickle_member": "payload"},
    )
    members = npz_members()
    members["linear.npy"] = payload
    add(
        "pickle_as_linear.npz",
        zip_bytes(members),
        category="pickle",
        match="object and structured arrays",
        note="linear.npy is the pickle payload",
        extra={"pickle_member": "linear"},
    )
    add(
        "pickle_bare.npy",
        payload,
        category="pickle",
        match="binary data",
        note="a bare .npy holding the payload (not a zip)",
    )
    members = npz_members()
    members["vartype.npy"] = npy(np.asarray([("SPIN", 1)], dtype=[("a", "<U4"), ("b", "<i8")]))
    add(
        "pickle_structured.npz",
        zip_bytes(members),
        category="pickle",
        match="object and structured arrays",
        note="a structured dtype in place of a string",
    )

    # -- empty and garbage -----------------------------------------------------------------
    add("empty.json", b"", category="garbage", match="empty", note="zero bytes, .json")
    add(
        "empty_no_extension",
        b"",
        category="garbage",
        match="empty",
        note="zero bytes, no extension",
    )
    add(
        "empty_whitespace.coo",
        " \n\t\n\r\n",
        category="garbage",
        match="empty",
        note="only whitespace",
    )
    add(
        "garbage_random.bin",
        pseudo_random_bytes("qevo-corpus", 4096),
        category="garbage",
        match="binary data",
        note="4 KiB of random bytes",
    )
    add(
        "garbage_random.npz",
        b"PK\x03\x04" + pseudo_random_bytes("qevo-npz", 512),
        category="garbage",
        match=".npz",
        note="zip magic followed by random bytes",
    )
    add(
        "garbage_utf16.json",
        ("\ufeff" + valid_json).encode("utf-16-le"),
        category="garbage",
        match="binary data",
        note="valid JSON encoded as UTF-16 with a BOM (NUL bytes)",
    )
    add(
        "garbage_latin1.coo",
        "# vartype=SPIN\n0 1 1.0 \xe9\n".encode("latin-1"),
        category="garbage",
        match="not UTF-8",
        note="Latin-1 bytes in a text file",
    )
    add(
        "garbage_prose.txt",
        "hello, this is not a model\n",
        category="garbage",
        match="cannot tell the format",
        note="plain text without a known extension",
    )
    add(
        "garbage_json_scalar.json",
        "42\n",
        category="garbage",
        match="must be an object",
        note="a JSON number",
    )
    add(
        "garbage_json_array.json",
        "[1, 2, 3]\n",
        category="garbage",
        match="neither",
        note="a JSON array",
    )

    # -- dimod indices (dimod's own loader crashes on these) -------------------------------
    add(
        "dimod_head_2e31.bqm.json",
        dumps(dimod_doc(quadratic_head=[0, 2**31])),
        category="dimod-index",
        match="quadratic_head[1] = 2147483648 is out of range",
        note="2^31: dimod's from_serializable segfaults",
    )
    add(
        "dimod_tail_2e32.bqm.json",
        dumps(dimod_doc(quadratic_tail=[1, 2**32])),
        category="dimod-index",
        match="quadratic_tail[1] = 4294967296 is out of range",
        note="2^32: dimod silently wraps it to 0",
    )
    add(
        "dimod_head_negative.bqm.json",
        dumps(dimod_doc(quadratic_head=[-1, 1])),
        category="dimod-index",
        match="quadratic_head[0] = -1 is out of range",
        note="a negative head",
    )
    add(
        "dimod_head_2e64.bqm.json",
        dumps(dimod_doc(quadratic_head=[0, 2**64])),
        category="dimod-index",
        match="out of range",
        note="an index past uint64",
    )
    add(
        "dimod_head_float.bqm.json",
        dumps(dimod_doc(quadratic_head=[0, 1.5])),
        category="dimod-index",
        match="must be an integer index",
        note="a fractional index",
    )
    bytes_doc = dimod_doc(
        use_bytes=True,
        linear_biases=base64.b64encode(struct.pack("<3d", 0.5, -1.0, 0.25)).decode(),
        quadratic_biases=base64.b64encode(struct.pack("<2d", 1.0, -0.5)).decode(),
        quadratic_head=base64.b64encode(struct.pack("<2i", 0, 2**31 - 1)).decode(),
        quadratic_tail=base64.b64encode(struct.pack("<2i", 1, 2)).decode(),
    )
    add(
        "dimod_bytes_head_out_of_range.bqm.json",
        dumps(bytes_doc),
        category="dimod-index",
        match="quadratic_head[1] = 2147483647 is out of range",
        note="out-of-range index in a base64 use_bytes array",
    )
    bytes_doc = dict(bytes_doc, quadratic_head="not base64!")
    add(
        "dimod_bytes_not_base64.bqm.json",
        dumps(bytes_doc),
        category="dimod-index",
        match="not base64",
        note="use_bytes with text that is not base64",
    )

    # -- COO -------------------------------------------------------------------------------
    add(
        "coo_junk_value.coo",
        "# vartype=SPIN\n0 1 abc\n",
        category="coo",
        match="line 2: cannot parse '0 1 abc'",
        note="a word as a bias",
    )
    add(
        "coo_hex.coo",
        "# vartype=SPIN\n0 1 0x10\n",
        category="coo",
        match="line 2: cannot parse",
        note="hexadecimal bias",
    )
    add(
        "coo_extra_column.coo",
        "# vartype=SPIN\n0 1 1.0\n1 2 1.0 7\n",
        category="coo",
        match="line 3: cannot parse",
        note="four columns",
    )
    add(
        "coo_negative_index.coo",
        "# vartype=SPIN\n-1 0 1.0\n",
        category="coo",
        match="line 2: cannot parse",
        note="a negative index",
    )
    add(
        "coo_float_index.coo",
        "# vartype=SPIN\n0.5 1 1.0\n",
        category="coo",
        match="line 2: cannot parse",
        note="a fractional index",
    )
    add(
        "coo_no_vartype.coo",
        "0 1 1.0\n1 2 -0.5\n",
        category="coo",
        match="no '# vartype=SPIN'",
        note="no vartype header and no --vartype",
    )
    add(
        "coo_no_vartype_given.coo",
        "0 1 1.0\n1 2 -0.5\n",
        category="coo",
        expect="ok",
        compute="ok",
        vartype="BINARY",
        note="no header, --vartype BINARY given",
    )
    add(
        "coo_two_vartypes.coo",
        "# vartype=SPIN\n# vartype=BINARY\n0 1 1.0\n",
        category="coo",
        match="both vartype=SPIN and vartype=BINARY",
        note="contradictory headers",
    )
    add(
        "coo_index_over_limit.coo",
        "# vartype=SPIN\n0 2147483647 1.0\n",
        category="coo",
        match="over the limit",
        note="an index past the int32 index space",
    )
    add(
        "coo_crlf.coo",
        "# vartype=SPIN\r\n0 0 0.5\r\n0 1 1.0\r\n1 2 -0.5\r\n",
        category="coo",
        expect="ok",
        compute="ok",
        note="Windows line endings",
    )
    add(
        "coo_zero_variables.coo",
        "# vartype=SPIN\n# offset=2.5\n",
        category="coo",
        expect="ok",
        compute="ok",
        note="a header and nothing else: n = 0",
    )

    # -- qbsolv ----------------------------------------------------------------------------
    add(
        "qubo_wrong_nnodes.qubo",
        "p qubo 0 3 2 1\n0 0 1.0\n0 1 -1.0\n",
        category="qubo",
        match="declares 2 diagonal and 1 coupler lines, the file has 1 and 1",
        note="nNodes says 2, one diagonal line",
    )
    add(
        "qubo_wrong_ncouplers.qubo",
        "p qubo 0 3 1 3\n0 0 1.0\n0 1 -1.0\n",
        category="qubo",
        match="declares 1 diagonal and 3 coupler lines",
        note="nCouplers says 3, one line",
    )
    add(
        "qubo_no_program.qubo",
        "c no program line\n0 0 1.0\n",
        category="qubo",
        match="no 'p qubo",
        note="no p line",
    )
    add(
        "qubo_two_programs.qubo",
        "p qubo 0 2 1 0\np qubo 0 2 1 0\n0 0 1.0\n",
        category="qubo",
        match="a second program line",
        note="two p lines",
    )
    add(
        "qubo_index_out_of_range.qubo",
        "p qubo 0 2 1 1\n0 0 1.0\n0 5 1.0\n",
        category="qubo",
        match="index 5 is out of range for maxNodes = 2",
        note="a coupler past maxNodes",
    )
    add(
        "qubo_duplicate_diagonal.qubo",
        "p qubo 0 2 2 0\n0 0 1.0\n0 0 2.0\n",
        category="qubo",
        match="a second diagonal entry for node 0",
        note="node 0 twice",
    )
    add(
        "qubo_data_before_program.qubo",
        "0 0 1.0\np qubo 0 2 1 0\n",
        category="qubo",
        match="no '# vartype=",
        note="data first: the content looks like COO, which has no "
        "'p' lines and needs a vartype header (--format qubo names the misplaced line)",
    )
    add(
        "qubo_nnodes_gt_max.qubo",
        "p qubo 0 2 5 0\n",
        category="qubo",
        match="nNodes = 5 exceeds maxNodes = 2",
        note="more nodes than maxNodes",
    )
    add(
        "qubo_one_variable.qubo",
        "c one node\np qubo 0 1 1 0\n0 0 -2.0\n",
        category="qubo",
        expect="ok",
        compute="ok",
        note="n = 1",
    )

    # -- valid but weird --------------------------------------------------------------------
    add("valid_n0.json", dumps(qevo_doc(num_variables=0, linear=[], offset=1.5,
                                        quadratic={"row": [], "col": [], "bias": []})),
        category="valid", expect="ok", compute="ok", note="no variables at all")  # fmt: skip
    add("valid_n1.json", dumps(qevo_doc(vartype="BINARY", num_variables=1, linear=[-2.0],
                                        quadratic={"row": [], "col": [], "bias": []})),
        category="valid", expect="ok", compute="ok", note="one variable")  # fmt: skip
    add("valid_all_zero.json", dumps(qevo_doc(linear=[0.0, 0.0, 0.0], offset=0.0,
                                              quadratic={"row": [0], "col": [1],
                                                         "bias": [0.0]})),
        category="valid", expect="ok", compute="ok",
        note="every coefficient zero (an explicit zero coupling is kept)")  # fmt: skip
    add(
        "valid_disconnected.coo",
        "# vartype=SPIN\n# num_variables=8\n0 1 1.0\n1 2 1.0\n0 2 1.0\n3 4 -1.0\n5 5 0.5\n",
        category="valid",
        expect="ok",
        compute="ok",
        note="a triangle, an edge, a field and two isolated variables",
    )
    add(
        "valid_bom.json",
        "\ufeff" + valid_json,
        category="valid",
        expect="ok",
        compute="ok",
        note="UTF-8 with a byte-order mark",
    )
    add(
        "valid_no_extension",
        valid_json,
        category="valid",
        expect="ok",
        compute="ok",
        note="qevo-ir JSON without an extension: recognised from the content",
    )
    add(
        "valid_misleading_extension.coo",
        valid_dimod,
        category="valid",
        expect="ok",
        compute="ok",
        note="dimod JSON named .coo: the content decides",
    )
    add("valid_dimod_use_bytes.bqm.json", dumps(dict(nan_bytes, linear_biases=base64.b64encode(
        struct.pack("<3d", 0.5, -1.0, 0.25)).decode())), category="valid", expect="ok",
        compute="ok", note="dimod use_bytes arrays as base64")  # fmt: skip
    add(
        "valid_keys_reordered.json",
        json.dumps(dict(reversed(list(qevo_doc().items())))) + "\n",
        category="valid",
        expect="ok",
        compute="ok",
        note="format key last: detection parses the whole file",
    )
    add(
        "valid_npz.npz",
        valid_npz,
        category="valid",
        expect="ok",
        compute="ok",
        note="a plain valid .npz",
    )
    add(
        "valid_npz_deflated.npz",
        zip_bytes(npz_members(), deflate=True),
        category="valid",
        expect="ok",
        compute="ok",
        note="deflate-compressed members",
    )

    # -- reports for `qevo verify` ---------------------------------------------------------
    def report(name: str, content: str | bytes, verify: str, match: str, note: str) -> None:
        add(
            name,
            content,
            kind="report",
            category="report",
            expect="error",
            match=match,
            verify=verify,
            note=note,
        )

    good_report = json.dumps(report_doc(), indent=1) + "\n"
    report(
        "report_truncated.json",
        good_report[: len(good_report) // 2],
        "error",
        "not valid JSON",
        "report.json cut in half",
    )
    report("report_empty.json", b"", "error", "empty", "an empty report.json")
    report("report_binary.json", pseudo_random_bytes("report", 256), "error", "", "random bytes")
    report(
        "report_not_object.json", "[1, 2]\n", "error", "not a qevo compile report", "a JSON array"
    )
    report(
        "report_artifacts_list.json",
        dumps(report_doc(artifacts=["exact.json"])),
        "error",
        "not a qevo compile report",
        "artifacts as a list",
    )
    report(
        "report_nan.json",
        good_report.replace('"seconds": 0.0', '"seconds": NaN'),
        "error",
        "NaN",
        "a NaN token",
    )
    report(
        "report_deep.json",
        deep_json(20_000, obj=False),
        "error",
        "nested too deeply",
        "deeply nested JSON",
    )
    traversal = {"../../../../etc/passwd": {"target": "x", "sha256": "0" * 64, "bytes": 1}}
    report(
        "report_traversal.json",
        dumps(report_doc(artifacts=traversal)),
        "error",
        "not a file name",
        "an artifact name that climbs out of the directory",
    )
    absolute = {"/dev/zero": {"target": "x", "sha256": "0" * 64, "bytes": 1}}
    report(
        "report_dev_zero.json",
        dumps(report_doc(artifacts=absolute)),
        "error",
        "not a file name",
        "an absolute artifact path to an endless device",
    )
    nulls: dict[str, Any] = {"exact.json": None, "compiled.qevo.json": {}}
    report(
        "report_meta_null.json",
        dumps(report_doc(artifacts=nulls)),
        "error",
        "sha256",
        "artifact entries without a sha256 (must not pass unchecked)",
    )
    report(
        "report_targets_bad.json",
        dumps(report_doc(targets={"exact": [1, 2]})),
        "error",
        "targets",
        "a target entry that is not an object",
    )
    report(
        "report_wrong_sha.json",
        good_report,
        "fail",
        "content differs",
        "well-formed report whose sha256s do not match the files",
    )
    report(
        "report_artifacts_empty.json",
        '{"artifacts": {}}\n',
        "error",
        "not a qevo compile report",
        "no format, version, source or artifact: was accepted with every check passed",
    )
    report(
        "report_no_source_hash.json",
        dumps(report_doc(source={"type": "Hamiltonian"})),
        "error",
        "source",
        "a report without the source's content hash",
    )
    report(
        "report_sha_not_hex.json",
        dumps(
            report_doc(
                artifacts={"compiled.qevo.json": {"target": "ir", "sha256": "x", "bytes": 1}}
            )
        ),
        "error",
        "sha256",
        "a sha256 that is not 64 hex digits",
    )
    report(
        "report_version_2.json",
        dumps(report_doc(version=2)),
        "error",
        "version",
        "an unknown report version",
    )
    missing = dict(report_doc()["artifacts"])
    missing["bqm.json"] = {"target": "dimod", "sha256": "0" * 64, "bytes": 1}
    report(
        "report_missing_artifact.json",
        dumps(report_doc(artifacts=missing)),
        "fail",
        "missing",
        "lists bqm.json, which the directory does not hold",
    )

    manifest = {
        "description": "Malformed-input corpus of qevo_ir, from tests/corpus/make_corpus.py",
        "pickle_marker_env": PICKLE_MARKER_ENV,
        "entries": [e.to_dict() for e in entries],
    }
    atomic_write_text(out / MANIFEST_NAME, json.dumps(manifest, indent=1, ensure_ascii=True) + "\n")
    return entries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT, help="output folder")
    args = parser.parse_args(argv)
    entries = build(args.out)
    total = sum(p.stat().st_size for p in args.out.iterdir())
    print(f"wrote {len(entries)} corpus files ({total} bytes) and {MANIFEST_NAME} to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
