"""Fuzz targets for every untrusted-input reader: the five format readers, the format detector,
the pipeline-string parser and the ``report.json`` reader of ``qevo verify``.

Each target draws bytes (or text) from Hypothesis: random data, byte-level mutations of valid seed
files, and structure-aware mutations (JSON trees, ``.npz`` members) that get past the first syntax
check into the validation code. The property is the same everywhere: the reader returns, or raises
one of our typed errors (a :class:`~qevo_ir.errors.QevoError`); any other exception, or taking more
than :data:`DEADLINE_S` seconds, is a failure.

The tests here are the short smoke run CI does on every commit. ``scripts/fuzz_long.py`` runs the
same :data:`TARGETS` for minutes each.
"""

from __future__ import annotations

import atexit
import copy
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qevo_ir.errors import QevoError
from qevo_ir.formats import detect_format, read_hamiltonian
from qevo_ir.passes import parse_pipeline
from qevo_ir.testing.deadline import Hang
from qevo_ir.testing.deadline import deadline as _deadline

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "corpus" / "files"
GOLDEN = ROOT / "tests" / "formats" / "golden"

DEADLINE_S = 5.0
#: Readers are given a small budget, so a mutated size field cannot make a fuzz run allocate
#: gigabytes (the budget check itself is what is being exercised).
MAX_BYTES = 1 << 22
SMOKE_EXAMPLES = 60


def deadline(seconds: float = DEADLINE_S) -> AbstractContextManager[None]:
    """:func:`qevo_ir.testing.deadline.deadline` with this suite's default."""
    return _deadline(seconds)


@cache
def workdir() -> Path:
    """A private scratch folder for the files the targets read (removed at exit)."""
    path = Path(tempfile.mkdtemp(prefix="qevo-fuzz-"))
    atexit.register(shutil.rmtree, path, True)
    return path


# ----------------------------------------------------------------------------- seeds
def _read(*paths: Path) -> list[bytes]:
    return [p.read_bytes() for p in paths if p.is_file()]


@cache
def seeds(fmt: str) -> tuple[bytes, ...]:
    """Valid files of ``fmt`` from the corpus and the golden files."""
    c, g = CORPUS, GOLDEN
    table = {
        "qevo-json": [c / "valid_n0.json", c / "valid_n1.json", c / "labels_unicode.json",
                      c / "labels_int_str_distinct.json", g / "v1.qevo.json"],
        "qevo-npz": [c / "valid_npz.npz", c / "valid_npz_deflated.npz", c / "labels_pathlike.npz",
                     g / "v1.qevo.npz"],
        "dimod-json": [c / "valid_dimod_use_bytes.bqm.json", c / "labels_pathlike.bqm.json",
                       c / "loop_dimod_folds.bqm.json", g / "dimod_bqm_v3.json"],
        "coo": [c / "valid_disconnected.coo", c / "coo_crlf.coo", g / "example.coo"],
        "qubo": [c / "qubo_one_variable.qubo", g / "example.qubo", g / "from_spin.qubo"],
    }  # fmt: skip
    found = tuple(_read(*table[fmt]))
    assert found, f"no seed files for {fmt}"
    return found


PIPELINE_SEEDS = (
    "",
    "sparsify(rel=1e-3) | precision(bits=5)",
    "fix(roof=true) | gauge(seed=3) | scale(factor=2.5)",
    "precision(h_range=[-2, 2], j_range=[-1, 1], bits=none, noise=0.02)",
    "normalize(to=1) | components | sparsify(abs=0.1, topk=3)",
    "embed(topology=pegasus, m=6, seed=1)",
    "quantize | precision(device='advantage2')",
)


# ----------------------------------------------------------------------------- strategies
INTERESTING_BYTES = [
    b"NaN", b"Infinity", b"-Infinity", b"1e999", b"-1", b"0", b"2147483647", b"2147483648",
    b"4294967296", b"18446744073709551616", b"1e308", b"5e-324", b"nan", b"inf", b"0x10",
    b"[", b"]", b"{", b"}", b'"', b"\\", b",", b":", b"\x00", b"\xff", b"\n", b"\r\n", b" ",
    b"true", b"null", b"PK\x03\x04", b"\x93NUMPY", b"# vartype=SPIN\n", b"p qubo 0 9 9 9\n",
    b"9" * 40, b"[" * 2000,
]  # fmt: skip


@st.composite
def byte_mutations(draw: st.DrawFn, pool: tuple[bytes, ...]) -> bytes:
    """A seed with up to 8 edits: bit flips, deletions, insertions, truncation, duplication and
    splices of tokens that readers treat specially. Positions are fractions of the length, so
    every edit applies to every seed."""
    data = bytearray(draw(st.sampled_from(pool)))
    for _ in range(draw(st.integers(1, 8))):
        at = int(draw(st.floats(0, 1, exclude_max=True)) * (len(data) + 1))
        kind = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "dup", "token"]))
        if kind == "flip" and data:
            at = min(at, len(data) - 1)
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "delete":
            del data[at : at + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "truncate":
            del data[at:]
        elif kind == "dup":
            data[at:at] = data[at : at + draw(st.integers(1, 256))]
        else:
            token = draw(st.sampled_from(INTERESTING_BYTES))
            end = at + draw(st.integers(0, len(token)))
            data[at:end] = token
    return bytes(data)


JSON_SPECIALS = [0, -1, 1, 2**31, 2**32, 2**63, 2**64, 10**9, -(10**9), 1e308, -1e308, 5e-324,
                 1.5, "SPIN", "BINARY", "qevo-ir", "BinaryQuadraticModel", "3.0.0", "2.0.0",
                 "../../etc/passwd", "/dev/zero", "", "int32", "float64", "AAAA"]  # fmt: skip


def json_values() -> st.SearchStrategy[Any]:
    leaves = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
        st.sampled_from(JSON_SPECIALS),
    )
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )


def _mutate_tree(node: Any, draw: st.DrawFn, depth: int = 0) -> Any:
    """``node`` with one change somewhere below it: a value replaced, an entry deleted, renamed,
    duplicated or added."""
    if isinstance(node, dict) and node and depth < 6 and draw(st.integers(0, 4)):
        key = draw(st.sampled_from(sorted(node)))
        action = draw(st.sampled_from(["descend", "descend", "replace", "delete", "rename", "add"]))
        if action == "descend":
            node[key] = _mutate_tree(node[key], draw, depth + 1)
        elif action == "replace":
            node[key] = draw(json_values())
        elif action == "delete":
            del node[key]
        elif action == "rename":
            node[draw(st.text(max_size=8))] = node.pop(key)
        else:
            node[draw(st.sampled_from([*sorted(node), "labels", "extra", "provenance"]))] = draw(
                json_values()
            )
        return node
    if isinstance(node, list) and node and depth < 6 and draw(st.integers(0, 4)):
        k = draw(st.integers(0, len(node) - 1))
        action = draw(st.sampled_from(["descend", "replace", "delete", "append", "dup"]))
        if action == "descend":
            node[k] = _mutate_tree(node[k], draw, depth + 1)
        elif action == "replace":
            node[k] = draw(json_values())
        elif action == "delete":
            del node[k]
        elif action == "append":
            node.append(draw(st.sampled_from([node[k], *JSON_SPECIALS])))
        else:
            node.extend(node[: draw(st.integers(1, 4))])
        return node
    return draw(json_values())


@st.composite
def json_mutations(draw: st.DrawFn, pool: tuple[bytes, ...]) -> bytes:
    """A parsed seed document with 1-4 tree edits, dumped back (NaN/Infinity allowed)."""
    docs = [json.loads(s.decode("utf-8-sig")) for s in pool]
    doc = copy.deepcopy(draw(st.sampled_from(docs)))
    for _ in range(draw(st.integers(1, 4))):
        doc = _mutate_tree(doc, draw)
    return json.dumps(doc, allow_nan=True).encode()


_NPZ_MEMBERS = ["linear", "row", "col", "quad", "offset", "vartype", "header", "provenance_block",
                "provenance_weight", "payload", "linear.npy"]  # fmt: skip
_DTYPES = ["<f8", "<f4", ">f8", "<f2", "<i8", "<i4", "<u8", "|u1", "|b1", "<c16", "<U4", "|S4",
           "<M8[s]", "O", "<f8,<i4"]  # fmt: skip


def _array(draw: st.DrawFn) -> np.ndarray[Any, Any]:
    dtype = np.dtype(draw(st.sampled_from(_DTYPES)))
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=2)))
    size = int(np.prod(shape)) if shape else 1
    if dtype.kind == "O":
        arr = np.empty(shape, dtype=object)
        for idx in np.ndindex(*shape):
            arr[idx] = draw(st.one_of(st.integers(), st.text(max_size=3)))
        return arr
    raw = draw(st.binary(min_size=size * dtype.itemsize, max_size=size * dtype.itemsize))
    return np.frombuffer(raw, dtype=dtype).reshape(shape)


@st.composite
def npz_structures(draw: st.DrawFn) -> bytes:
    """A zip of ``.npy`` members: the valid members of a seed, some replaced by arrays of random
    dtype and shape (object arrays included), and a header JSON with tree edits."""
    with zipfile.ZipFile(io.BytesIO(draw(st.sampled_from(seeds("qevo-npz"))))) as zf:
        members = {info.filename: zf.read(info) for info in zf.infolist()}
    if draw(st.booleans()):  # edit the seed's header JSON (a valid string array)
        header = np.lib.format.read_array(io.BytesIO(members["header.npy"])).item()
        doc = _mutate_tree(json.loads(header), draw)
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.asarray(json.dumps(doc, allow_nan=True)))
        members["header.npy"] = buf.getvalue()
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(_NPZ_MEMBERS))
        buf = io.BytesIO()
        np.lib.format.write_array(buf, _array(draw), allow_pickle=True)
        members[name if name.endswith(".npy") else f"{name}.npy"] = buf.getvalue()
    if draw(st.integers(0, 5)) == 0 and members:
        del members[draw(st.sampled_from(sorted(members)))]
    out = io.BytesIO()
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    with zipfile.ZipFile(out, "w", compression=method) as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return out.getvalue()


def file_bytes(fmt: str) -> st.SearchStrategy[bytes]:
    """Random bytes, byte mutations of the seeds, and structure-aware mutations."""
    pool = seeds(fmt)
    options = [st.binary(max_size=512), byte_mutations(pool)]
    if fmt in ("qevo-json", "dimod-json"):
        options += [json_mutations(pool), json_mutations(pool)]
    if fmt == "qevo-npz":
        options += [npz_structures(), npz_structures()]
    return st.one_of(options)


PIPELINE_TOKENS = [
    "sparsify", "precision", "fix", "gauge", "scale", "normalize", "components", "embed",
    "quantize", "nope", "rel", "abs", "topk", "bits", "device", "h_range", "j_range", "noise",
    "factor", "to", "seed", "roof", "topology", "m", "true", "false", "none", "(", ")", "[", "]",
    ",", "=", "|", "'", '"', "1e-3", "-1", "0", "1e999", "nan", "inf", "9" * 400, "2.5", "'abc'",
    "pegasus", "advantage", "\\", "\n", " ", "é", "\x00",
]  # fmt: skip


@st.composite
def pipeline_texts(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 3))
    if kind == 0:
        return draw(st.text(max_size=80))
    if kind == 1:
        return " ".join(draw(st.lists(st.sampled_from(PIPELINE_TOKENS), max_size=24)))
    text = list(draw(st.sampled_from(PIPELINE_SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["delete", "insert", "token"]))
        if op == "delete":
            del text[at : at + draw(st.integers(1, 5))]
        elif op == "insert":
            text[at:at] = draw(st.text(min_size=1, max_size=3))
        else:
            text[at:at] = draw(st.sampled_from(PIPELINE_TOKENS))
    return "".join(text)


# ----------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class Target:
    """A fuzz target: what it draws and the check it runs on each draw."""

    name: str
    strategy: Callable[[], st.SearchStrategy[Any]]
    check: Callable[[Any], None]


def _expect_typed(call: Callable[[], object]) -> None:
    try:
        with deadline():
            call()
    except QevoError:
        pass


def _format_target(fmt: str, ext: str) -> Target:
    def check(data: bytes) -> None:
        path = workdir() / f"input{ext}"
        path.write_bytes(data)
        kwargs: dict[str, Any] = {"format": fmt, "max_bytes": MAX_BYTES}
        if fmt == "coo":
            kwargs["vartype"] = "SPIN" if b"BINARY" not in data else None
        _expect_typed(lambda: read_hamiltonian(path, **kwargs))

    return Target(fmt, lambda: file_bytes(fmt), check)


_EXTENSIONS = ["", ".json", ".npz", ".bqm.json", ".coo", ".qubo", ".txt", ".JSON"]


def _detect_strategy() -> st.SearchStrategy[tuple[bytes, str]]:
    every = st.one_of([file_bytes(f) for f in ("qevo-json", "qevo-npz", "dimod-json", "coo",
                                               "qubo")])  # fmt: skip
    return st.tuples(every, st.sampled_from(_EXTENSIONS))


def _detect_check(data: tuple[bytes, str]) -> None:
    content, ext = data
    path = workdir() / f"detect{ext}"
    path.write_bytes(content)
    _expect_typed(lambda: detect_format(path, max_bytes=MAX_BYTES))
    _expect_typed(lambda: read_hamiltonian(path, max_bytes=MAX_BYTES))


def _pipeline_check(text: str) -> None:
    def parse_and_round_trip() -> None:
        pipe = parse_pipeline(text)
        # What parses prints back to a string that parses to the same pipeline.
        assert parse_pipeline(str(pipe)) == pipe, (text, str(pipe))

    _expect_typed(parse_and_round_trip)


@cache
def report_dir() -> Path:
    """A real compile output (``--target exact``) without the artifacts a verify worker would
    read, so a fuzzed report exercises the report reader and the sha256 pass only."""
    from qevo_ir.cli.main import main

    out = workdir() / "compiled"
    with open(workdir() / "compile.log", "w") as log:
        import contextlib

        with contextlib.redirect_stdout(log):
            code = main(["compile", str(CORPUS / "valid_n1.json"), "-o", str(out)])
    assert code == 0
    (out / "exact.json").unlink()
    return out


@cache
def report_seeds() -> tuple[bytes, ...]:
    real = (report_dir() / "report.json").read_bytes()
    return (real, (CORPUS / "report_wrong_sha.json").read_bytes())


def _report_strategy() -> st.SearchStrategy[bytes]:
    pool = report_seeds()
    return st.one_of(st.binary(max_size=256), byte_mutations(pool), json_mutations(pool),
                     json_mutations(pool))  # fmt: skip


def _report_check(data: bytes) -> None:
    from qevo_ir.verify import verify_directory

    out = report_dir()
    (out / "report.json").write_bytes(data)
    before = sorted(p.name for p in out.iterdir())
    _expect_typed(lambda: verify_directory(out))
    assert sorted(p.name for p in out.iterdir()) == before  # verify never writes


TARGETS: dict[str, Target] = {
    t.name: t
    for t in [
        _format_target("qevo-json", ".json"),
        _format_target("qevo-npz", ".npz"),
        _format_target("dimod-json", ".bqm.json"),
        _format_target("coo", ".coo"),
        _format_target("qubo", ".qubo"),
        Target("detect", _detect_strategy, _detect_check),
        Target("pipeline", pipeline_texts, _pipeline_check),
        Target("verify-report", _report_strategy, _report_check),
    ]
}


def run_target(target: Target, max_examples: int, *, derandomize: bool) -> int:
    """Run ``target`` for ``max_examples`` draws; returns how many checks ran. A failure raises
    the (shrunk) exception, as Hypothesis does."""
    calls = 0

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
    )
    @given(target.strategy())
    def run(data: Any) -> None:
        nonlocal calls
        calls += 1
        target.check(data)

    run()
    return calls


# ----------------------------------------------------------------------------- smoke run (CI)
@pytest.mark.parametrize("name", sorted(TARGETS))
def test_fuzz_smoke(name: str) -> None:
    """A few seconds per target on every commit (more under a larger Hypothesis profile, e.g.
    ``HYPOTHESIS_PROFILE=thorough``); ``scripts/fuzz_long.py`` is the long run."""
    profile = settings.default
    examples = max(SMOKE_EXAMPLES, profile.max_examples)
    assert run_target(TARGETS[name], examples, derandomize=profile.derandomize) >= examples


def _spin_forever() -> None:
    while True:
        pass


def test_deadline_catches_a_hang() -> None:
    """The hang detector itself: a reader stuck in a loop is a failure, not a pass."""
    with pytest.raises(Hang), deadline(0.2):
        _spin_forever()


def test_seeds_are_valid() -> None:
    """The seeds load, so mutations start from files that reach deep into each reader."""
    for fmt, ext in (("qevo-json", ".json"), ("qevo-npz", ".npz"), ("dimod-json", ".bqm.json"),
                     ("coo", ".coo"), ("qubo", ".qubo")):  # fmt: skip
        for k, data in enumerate(seeds(fmt)):
            path = workdir() / f"seed{k}{ext}"
            path.write_bytes(data)
            assert read_hamiltonian(path, format=fmt).num_variables >= 0
    for text in PIPELINE_SEEDS:
        parse_pipeline(text)
