"""Pipeline strings (tokenizer, types, round trip), type checks before running, decoding."""

from __future__ import annotations

import dataclasses
import math
import sys
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import qevo_ir.passes as passes_pkg
from qevo_ir import Hamiltonian, ParameterModel, PipelineError
from qevo_ir.passes import (
    PASSES,
    CompilerPass,
    PassOutput,
    Pipeline,
    list_passes,
    register_pass,
)
from qevo_ir.passes.fix import Fix
from qevo_ir.passes.gauge import Gauge
from qevo_ir.passes.precision import DEVICE_RANGES, Precision
from qevo_ir.passes.quantize import Quantize
from qevo_ir.passes.scale import Normalize, Scale
from qevo_ir.passes.sparsify import Sparsify
from qevo_ir.testing import all_assignments
from qevo_ir.vartypes import BINARY, spin_to_binary


# ----------------------------------------------------------------------------- test-only passes
@dataclasses.dataclass(frozen=True)
class Everything(CompilerPass):
    """A test pass with one option of every supported type."""

    name: ClassVar[str] = "everything"

    i: int = 0
    f: float = 0.0
    b: bool = False
    s: str = "x"
    maybe: float | None = None
    pair: tuple[float, float] | None = None
    words: tuple[str, ...] = ()
    either: int | str = 1

    def apply(self, ir: Any) -> PassOutput:
        return PassOutput(ir=ir)


@dataclasses.dataclass(frozen=True)
class FakeEmbed(CompilerPass):
    """Hamiltonian → EmbeddedHamiltonian stand-in (each variable is its own chain)."""

    name: ClassVar[str] = "fake_embed"
    input_type: ClassVar[str] = "Hamiltonian"
    output_type: ClassVar[str] = "EmbeddedHamiltonian"

    def apply(self, ir: Any) -> PassOutput:
        spin = ir.to_spin()
        emb = _Embedded(spin, spin, tuple(np.array([i]) for i in range(spin.num_variables)))
        binary = ir.vartype is BINARY
        return PassOutput(ir=emb, decode=lambda y: spin_to_binary(y) if binary else y)


@dataclasses.dataclass(frozen=True)
class OnEmbedded(CompilerPass):
    """A pass that takes and returns an EmbeddedHamiltonian."""

    name: ClassVar[str] = "on_embedded"
    input_type: ClassVar[str] = "EmbeddedHamiltonian"
    output_type: ClassVar[str] = "EmbeddedHamiltonian"

    def apply(self, ir: Any) -> PassOutput:
        return PassOutput(ir=ir)


@dataclasses.dataclass(frozen=True)
class Recorder(CompilerPass):
    """Counts how often it ran (to prove type checks happen before anything runs)."""

    name: ClassVar[str] = "recorder"
    calls: ClassVar[list[int]] = []

    def apply(self, ir: Any) -> PassOutput:
        Recorder.calls.append(1)
        return PassOutput(ir=ir)


@dataclasses.dataclass(frozen=True, eq=False)
class _Embedded:
    source: Hamiltonian
    target: Hamiltonian
    chains: tuple[Any, ...]

    @property
    def num_variables(self) -> int:
        return self.source.num_variables

    @property
    def num_interactions(self) -> int:
        return self.source.num_interactions


@pytest.fixture
def test_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    for cls in (Everything, FakeEmbed, OnEmbedded, Recorder):
        monkeypatch.setitem(PASSES, cls.name, cls)


# ----------------------------------------------------------------------------- parsing
def test_parse_the_documented_example() -> None:
    p = Pipeline.parse("sparsify(rel=1e-3) | precision(bits=5) | embed(topology=pegasus, m=6)")
    assert [q.name for q in p] == ["sparsify", "precision", "embed"]
    assert p[0] == Sparsify(rel=1e-3)
    assert p[1] == Precision(bits=5)
    assert p[2].options()["topology"] == "pegasus"
    assert p[2].options()["m"] == 6
    assert Pipeline.parse(str(p)) == p


@pytest.mark.usefixtures("test_passes")
def test_value_forms() -> None:
    p = Pipeline.parse(
        "everything(i=-3, f=1e-3, b=true, s=hello-world.v2, maybe=none, pair=[-2.5, 4], "
        'words=[\'a b\', "c\\"d", e], either=word)'
    )
    e = p[0]
    assert isinstance(e, Everything)
    assert (e.i, e.f, e.b, e.s, e.maybe) == (-3, 0.001, True, "hello-world.v2", None)
    assert e.pair == (-2.5, 4.0)
    assert isinstance(e.pair[1], float)
    assert e.words == ("a b", 'c"d', "e")
    assert e.either == "word"
    assert Pipeline.parse("everything(either=7)")[0].either == 7  # type: ignore[attr-defined]
    assert Pipeline.parse("everything(b=FALSE, f=3)")[0] == Everything(b=False, f=3.0)
    assert Pipeline.parse("") == Pipeline([])
    assert Pipeline.parse("  everything ( )  ") == Pipeline([Everything()])
    assert Pipeline.parse("everything(words=[],)") == Pipeline([Everything()])


@pytest.mark.usefixtures("test_passes")
@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("nosuch", r"unknown pass 'nosuch'; valid passes: .*sparsify"),
        ("sparsify(tol=1)", r"no option 'tol'; its options: abs: float \| none, rel"),
        ("precision(bits=1.5)", r"precision.bits takes int \| none, got 1.5"),
        ("precision(bits=true)", r"precision.bits takes int"),
        ("everything(i=2.0)", r"everything.i takes int"),
        ("everything(f=abc)", r"everything.f takes float"),
        ("everything(s=3)", r"everything.s takes str"),
        ("everything(pair=[1, 2, 3])", r"everything.pair takes \[float, float\]"),
        ("everything(words=a)", r"everything.words takes list of str"),
        ("everything(b=1)", r"everything.b takes bool"),
        ("sparsify(topk=0)", r"topk=0 must be at least 1"),
        ("sparsify(rel=1, rel=2)", r"given twice"),
        ("sparsify(rel=1", r"expected ','"),
        ("sparsify rel=1", r"separated by '\|'"),
        ("sparsify | | fix", r"expected a pass name"),
        ("everything(s='abc)", r"unterminated string"),
        ("everything(s=2000q)", r"quote strings that start with a digit"),
        ("everything(i=$)", r"unexpected character '\$'"),
        ("everything(=3)", r"expected an option name"),
        ("everything(f=1e999)", r"not finite"),
        ("everything(i=)", r"expected a value"),
        ("gauge(seed=1, flip=[1])", r"seed or flip, not both"),
    ],
)
def test_parse_errors(text: str, match: str) -> None:
    with pytest.raises(PipelineError, match=match):
        Pipeline.parse(text)


def test_refuses_non_pass_steps() -> None:
    with pytest.raises(PipelineError, match="not a CompilerPass"):
        Pipeline([Sparsify(), "fix"])  # type: ignore[list-item]
    with pytest.raises(PipelineError, match="is a str"):
        Pipeline.parse(3)  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- round trip
_finite = st.floats(allow_nan=False, allow_infinity=False)
_pos = st.floats(min_value=1e-300, max_value=1e300, allow_nan=False)
_text = st.text(max_size=8)


@st.composite
def _ranges(draw: st.DrawFn) -> tuple[float, float] | None:
    if draw(st.booleans()):
        return None
    lo = -draw(st.floats(0, 100))
    hi = draw(st.floats(0, 100))
    if lo == hi:
        hi = lo + 1.0
    return (lo, hi)


def _pass_strategy() -> st.SearchStrategy[CompilerPass]:
    return st.one_of(
        st.builds(
            Sparsify,
            abs=st.none() | st.floats(0, 1e6),
            rel=st.none() | st.floats(0, 1),
            topk=st.none() | st.integers(1, 50),
        ),
        st.builds(
            Precision,
            bits=st.none() | st.integers(2, 52),
            device=st.sampled_from(sorted(DEVICE_RANGES)),
            h_range=_ranges(),
            j_range=_ranges(),
            noise=st.floats(0, 0.5),
            check_ground_states=st.none() | st.booleans(),
        ),
        st.builds(
            Quantize,
            encoding=st.sampled_from(
                ["uniform", "twos_complement", "spin_levels", "rounding", "one_hot"]
            ),
            bits=st.integers(1, 52),
            levels=st.none() | st.integers(2, 64),
            penalty=st.none() | _pos,
            vartype=st.sampled_from([None, "SPIN", "BINARY", "spin", "qubo"]),
        ),
        st.builds(Fix, values=st.lists(_text, max_size=3).map(tuple), roof=st.booleans()),
        st.builds(Gauge, seed=st.none() | st.integers(0, 2**63 - 1)),
        st.builds(Gauge, flip=st.lists(st.sampled_from([-1, 1]), max_size=5).map(tuple)),
        st.builds(Normalize, to=_pos),
        st.builds(Scale, factor=_pos),
        st.builds(
            Everything,
            i=st.integers(),
            f=_finite,
            b=st.booleans(),
            s=_text,
            maybe=st.none() | _finite,
            pair=st.none() | st.tuples(_finite, _finite),
            words=st.lists(_text, max_size=3).map(tuple),
            either=st.integers() | _text,
        ),
    )


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(_pass_strategy(), max_size=4))
def test_string_round_trip(steps: list[CompilerPass]) -> None:
    saved = dict(PASSES)
    PASSES["everything"] = Everything
    try:
        p = Pipeline(steps)
        text = str(p)
        again = Pipeline.parse(text)
        assert again == p, text
        assert str(again) == text
    finally:
        PASSES.clear()
        PASSES.update(saved)


# ----------------------------------------------------------------------------- type checks
@pytest.mark.usefixtures("test_passes")
def test_types_are_checked_before_anything_runs() -> None:
    ham = Hamiltonian.from_ising([1.0, -1.0], {(0, 1): 0.5})
    model = ParameterModel.create(np.eye(2))
    Recorder.calls.clear()
    with pytest.raises(PipelineError, match=r"step 2 \(quantize\) takes a ParameterModel"):
        Pipeline.parse("recorder | quantize").run(ham)
    with pytest.raises(PipelineError, match="start with quantize"):
        Pipeline.parse("recorder").run(model)
    with pytest.raises(PipelineError, match="EmbeddedHamiltonian is final"):
        Pipeline.parse("recorder | fake_embed | sparsify").run(ham)
    assert Recorder.calls == []
    out = Pipeline.parse("recorder | fake_embed | on_embedded").run(ham)
    assert Recorder.calls == [1]
    assert out.pipeline.check(ham) == "EmbeddedHamiltonian"
    assert Pipeline.parse("quantize | fix").check(ParameterModel) == "Hamiltonian"
    assert Pipeline.parse("quantize").check("ParameterModel") == "Hamiltonian"
    with pytest.raises(PipelineError, match="cannot compile a dict"):
        Pipeline([]).run({})


@pytest.mark.usefixtures("test_passes")
def test_a_pass_returning_the_wrong_type_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(FakeEmbed, "apply", lambda self, ir: PassOutput(ir=ir))
    with pytest.raises(PipelineError, match="declares output EmbeddedHamiltonian"):
        Pipeline.parse("fake_embed").run(Hamiltonian.from_ising([1.0]))


# ----------------------------------------------------------------------------- running
def test_decode_composes_back_to_parameters() -> None:
    q = np.array([[2.0, -1.0, 0.5], [-1.0, 1.0, 0.0], [0.5, 0.0, 3.0]])
    model = ParameterModel.create(
        q, [1.0, -2.0, 0.5], 0.25, lower=[-1, 0, -2], upper=[1, 3, 2], integer=[False, True, True]
    )
    pipe = Pipeline.parse(
        "quantize(encoding=uniform, bits=3) | fix | gauge(seed=5) | normalize(to=2)"
    )
    res = pipe.run(model)
    n = res.ir.num_variables
    assert n <= 12
    ys = all_assignments(n, res.ir.vartype)
    thetas = res.decode(ys)
    assert thetas.shape == (len(ys), 3)
    np.testing.assert_allclose(
        res.final_energies(ys) / res.energy_scale, model.objectives(thetas), atol=1e-9
    )
    np.testing.assert_allclose(res.source_energies(ys), model.objectives(thetas))
    assert res.exact
    assert res.total_energy_bound == 0.0
    assert res.decode(ys[0]).shape == (3,)
    assert [r.name for r in res.records] == ["quantize", "fix", "gauge", "normalize"]


def test_fake_embedded_decode_goes_to_the_source_vartype(test_passes: None) -> None:
    ham = Hamiltonian.from_qubo({(0, 0): 1.0, (0, 1): -2.0, (1, 1): 0.5})
    res = Pipeline.parse("gauge(flip=[-1, 1]) | fake_embed").run(ham)
    ys = all_assignments(2, res.ir.target.vartype)
    xs = res.decode(ys)
    assert set(np.unique(xs)) <= {0, 1}
    np.testing.assert_allclose(res.final_energies(ys), ham.energies(xs))


# ----------------------------------------------------------------------------- discovery
def test_list_passes() -> None:
    listed = {p["name"]: p for p in list_passes()}
    for name in ("quantize", "precision", "sparsify", "scale", "normalize", "fix"):
        assert name in listed
    for name in ("components", "gauge"):
        assert name in listed
    q = listed["quantize"]
    assert (q["input_type"], q["output_type"], q["exact"]) == (
        "ParameterModel",
        "Hamiltonian",
        True,
    )
    assert {"name": "bits", "type": "int", "default": 4} in q["options"]
    assert listed["precision"]["exact"] is False
    prec = {o["name"]: o for o in listed["precision"]["options"]}
    assert prec["h_range"] == {"name": "h_range", "type": "[float, float] | none", "default": None}
    assert listed["fix"]["options"][0]["default"] == []
    assert all(p["summary"] and "\n" not in p["summary"] for p in listed.values())


def test_embed_module_missing_is_tolerated_but_a_broken_one_is_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes_pkg._import_optional("qevo_ir.passes._no_such_module")
    pkg = tmp_path / "qevo_fake_pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "broken.py").write_text("import qevo_definitely_missing_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="qevo_definitely_missing_dependency"):
        passes_pkg._import_optional("qevo_fake_pkg.broken")
    monkeypatch.delitem(sys.modules, "qevo_fake_pkg", raising=False)


def test_register_pass_refusals() -> None:
    @dataclasses.dataclass(frozen=True)
    class Nameless(CompilerPass):
        pass

    with pytest.raises(PipelineError, match="has no name"):
        register_pass(Nameless)

    @dataclasses.dataclass(frozen=True)
    class Clash(CompilerPass):
        name: ClassVar[str] = "sparsify"

    with pytest.raises(PipelineError, match="two passes are called 'sparsify'"):
        register_pass(Clash)


def test_pipeline_container_behaviour() -> None:
    a = Pipeline.parse("fix | sparsify(rel=0.1)")
    b = Pipeline.parse("normalize")
    assert len(a + b) == 3
    assert str(a + b) == "fix | sparsify(rel=0.1) | normalize"
    assert hash(a) == hash(Pipeline.parse(str(a)))
    assert repr(b) == "Pipeline.parse('normalize')"
    assert a != b
    assert (a == "fix") is False
    assert math.isfinite(Sparsify(rel=0.1).rel or 0.0)
