"""Malformed and hostile inputs: every one is a FormatError whose message starts with the path,
raised before anything large is allocated."""

from __future__ import annotations

import json
import struct
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qevo_ir.errors import FormatError, LimitExceeded
from qevo_ir.formats import FileTooLarge, read_hamiltonian, write_hamiltonian
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.vartypes import SPIN

GOLDEN = Path(__file__).parent / "golden"


def small() -> Hamiltonian:
    return Hamiltonian.from_ising({"a": 1.0, "b": -0.5}, {("a", "b"): 2.0, ("b", "c"): -1.0}, 0.5)


def qevo_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((GOLDEN / "v1.qevo.json").read_text())
    return doc


def dimod_doc() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((GOLDEN / "dimod_bqm_v3.json").read_text())
    return doc


def expect(path: Path, match: str, **kwargs: Any) -> FormatError:
    with pytest.raises(FormatError, match=match) as info:
        read_hamiltonian(path, **kwargs)
    assert str(info.value).startswith(f"{path}: "), str(info.value)
    return info.value


def put(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    return path


# ----------------------------------------------------------------------------- any file
def test_missing_empty_directory_and_garbage(tmp_path: Path) -> None:
    expect(tmp_path / "absent.json", "cannot read")
    expect(put(tmp_path, "empty.json", ""), "empty")
    expect(put(tmp_path, "blank.coo", "  \n\n"), "empty")
    expect(tmp_path, "directory")
    expect(put(tmp_path, "garbage.bin", bytes(range(256)) * 4), "binary data")
    expect(put(tmp_path, "latin1.coo", "# vartype=SPIN\n0 1 1.0 \xe9\n".encode("latin-1")),
           "UTF-8")  # fmt: skip
    expect(put(tmp_path, "prose.txt", "hello world\n"), "cannot tell the format")


def test_size_limit_is_checked_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    write_hamiltonian(small(), path)
    err = expect(path, "limit", max_bytes=100)
    assert isinstance(err, FileTooLarge)
    assert isinstance(err, LimitExceeded)
    npz = tmp_path / "m.npz"
    write_hamiltonian(small(), npz)
    expect(npz, "limit", max_bytes=1000)


# ----------------------------------------------------------------------------- qevo JSON
@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.update(version=2), "version 2 is not supported"),
        (lambda d: d.update(version="1"), "version must be an integer"),
        (lambda d: d.pop("linear"), "missing key 'linear'"),
        (lambda d: d.update(extra=1), "unknown key 'extra'"),
        (lambda d: d.update(vartype="ISING"), "vartype must be"),
        (lambda d: d.update(num_variables=10**9), "linear has 4 entries, expected 1000000000"),
        (lambda d: d.update(num_variables=True), "num_variables must be an integer"),
        (lambda d: d["linear"].__setitem__(1, "2.5"), r"linear\[1\] must be a number"),
        (lambda d: d["linear"].__setitem__(1, True), r"linear\[1\] must be a number"),
        (
            lambda d: d["quadratic"]["row"].__setitem__(3, 7),
            r"quadratic.row\[3\] = 7 is out of range for 4 variables",
        ),
        (lambda d: d["quadratic"]["col"].__setitem__(0, -1), r"quadratic.col\[0\] = -1"),
        (lambda d: d["quadratic"]["col"].__setitem__(0, 0), "with itself"),
        (lambda d: d["quadratic"]["col"].pop(), "quadratic.col has 3 entries, expected 4"),
        (lambda d: d["quadratic"]["bias"].append(1.0), "quadratic.bias has 5 entries"),
        (lambda d: d["quadratic"].update(row=[0, 1, 1, 0], col=[1, 2, 2, 3]), "repeats the pair"),
        (lambda d: d["quadratic"].pop("bias"), "exactly the keys"),
        (lambda d: d.update(offset=None), "offset must be a number"),
        (lambda d: d["labels"].__setitem__(1, "a"), "duplicate variable label"),
        (lambda d: d["labels"].__setitem__(1, 1.5), "float labels are refused"),
        (lambda d: d["labels"].__setitem__(1, True), "bool labels are refused"),
        (lambda d: d["labels"].__setitem__(1, None), "not accepted"),
        (lambda d: d["labels"].pop(), "labels has 3 entries"),
        (lambda d: d["provenance"].pop("weight"), "provenance is missing 'weight'"),
        (lambda d: d["provenance"]["parameter"].__setitem__(0, 9), "has no base value"),
        (lambda d: d["provenance"]["parameter"].__setitem__(0, -4), "use -1"),
        (lambda d: d.update(metadata={"k": 1}), r"metadata\['k'\] must be a string"),
        (lambda d: d.update(format="other"), "not a qevo-ir document"),
    ],
)
def test_qevo_json_malformed(tmp_path: Path, mutate: Any, match: str) -> None:
    doc = qevo_doc()
    mutate(doc)
    expect(put(tmp_path, "model.json", json.dumps(doc)), match, format="qevo-json")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ('{"format": "qevo-ir", "version": 1, "offset": NaN', "NaN"),
        ('{"format": "qevo-ir", "version": 1, "offset": -Infinity}', "Infinity"),
        ('{"format": "qevo-ir", "version": 1, "offset": 1e999}', "overflows"),
        ('{"format": "qevo-ir", "format": "qevo-ir"}', "duplicate key 'format'"),
        ('{"format": "qevo-ir", "version": 1,', "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (
            '{"format": "qevo-ir", "version": 1, "offset": ' + "9" * 5000 + "}",
            "an integer of 5000 digits",
        ),
        ("[1, 2]", "neither a qevo-ir document"),
    ],
)
def test_json_syntax_errors(tmp_path: Path, text: str, match: str) -> None:
    expect(put(tmp_path, "model.json", text), match)


def test_truncated_json_at_every_cut(tmp_path: Path) -> None:
    data = (GOLDEN / "v1.qevo.json").read_bytes()
    for cut in range(1, len(data) - 2, 7):
        path = put(tmp_path, "cut.json", data[:cut])
        with pytest.raises(FormatError, match=f"^{path}: "):
            read_hamiltonian(path)


# ----------------------------------------------------------------------------- qevo npz
def forge_npz(path: Path, arrays: dict[str, bytes | np.ndarray[Any, Any]]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, arr in arrays.items():
            with zf.open(f"{name}.npy", "w") as out:
                if isinstance(arr, bytes):
                    out.write(arr)
                else:
                    np.lib.format.write_array(out, arr, allow_pickle=False)
    return path


def npz_arrays(tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "src.npz"
    write_hamiltonian(small(), path)
    with np.load(path, allow_pickle=False) as npz:  # noqa: TID251 (reviewed reader)
        return {k: npz[k] for k in npz.files}


def test_npz_declaring_a_billion_variables_fails_fast(tmp_path: Path) -> None:
    arrays = npz_arrays(tmp_path)
    # A .npy header claiming 10^9 float64 entries, followed by only a few bytes of data.
    header = {"descr": "<f8", "fortran_order": False, "shape": (10**9,)}
    buf = _npy_header_bytes(header) + b"\0" * 16
    arrays["linear"] = buf
    expect(forge_npz(tmp_path / "huge.npz", arrays), "declares shape")


_OBJECT_HEADER = {"descr": "|O", "fortran_order": False, "shape": (3,)}


def _npy_header_bytes(header: dict[str, Any]) -> bytes:
    import io

    fp = io.BytesIO()
    np.lib.format.write_array_header_1_0(fp, header)
    return fp.getvalue()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda a: a.pop("quad"), r"missing array quad.npy"),
        (lambda a: a.update(extra=np.zeros(2)), "unexpected archive member 'extra.npy'"),
        (lambda a: a.update(linear=_npy_header_bytes(_OBJECT_HEADER) + b"\0" * 24), "refused"),
        (lambda a: a.update(linear=np.zeros((3, 1))), "expected a 1-d array"),
        (lambda a: a.update(linear=np.zeros(3, dtype="<U3")), "not floating-point"),
        (lambda a: a.update(row=np.array([0.0, 1.0])), "not integer"),
        (lambda a: a.update(row=np.array([0, 5])), r"row.npy\[1\] = 5 is out of range"),
        (lambda a: a.update(row=np.array([-1, 1])), r"row.npy\[0\] = -1"),
        (lambda a: a.update(col=np.array([1, 2, 2])), "col.npy has 3 entries, row.npy has 2"),
        (lambda a: a.update(col=np.array([0, 2])), "with itself"),
        (lambda a: a.update(quad=np.array([1.0, np.nan])), r"quad.npy\[1\] = nan is not finite"),
        (lambda a: a.update(offset=np.array(np.inf)), "not finite"),
        (lambda a: a.update(vartype=np.array("QUBO")), "vartype.npy must be"),
        (lambda a: a.update(linear=np.zeros(5)), "num_variables = 3, linear.npy has 5"),
        (
            lambda a: a.update(header=np.array('{"format": "qevo-ir", "version": 7}')),
            "version 7 is not supported",
        ),
        (lambda a: a.update(header=np.array("{not json")), "not valid JSON"),
        (lambda a: a.update(linear=b"\x93NUMPY garbage"), "version .* is not supported"),
        (lambda a: a.update(linear=b"plain bytes"), "not a valid .npy"),
    ],
)
def test_npz_malformed(tmp_path: Path, change: Any, match: str) -> None:
    arrays = npz_arrays(tmp_path)
    change(arrays)
    expect(forge_npz(tmp_path / "bad.npz", arrays), match)


def test_npz_zip_bomb_is_refused_by_declared_size(tmp_path: Path) -> None:
    arrays = npz_arrays(tmp_path)
    arrays["linear"] = np.zeros(2_000_000)  # 16 MB of zeros deflates to a few KB
    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, arr in arrays.items():
            with zf.open(f"{name}.npy", "w") as out:
                np.lib.format.write_array(out, arr, allow_pickle=False)
    assert path.stat().st_size < 100_000
    expect(path, "unpack to", max_bytes=1_000_000)


def test_truncated_and_corrupted_npz(tmp_path: Path) -> None:
    data = (GOLDEN / "v1.qevo.npz").read_bytes()
    for cut in (10, 100, len(data) // 2, len(data) - 10):
        expect(put(tmp_path, "cut.npz", data[:cut]), "not a readable .npz archive")
    # Flip a byte inside the stored linear array: the zip CRC catches it.
    k = data.index(b"\x93NUMPY", data.index(b"linear.npy")) + 128 + 3
    corrupted = data[:k] + bytes([data[k] ^ 0xFF]) + data[k + 1 :]
    expect(put(tmp_path, "crc.npz", corrupted), "damaged or unsupported .*Bad CRC-32")


def test_single_npy_is_not_an_archive(tmp_path: Path) -> None:
    path = tmp_path / "x.npz"
    np.save(tmp_path / "x.npy", np.zeros(3))
    (tmp_path / "x.npy").rename(path)
    expect(path, "binary data that is not a known format")


# ----------------------------------------------------------------------------- dimod JSON
@pytest.mark.parametrize(
    ("mutate", "match"),
    [
        (lambda d: d.update(quadratic_head=[0, 2**31]), r"quadratic_head\[1\] = 2147483648"),
        (lambda d: d.update(quadratic_head=[0, 2**64]), r"quadratic_head\[1\]"),
        (lambda d: d.update(quadratic_tail=[-1, 2]), r"quadratic_tail\[0\] = -1"),
        (lambda d: d.update(quadratic_tail=[2]), "quadratic_tail has 1 entries, expected 2"),
        (lambda d: d.update(linear_biases=[1.0]), "linear_biases has 1 entries, expected 3"),
        (lambda d: d.update(version={"bqm_schema": "2.0.0"}), "bqm_schema '2.0.0'"),
        (lambda d: d.pop("version"), "bqm_schema"),
        (lambda d: d.pop("offset"), "missing key 'offset'"),
        (lambda d: d.update(variable_type="INTEGER"), "variable_type must be"),
        (lambda d: d.update(variable_labels=["p", "p", "r"]), "duplicate variable label 'p'"),
        (lambda d: d.update(variable_labels=["p", 1.0, "r"]), "float labels are refused"),
        (lambda d: d.update(num_variables=5), "num_variables = 5"),
        (lambda d: d.update(num_interactions=1), "num_interactions = 1"),
        (lambda d: d.update(use_bytes=True), "quadratic_head: use_bytes is true but"),
        (lambda d: d.update(use_bytes=True, linear_biases=[1, 2]), "not bytes"),
        (lambda d: d.update(use_bytes="yes"), "use_bytes must be"),
        (lambda d: d.update(type="DiscreteQuadraticModel"), "not a dimod BQM"),
    ],
)
def test_dimod_json_malformed(tmp_path: Path, mutate: Any, match: str) -> None:
    doc = dimod_doc()
    mutate(doc)
    expect(put(tmp_path, "bqm.bqm.json", json.dumps(doc)), match)


def test_dimod_use_bytes_indices_checked(tmp_path: Path) -> None:
    import base64

    doc = dimod_doc()

    def b64(arr: np.ndarray[Any, Any]) -> str:
        return base64.b64encode(arr.tobytes()).decode()

    doc.update(
        use_bytes=True, index_type="int32", bias_type="float64",
        linear_biases=b64(np.zeros(3)), quadratic_biases=b64(np.ones(2)),
        quadratic_head=b64(np.array([0, 1], dtype=np.int32)),
        quadratic_tail=b64(np.array([2, 2**31 - 1], dtype=np.int32)),
    )  # fmt: skip
    expect(put(tmp_path, "b.bqm.json", json.dumps(doc)), r"quadratic_tail\[1\] = 2147483647")
    doc["index_type"] = "object"
    expect(put(tmp_path, "b.bqm.json", json.dumps(doc)), "index_type")
    doc.update(index_type="int32", quadratic_head=b64(np.array([0], dtype=np.int64))[:-4])
    expect(put(tmp_path, "b.bqm.json", json.dumps(doc)), "quadratic_head")


# ----------------------------------------------------------------------------- COO
@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("# vartype=SPIN\n0 1 1.0\n1 2 nan\n", r"line 3: cannot parse '1 2 nan'"),
        ("# vartype=SPIN\n0 1 inf\n", "line 2: cannot parse"),
        ("# vartype=SPIN\n0 1 1e999\n", "line 2: the value overflows"),
        ("# vartype=SPIN\n0 1\n", "line 2: cannot parse"),
        ("# vartype=SPIN\n0 1 2 3\n", "line 2: cannot parse"),
        ("# vartype=SPIN\n-1 0 2\n", "line 2: cannot parse"),
        ("# vartype=SPIN\n0 1.5 2\n", "line 2: cannot parse"),
        ("# vartype=SPIN\n\n0 1 0x10\n", "line 3: cannot parse"),
        ("# vartype=SPIN\n0 4294967296 1.0\n", "line 2: index 4294967296 is over the limit"),
        ("# vartype=SPIN\n0 2147483000 1.0\n", "over the 2147483648-byte limit|limit"),
        ("0 1 1.0\n", "no '# vartype=SPIN'"),
        ("# vartype=SPIN\n# vartype=BINARY\n0 1 1.0\n", "both"),
        ("# vartype=ISING\n0 1 1.0\n", "expected SPIN or BINARY"),
        ("# vartype=SPIN\n# num_variables=2\n0 5 1.0\n", "line 3: index 5 is out of range"),
        ("# vartype=SPIN\n# num_variables=1000000000\n", "limit"),
        ("# vartype=SPIN\n# num_variables=-3\n", "not a count"),
        ("# vartype=SPIN\n# offset=abc\n", "cannot parse 'abc'"),
        ("# vartype=SPIN\n# offset=1\n# offset=2\n", "different values"),
        ("# vartype=SPIN\n0 1 ٣\n", "cannot parse"),
    ],
)
def test_coo_malformed(tmp_path: Path, text: str, match: str) -> None:
    expect(put(tmp_path, "m.coo", text), match, format="coo")


def test_coo_accepts_what_dimod_would_skip(tmp_path: Path) -> None:
    path = put(tmp_path, "m.coo", "# vartype=BINARY\r\n0 0 1e-3\r\n0 1 -.5\t\r\n  1 1 +2.\r\n")
    ham = read_hamiltonian(path)
    assert ham.linear.tolist() == [1e-3, 2.0]
    assert ham.quad.tolist() == [-0.5]
    assert read_hamiltonian(put(tmp_path, "v.coo", "0 1 1\n"), vartype="SPIN").vartype is SPIN
    expect(put(tmp_path, "w.coo", "# vartype=BINARY\n0 1 1\n"), "but SPIN", vartype="SPIN")


def test_coo_pathological_whitespace_is_fast(tmp_path: Path) -> None:
    # An unambiguous grammar: a long hostile line costs linear time, not quadratic.
    line = "0" + " " * 200_000 + "1" + " " * 200_000 + "x"
    expect(put(tmp_path, "ws.coo", "# vartype=SPIN\n" + line + "\n"), "line 2")


# ----------------------------------------------------------------------------- qbsolv
@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("c no program\n0 0 1.0\n", "no 'p qubo"),
        ("p qubo 0 2 1 0\np qubo 0 2 1 0\n0 0 1\n", "line 2: a second program line"),
        ("p qubo 0 2 one 0\n", "line 1: expected 'p qubo"),
        ("p ising 0 2 1 0\n", "line 1: expected 'p qubo"),
        ("0 0 1\np qubo 0 2 1 0\n", "line 1: a data line before"),
        ("p qubo 0 2 2 0\n0 0 1\n", "declares 2 diagonal and 0 coupler lines, the file has 1"),
        ("p qubo 0 2 1 1\n0 0 1\n", "has 1 and 0"),
        ("p qubo 0 2 1 0\n0 5 1\n", "maxNodes"),
        ("p qubo 0 2 1 0\n5 5 1\n", "line 2: index 5 is out of range for maxNodes = 2"),
        ("p qubo 0 3 2 0\n1 1 1\n1 1 2\n", "line 3: a second diagonal entry for node 1"),
        ("p qubo 0 3 0 2\n0 1 1\n1 0 2\n", "line 3: a second coupler between nodes 1 and 0"),
        ("p qubo 0 2 3 0\n", "nNodes = 3 exceeds maxNodes = 2"),
        ("p qubo 0 3 0 4\n", "nCouplers = 4 exceeds"),
        ("p qubo 0 2000000000 0 0\n", "limit"),
        ("p qubo 0 9999999999 0 0\n", "over the limit"),
        ("c offset 1\nc offset 2\np qubo 0 1 0 0\n", "different values"),
        ("c offset nan\np qubo 0 1 0 0\n", "cannot parse 'nan'"),
        ("p qubo 0 2 1 0\n0 0 1\ncomment without space\n", "line 3: cannot parse"),
        ("p qubo 0 2 1 0\n0 0 NaN\n", "line 2: cannot parse"),
    ],
)
def test_qubo_malformed(tmp_path: Path, text: str, match: str) -> None:
    expect(put(tmp_path, "m.qubo", text), match, format="qubo")


def test_qubo_is_binary_only(tmp_path: Path) -> None:
    path = put(tmp_path, "m.qubo", "c offset 0.5\np qubo 0 2 1 1\n0 0 1.0\n0 1 -2\n")
    ham = read_hamiltonian(path)
    assert ham.offset == 0.5
    assert ham.linear.tolist() == [1.0, 0.0]
    expect(path, "holds a BINARY Hamiltonian, but SPIN was requested", vartype="SPIN")


# ----------------------------------------------------------------------------- fuzz
def _valid_files() -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(GOLDEN.iterdir())]


@settings(max_examples=150, deadline=None)
@given(
    case=st.sampled_from(_valid_files()),
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.one_of(st.none(), st.floats(0, 1)),
)
def test_mutated_files_read_or_fail_cleanly(
    case: tuple[str, bytes], edits: list[tuple[float, int]], cut: float | None
) -> None:
    name, data = case
    buf = bytearray(data)
    for where, value in edits:
        buf[min(int(where * len(buf)), len(buf) - 1)] = value
    if cut is not None:
        buf = buf[: int(cut * len(buf))]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(bytes(buf))
        message = None
        try:
            ham = read_hamiltonian(path)
        except FormatError as exc:
            message = str(exc)
        if message is not None:
            assert message.startswith(f"{path}: ")
        else:
            assert isinstance(ham, Hamiltonian)
            assert np.isfinite(ham.linear).all()
            assert np.isfinite(ham.quad).all()


def test_forged_member_size_is_refused(tmp_path: Path) -> None:
    # A zip whose central directory claims an absurd member size is refused, not trusted.
    path = tmp_path / "m.npz"
    write_hamiltonian(small(), path)
    data = bytearray(path.read_bytes())
    cd = data.rindex(b"PK\x01\x02")  # last central directory entry (the header member)
    data[cd + 24 : cd + 28] = struct.pack("<I", 0xFFFFFFF0)  # uncompressed size
    expect(
        put(tmp_path, "forged.npz", bytes(data)),
        r"members unpack to \d+ bytes, over the \d+-byte limit",
    )
