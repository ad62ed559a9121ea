"""Issue 15, parts 3 to 7: memory budgeted before it is spent, hash-flood-safe labels, text readers
that agree with dimod, numbers that stay honest, and no internal errors (typed API errors, one
line and exit 2 on the CLI). One test per finding of the hostile campaign (quoted).
"""

from __future__ import annotations

import io
import json
import os
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

import qevo_ir
from qevo_ir import Hamiltonian
from qevo_ir.budget import parse_size, using_memory_budget
from qevo_ir.errors import LabelError, LimitExceeded, PipelineError, QevoError, ValidationError
from qevo_ir.formats import read_hamiltonian, write_hamiltonian
from qevo_ir.passes import Pipeline
from qevo_ir.variables import VariableTable

SMALL = "# vartype=SPIN\n0 0 1.0\n0 1 -1.5\n1 2 0.5\n2 2 -0.25\n"


@pytest.fixture
def small(tmp_path: Path) -> Path:
    p = tmp_path / "p.coo"
    p.write_text(SMALL)
    return p


# ----------------------------------------------------------------------------- 3. budgets
def test_qbsolv_header_declaring_5e7_variables_is_refused_by_the_budget(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """Finding: a 22-byte qbsolv header declaring 5·10⁷ variables made convert take 2.7 GB."""
    src = tmp_path / "big.qubo"
    src.write_text("p qubo 0 50000000 0 0\n")
    res = cli("--max-memory", "1G", "convert", src, tmp_path / "out.json")
    res.assert_one_line_error("50000000 variables", "budget")
    assert res.seconds < 5
    assert not (tmp_path / "out.json").exists()


def test_npz_declared_shapes_are_budgeted_before_inflating(tmp_path: Path) -> None:
    """Finding: a 2 MB deflated npz asked for over 2.4 GB."""
    path = tmp_path / "zeros.npz"
    write_hamiltonian(Hamiltonian(np.zeros(200_000), vartype="SPIN"), path)
    with using_memory_budget("4M"), pytest.raises(LimitExceeded, match="budget"):
        read_hamiltonian(path)
    assert read_hamiltonian(path).num_variables == 200_000  # within the default budget


def test_large_json_is_refused_by_size_before_parsing(tmp_path: Path) -> None:
    """Finding: a 100 MB JSON needed 1.2 GB and 19 s, and a duplicate key at its end was found
    only after 15.8 s. JSON is capped at min(128 MiB, budget/16) before it is parsed."""
    doc = '{"format": "qevo-ir", "pad": "' + "x" * (3 << 20) + '", "format": 1}'
    path = tmp_path / "big.json"
    path.write_text(doc)
    start = time.perf_counter()
    with using_memory_budget("32M"), pytest.raises(LimitExceeded, match="JSON document"):
        read_hamiltonian(path)
    assert time.perf_counter() - start < 2
    with pytest.raises(QevoError, match="duplicate key"):  # within the cap: found
        read_hamiltonian(path)


def test_layers_are_bounded_before_qiskit_sees_them(small: Path, cli: Callable[..., Any]) -> None:
    """Finding: ``--layers 10⁷`` aborted the interpreter inside Qiskit (SIGABRT)."""
    pytest.importorskip("qiskit")
    res = cli(
        "compile", small, "--target", "qiskit", "-o", small.parent / "o", "--layers", "10000000"
    )
    res.assert_one_line_error("10000000 layers", "budget")
    assert res.seconds < 5


def test_huge_embedding_target_is_refused_at_once() -> None:
    """Finding: ``embed(topology=zephyr, m=64, t=16)`` took 3.5 GB and ended in a traceback."""
    from qevo_ir.passes.embed import target_graph

    start = time.perf_counter()
    with pytest.raises(LimitExceeded, match=r"zephyr\(m=64, t=16\).*couplers"):
        target_graph("zephyr", 64, 16)
    assert time.perf_counter() - start < 1


def test_fifo_input_is_refused_without_blocking(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """Finding: a FIFO as input blocked forever (a FIFO made here, never a real device)."""
    fifo = tmp_path / "in.json"
    os.mkfifo(fifo)
    for argv in (("inspect", fifo), ("inspect", fifo, "--format", "qevo-npz")):
        res = cli(*argv)
        res.assert_one_line_error("FIFO")
        assert res.seconds < 5


def test_parse_size() -> None:
    assert parse_size("512M") == 512 << 20
    assert parse_size("1.5GiB") == 3 << 29
    assert parse_size(1000) == 1000
    for bad in ("12Q", "-1", True, 0):
        with pytest.raises(ValidationError):
            parse_size(bad)


# ----------------------------------------------------------------------------- 4. hash flood
def test_colliding_integer_labels_are_refused_fast(tmp_path: Path) -> None:
    """Finding: integer labels with equal ``hash()`` made loading quadratic (2.4 MB file: 107 s).
    Python hashes ints modulo 2**61 - 1; labels must fit int64, where at most 8 share a hash."""
    p = 2**61 - 1
    n = 100_000
    doc = {
        "format": "qevo-ir",
        "version": 1,
        "vartype": "SPIN",
        "num_variables": n,
        "linear": [0.0] * n,
        "quadratic": {"row": [], "col": [], "bias": []},
        "offset": 0.0,
        "labels": [1 + k * p for k in range(n)],
    }
    path = tmp_path / "flood.json"
    path.write_text(json.dumps(doc))
    start = time.perf_counter()
    with pytest.raises(QevoError, match="64-bit"):
        read_hamiltonian(path)
    assert time.perf_counter() - start < 5
    # The worst case that is accepted: classes of 8 equal hashes within int64, linear time.
    labels = [r + k * p for r in range(n // 8) for k in range(-4, 4)]
    start = time.perf_counter()
    assert len(VariableTable(labels)) == len(labels)
    assert time.perf_counter() - start < 5


def test_lone_surrogate_labels_are_refused(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """Finding: lone-surrogate labels gave ``internal error`` after partial stdout, or left an
    empty OUTDIR."""
    with pytest.raises(LabelError, match="surrogate"):
        VariableTable(["a\udc80"])
    path = tmp_path / "s.json"
    path.write_text(
        '{"format": "qevo-ir", "version": 1, "vartype": "SPIN", "num_variables": 1, '
        '"linear": [1.0], "quadratic": {"row": [], "col": [], "bias": []}, "offset": 0.0, '
        '"labels": ["\\udc80"]}'
    )
    res = cli("compile", path, "--target", "exact", "-o", tmp_path / "out")
    res.assert_one_line_error("surrogate")
    assert res.out == ""
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- 5. text readers
@pytest.mark.parametrize(
    "text",
    [
        "# vartype=SPIN\n# note\r0 1 1.0\n1 2 2.0\r2 3 3.0\n",  # bare CR ends a comment line
        "0 1 1.0\r1 2 2.0\r2 3 -1.5\r",  # CR-only file
        "0 1 1.0\r\n1 2 2.0\r\n# c\r\n2 3 -1.5\r\n",  # CRLF
    ],
)
def test_coo_line_ends_agree_with_dimod(tmp_path: Path, text: str) -> None:
    """Finding: a bare CR inside a comment hid the lines after it (1 coupling read where dimod
    reads 3); a CR-only file read as 0 variables."""
    coo = pytest.importorskip("dimod.serialization.coo")
    path = tmp_path / "p.coo"
    path.write_bytes(text.encode())
    with open(path, encoding="utf-8") as fh:
        want = coo.load(fh, vartype="SPIN")
    got = read_hamiltonian(path, vartype="SPIN")
    assert got.num_interactions == len(want.quadratic) == 3
    want_pairs = {frozenset((int(u), int(v))): b for (u, v), b in want.quadratic.items()}
    got_pairs = {frozenset((int(u), int(v))): b for (u, v), b in got.to_dicts()[1].items()}  # type: ignore[call-overload]
    assert got_pairs == want_pairs


def test_qbsolv_comment_with_bare_cr(tmp_path: Path) -> None:
    path = tmp_path / "p.qubo"
    path.write_bytes(b"c note\r0 0 1.0\np qubo 0 2 1 1\n0 0 1.0\n0 1 2.0\n")
    with pytest.raises(QevoError, match="line 2: a data line before"):
        read_hamiltonian(path)  # the CR ends the comment: the data line is visible (and early)
    path.write_bytes(b"c note\rc more\rp qubo 0 2 1 1\r0 0 1.0\r0 1 2.0\r")
    ham = read_hamiltonian(path)
    assert ham.num_interactions == 1
    assert ham.linear.tolist() == [1.0, 0.0]


def test_leading_whitespace_in_json(tmp_path: Path, small: Path) -> None:
    ham = read_hamiltonian(small)
    for suffix in (".json", ".bqm.json"):
        path = tmp_path / f"p{suffix}"
        write_hamiltonian(ham, path)
        padded = tmp_path / f"padded{suffix}"
        padded.write_text(" \r\n\t" * 5000 + path.read_text())  # past the sniffed head too
        assert read_hamiltonian(padded) == read_hamiltonian(path)


# ----------------------------------------------------------------------------- 6. numbers
def test_duplicate_couplings_that_overflow_are_refused_naming_the_terms(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """Finding: two duplicate couplings of 1e308 summed to inf and were accepted (inspect
    showed inf; convert crashed)."""
    path = tmp_path / "inf.coo"
    path.write_text("# vartype=SPIN\n0 1 1e308\n1 0 1e308\n")
    cli("inspect", path).assert_one_line_error("(0, 1)", "1e+308, 1e+308", "overflow")
    with pytest.raises(ValidationError, match=r"pair \(0, 1\) sum to inf"):
        Hamiltonian.from_ising({}, {(0, 1): 1e308, (1, 0): 1e308})


def test_scaling_into_subnormals_is_not_called_exact() -> None:
    """Finding: ``normalize(to=5e-324)`` reported ``exact: true, bound 0`` while energies moved
    by 1.375 and the ground state changed."""
    ham = Hamiltonian.from_ising({0: 1.0, 1: -0.375}, {(0, 1): 0.5})
    for text in ("normalize(to=5e-324)", "scale(factor=1e-310)"):
        with pytest.raises(ValidationError, match="smallest normal"):
            Pipeline.parse(text).run(ham)
    exact = Pipeline.parse("normalize(to=0.5)").run(ham)
    assert exact.exact
    assert exact.records[0].details["bit_exact"] is True
    # a subnormal input times a power of two is exact, and accepted
    tiny = Hamiltonian([1e-310, 1.0], vartype="SPIN")
    assert Pipeline.parse("scale(factor=0.5)").run(tiny).ir.linear[0] == 5e-311


def test_precision_on_zero_and_tiny_problems() -> None:
    """Findings of the randomized property run: precision raised on the zero Hamiltonian
    (scale factor inf) and overflowed on one variable with a tiny field."""
    zero = Pipeline.parse("precision").run(Hamiltonian([0.0, 0.0], vartype="SPIN"))
    assert zero.records[0].details["alpha"] == 1.0
    assert zero.total_energy_bound == 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny = Pipeline.parse("precision").run(Hamiltonian([5e-324], vartype="SPIN"))
    assert np.isfinite(tiny.records[0].details["alpha"])
    assert tiny.total_energy_bound == pytest.approx(5e-324)


# ------------------------------------------------------------------------ 7. no internal errors
@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (
            ("compile", "{src}", "--pipeline", "scale(factor=" + "9" * 4300 + ")", "-o", "{out}"),
            "digits",
        ),
        (("solve", "{src}", "--backend", "qaoa", "--shots", "0"), "shots"),
        (("solve", "{src}", "--backend", "qaoa", "--shots", "-1"), "shots"),
        (("solve", "{src}", "--backend", "qaoa", "--seed", "-1"), "seed"),
        # a fresh campaign (2026-12-04): 1e20 shots was an internal error, 1e12 SA reads hung
        (("solve", "{src}", "--backend", "qaoa", "--shots", str(10**20)), "shots"),
        (("solve", "{src}", "--backend", "sa", "--num-reads", str(10**12)), "num_reads"),
        (
            (
                "compile",
                "{src}",
                "--target",
                "qiskit",
                "--gammas",
                "1e308",
                "--betas",
                "0.1",
                "-o",
                "{out}",
            ),
            "gammas",
        ),
    ],
)
def test_cli_exits_2_with_one_line(
    small: Path, cli: Callable[..., Any], argv: tuple[str, ...], needle: str
) -> None:
    """Findings: ``internal error`` for a 4,300-digit integer in a pipeline, ``--gammas 1e308``,
    ``--shots 0``, ``--shots -1``, ``--seed -1``."""
    if "qiskit" in argv:
        pytest.importorskip("qiskit")
    out = small.parent / "out"
    args = [a.format(src=small, out=out) for a in argv]
    res = cli(*args)
    res.assert_one_line_error(needle)
    assert not out.exists()


def test_warnings_are_one_line(
    small: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding: numpy warnings made stderr several lines."""
    from qevo_ir.cli.commands import inspect_cmd

    real = inspect_cmd.run

    def noisy(args: Any) -> int:
        with np.errstate(over="warn"):
            np.float64(1e308) * 10
        return int(real(args) or 0)

    monkeypatch.setattr(inspect_cmd, "run", noisy)
    res = cli("inspect", small)
    assert res.code == 0
    lines = res.err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("qevo: warning: RuntimeWarning: overflow")


def _untyped(value: Any) -> Any:
    """A value of the wrong type on purpose (what an untyped caller passes)."""
    return value


@pytest.mark.parametrize(
    ("call", "error", "builtin"),
    [
        (lambda: Hamiltonian.from_ising(_untyped({0: "1.0"}), {}), ValidationError, ValueError),
        (lambda: Hamiltonian.from_ising(_untyped({0: 1 + 2j}), {}), ValidationError, ValueError),
        (lambda: Hamiltonian(["1.0"], vartype="SPIN"), ValidationError, ValueError),
        (
            lambda: Hamiltonian([0.0, 0.0], [0], [10**12], [1.0], vartype="SPIN"),
            ValidationError,
            ValueError,
        ),
        (lambda: Hamiltonian.from_qubo(sp.coo_matrix((2**31, 2**31))), LimitExceeded, ValueError),
        (
            lambda: qevo_ir.compile(Hamiltonian([1.0], vartype="SPIN"), "scale(factor=((("),
            PipelineError,
            ValueError,
        ),
        (
            lambda: qevo_ir.compile(Hamiltonian([1.0], vartype="SPIN"), "", target=_untyped(5)),
            ValidationError,
            ValueError,
        ),
        (
            lambda: qevo_ir.solve(Hamiltonian([1.0], vartype="SPIN"), "qaoa", layers=-1),
            ValidationError,
            ValueError,
        ),
        (
            lambda: qevo_ir.solve(
                Hamiltonian([1.0], vartype="SPIN"), "qaoa", gammas=[float("nan")], betas=[0.1]
            ),
            ValidationError,
            ValueError,
        ),
    ],
)
def test_api_raises_documented_errors(call: Callable[[], Any], error: type, builtin: type) -> None:
    """Finding: the API raised ValueError / TypeError / MemoryError for string or complex
    coefficients, index 10¹², a 2³¹×2³¹ sparse shape, bad pipelines, ``target=5``, negative
    layers, NaN angles."""
    with pytest.raises(error) as info:
        call()
    assert isinstance(info.value, QevoError)
    assert isinstance(info.value, builtin)
    assert "\n" not in str(info.value)


def test_json_fast_path_still_refuses_overflowing_literals() -> None:
    from qevo_ir.formats._common import load_json

    for text in ("[1e999]", "[1" + "0" * 400 + ".0]", "[-1e+0400]"):
        with pytest.raises(QevoError, match="overflows"):
            load_json(text, "x")
    assert load_json("[1e308, 1e-999, 5e-324]", "x") == [1e308, 0.0, 5e-324]
    assert load_json(io.StringIO("[1.5]").read(), "x") == [1.5]


def test_certified_chain_strength_holds_at_every_scale_or_is_refused() -> None:
    """Finding of the randomized property run: the certified chain strength on coefficients of
    3e-112 gave target ground states with broken chains. Alone, such a problem keeps its
    certificate (ties are relative to its scale); beside an offset of 1, float64 cannot resolve
    the margin and the pass refuses, saying why."""
    graphs = pytest.importorskip("dwave_networkx")
    from qevo_ir.passes.embed import embed_into

    h = [3e-112, -2e-112, 1e-112]
    J = {(0, 1): 3e-112, (1, 2): -2e-112, (0, 2): 1.5e-112}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        chimera = graphs.chimera_graph(1)
    tiny = embed_into(Hamiltonian.from_ising(h, J), chimera, chain_strength="certified")
    assert tiny.chain_strength_certified
    with pytest.raises(ValidationError, match="float64 rounding"):
        embed_into(Hamiltonian.from_ising(h, J, offset=1.0), chimera, chain_strength="certified")


def test_labels_with_control_characters_are_printed_escaped(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """Finding: labels with terminal escape sequences were printed raw (a newline in one could
    also forge an output line)."""
    ham = Hamiltonian.from_ising(
        {"a\x1b[31mred": 1.0, "b\nground energy  -99": -1.0},
        {("a\x1b[31mred", "b\nground energy  -99"): 0.5},
    )
    path = tmp_path / "esc.json"
    write_hamiltonian(ham, path)
    res = cli("solve", path)
    assert res.code == 0, res.err
    assert "\x1b" not in res.out
    assert "a\\x1b[31mred" in res.out
    assert not any(line.startswith("ground energy  -99") for line in res.out.splitlines())


def test_a_failed_folder_command_leaves_no_folder_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh campaign (2026-12-04): compile-block errors and SIGTERM mid-compile left an empty
    # OUTDIR (holding only .qevo.lock) while saying "nothing partial was written".
    from qevo_ir.atomic import LOCK_NAME
    from qevo_ir.cli import main as cli_main
    from qevo_ir.errors import ValidationError

    def failing(args: Any) -> int:
        out = Path(args.output)
        out.mkdir()
        (out / LOCK_NAME).touch()
        raise ValidationError("late failure")

    parser = cli_main.build_parser()
    compile_parser = parser._subparsers._group_actions[0].choices["compile"]  # type: ignore[union-attr]
    monkeypatch.setattr(cli_main, "build_parser", lambda: parser)
    compile_parser.set_defaults(run=failing)
    out = tmp_path / "fresh"
    assert cli_main.main(["compile", "x.qevo.json", "-o", str(out)]) == 2
    assert not out.exists()
    # a folder that was there before is never removed
    kept = tmp_path / "kept"
    kept.mkdir()

    def failing_in_place(args: Any) -> int:
        (Path(args.output) / LOCK_NAME).touch()
        raise ValidationError("late failure")

    compile_parser.set_defaults(run=failing_in_place)
    assert cli_main.main(["compile", "x.qevo.json", "-o", str(kept)]) == 2
    assert kept.is_dir()


def test_campaign_messages_say_what_is_wrong(tmp_path: Path, cli: Callable[..., Any]) -> None:
    """A fresh campaign (2026-12-04): one-line refusals whose reason was wrong."""
    src = tmp_path / "r.json"
    write_hamiltonian(Hamiltonian(np.zeros(3), [0, 1], [1, 2], [1.0, -1.0], vartype="SPIN"), src)
    text = tmp_path / "t.npz"
    text.write_text("hello")  # a text file named .npz: not "object arrays (pickles)"
    cli("compile-block", text, "-o", tmp_path / "ob").assert_one_line_error("not a zip archive")
    for size in ("1", "10B"):  # was "over the 0 B limit"
        cli("--max-memory", size, "inspect", src).assert_one_line_error("under the smallest")
    cli("compile", src, "-t", ",", "-o", tmp_path / "o").assert_one_line_error("names no backend")
    plain = tmp_path / "FILE"
    plain.write_text("x")  # was "FILE/report.json: Not a directory"
    cli("compile", src, "-o", plain).assert_one_line_error("is not a folder")
    gset = tmp_path / "g.txt"
    gset.write_text(f"3 {'9' * 101}\n1 2 1\n")  # was read as COO ("no vartype header")
    cli("inspect", gset).assert_one_line_error("header's sizes are over the limit")


def test_a_5000_digit_integer_is_named_without_pythons_hint(
    tmp_path: Path, cli: Callable[..., Any]
) -> None:
    """Campaign finding (2026-12-04): the message ended with Python's advice to call
    sys.set_int_max_str_digits(); an argparse refusal echoed all 5,000 digits."""
    digits = "9" * 5000
    doc = tmp_path / "h.json"
    doc.write_text(
        '{"format":"qevo-ir","version":1,"vartype":"SPIN","num_variables":' + digits + ","
        '"linear":[],"quadratic":{"row":[],"col":[],"bias":[]},"offset":0}'
    )
    line = cli("inspect", doc).assert_one_line_error("an integer of 5000 digits")
    assert "set_int_max_str_digits" not in line
    src = tmp_path / "r.json"
    write_hamiltonian(Hamiltonian(np.zeros(2), [0], [1], [1.0], vartype="SPIN"), src)
    res = cli("solve", src, "--seed", digits)
    assert res.code == 2
    assert len(res.err) < 400
