"""Pipelines: a list of passes, written in code or as ``"sparsify(rel=1e-3) | precision(bits=5)"``.

The string form is read by a small hand-written tokenizer (never ``eval``); option values are
checked against each pass's dataclass field types, unknown passes and options are refused, and
``str(pipeline)`` prints a string that parses back to an equal pipeline. :meth:`Pipeline.run`
checks the IR types of the whole chain before running anything and returns a
:class:`CompileResult` whose ``decode`` maps samples of the final IR back to the source.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

import numpy as np
import numpy.typing as npt

from qevo_ir.advice import did_you_mean, match_name, unknown_name
from qevo_ir.errors import PipelineError, ValidationError
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.parameter_model import ParameterModel
from qevo_ir.passes.base import PASSES, CompilerPass, Decoder, PassRecord
from qevo_ir.report import CompileReport, compose_bounds, ir_type_name

__all__ = [
    "IR_TYPES",
    "CompileResult",
    "Pipeline",
    "list_passes",
    "parse_pipeline",
]

IR_TYPES = (
    "ConstrainedModel",
    "PolynomialHamiltonian",
    "ParameterModel",
    "Hamiltonian",
    "EmbeddedHamiltonian",
)
"""The IR levels, top to bottom; a pass declares one as its input and one as its output."""


# ----------------------------------------------------------------------------- tokenizer
@dataclass(frozen=True)
class _Token:
    kind: str  # NAME NUMBER STRING PUNCT END
    text: str
    value: Any
    pos: int


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_PUNCT = "()[],=|"


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
            continue
        if ch in _PUNCT:
            tokens.append(_Token("PUNCT", ch, ch, i))
            i += 1
            continue
        if ch in "\"'":
            j, out = i + 1, []
            while j < n and text[j] != ch:
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                out.append(text[j])
                j += 1
            if j >= n:
                raise PipelineError(f"pipeline: unterminated string starting at column {i + 1}")
            tokens.append(_Token("STRING", text[i : j + 1], "".join(out), i))
            i = j + 1
            continue
        m = _NUMBER.match(text, i)
        if m and (ch.isdigit() or ch in "+-."):
            end = m.end()
            if end < n and (text[end].isalnum() or text[end] in "_."):
                raise PipelineError(
                    f"pipeline: cannot read {text[i : end + 1]!r}... at column {i + 1}; quote "
                    "strings that start with a digit"
                )
            word = m.group()
            is_int = re.fullmatch(r"[+-]?\d+", word) is not None
            if is_int and len(word.lstrip("+-")) > 300:  # past float64 and int()'s digit limit
                raise PipelineError(
                    f"pipeline: the integer at column {i + 1} has {len(word)} digits; numbers in "
                    "a pipeline stay within float64 (at most 300 digits)"
                )
            value: Any = int(word) if is_int else float(word)
            if isinstance(value, float) and not math.isfinite(value):
                raise PipelineError(f"pipeline: number {word!r} at column {i + 1} is not finite")
            tokens.append(_Token("NUMBER", word, value, i))
            i = end
            continue
        m = _NAME.match(text, i)
        if m:
            word = m.group()
            low = word.lower()
            keyword: Any = {"true": True, "false": False, "none": None}.get(low, word)
            kind = "KEYWORD" if low in ("true", "false", "none") else "NAME"
            tokens.append(_Token(kind, word, keyword, i))
            i = m.end()
            continue
        raise PipelineError(f"pipeline: unexpected character {ch!r} at column {i + 1}")
    tokens.append(_Token("END", "", None, n))
    return tokens


class _Parser:
    """Recursive descent over the token list; see ``specs/passes.md`` for the grammar."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.k = 0

    def peek(self) -> _Token:
        return self.tokens[self.k]

    def take(self) -> _Token:
        tok = self.tokens[self.k]
        self.k += 1
        return tok

    def expect(self, punct: str) -> None:
        tok = self.take()
        if tok.kind != "PUNCT" or tok.text != punct:
            raise PipelineError(
                f"pipeline: expected {punct!r} at column {tok.pos + 1}, found "
                f"{tok.text or 'the end'!r} in {self.text!r}"
            )

    def is_punct(self, punct: str) -> bool:
        tok = self.peek()
        return tok.kind == "PUNCT" and tok.text == punct

    def pipeline(self) -> list[tuple[str, dict[str, Any], int]]:
        steps: list[tuple[str, dict[str, Any], int]] = []
        if self.peek().kind == "END":
            return steps
        steps.append(self.step())
        while self.is_punct("|"):
            self.take()
            steps.append(self.step())
        tok = self.peek()
        if tok.kind != "END":
            raise PipelineError(
                f"pipeline: unexpected {tok.text!r} at column {tok.pos + 1}; passes are "
                f"separated by '|' in {self.text!r}"
            )
        return steps

    def step(self) -> tuple[str, dict[str, Any], int]:
        tok = self.take()
        if tok.kind != "NAME":
            raise PipelineError(
                f"pipeline: expected a pass name at column {tok.pos + 1}, found "
                f"{tok.text or 'the end'!r}"
            )
        options: dict[str, Any] = {}
        if self.is_punct("("):
            self.take()
            while not self.is_punct(")"):
                key = self.take()
                if key.kind != "NAME":
                    raise PipelineError(
                        f"pipeline: expected an option name at column {key.pos + 1} in "
                        f"{tok.text}(...), found {key.text or 'the end'!r}"
                    )
                self.expect("=")
                if key.text in options:
                    raise PipelineError(f"pipeline: option {tok.text}.{key.text} is given twice")
                options[key.text] = self.value()
                if not self.is_punct(")"):
                    self.expect(",")
            self.take()
        return tok.text, options, tok.pos

    def value(self) -> Any:
        tok = self.take()
        if tok.kind in ("NUMBER", "STRING", "NAME", "KEYWORD"):
            return tok.value
        if tok.kind == "PUNCT" and tok.text == "[":
            items: list[Any] = []
            while not self.is_punct("]"):
                items.append(self.value())
                if not self.is_punct("]"):
                    self.expect(",")
            self.take()
            return tuple(items)
        raise PipelineError(
            f"pipeline: expected a value at column {tok.pos + 1}, found {tok.text or 'the end'!r}"
        )


# ----------------------------------------------------------------------------- option types
class _Mismatch(Exception):
    pass


def _type_repr(tp: Any) -> str:
    """``float | None``, ``tuple[float, float]``, ``tuple[str, ...]`` for error messages."""
    if tp is type(None):
        return "none"
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in (Union, types.UnionType):
        return " | ".join(_type_repr(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {_type_repr(args[0])}"
        return "[" + ", ".join(_type_repr(a) for a in args) + "]"
    if origin is Literal:
        return " | ".join(repr(a) for a in args)
    if tp is Any:
        return "any"
    return getattr(tp, "__name__", str(tp))


def _convert(value: Any, tp: Any) -> Any:
    if tp is Any or tp is object:
        return value
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg)
            except _Mismatch:
                continue
        raise _Mismatch
    if tp is type(None):
        if value is None:
            return None
        raise _Mismatch
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _Mismatch
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _Mismatch
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            try:
                return float(value)
            except OverflowError:
                raise _Mismatch from None
        raise _Mismatch
    if tp is str:
        if isinstance(value, str):
            return value
        raise _Mismatch
    if origin is Literal:
        if value in args and type(value) in {type(a) for a in args}:
            return value
        raise _Mismatch
    if origin is tuple:
        if not isinstance(value, tuple):
            raise _Mismatch
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(v, args[0]) for v in value)
        if len(args) != len(value):
            raise _Mismatch
        return tuple(_convert(v, a) for v, a in zip(value, args, strict=True))
    raise _Mismatch


def _option_types(cls: type[CompilerPass]) -> dict[str, Any]:
    hints = get_type_hints(cls)
    return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(cls)}


def build_pass(name: str, options: dict[str, Any]) -> CompilerPass:
    """The pass called ``name`` with ``options`` converted and checked against its field types."""
    found = match_name(name, PASSES)
    if found is None:
        raise PipelineError(unknown_name("pass", name, PASSES))
    name = found
    cls = PASSES[name]
    types_ = _option_types(cls)
    options = {match_name(k, types_) or k: v for k, v in options.items()}
    unknown = [k for k in options if k not in types_]
    if unknown:
        listed = ", ".join(f"{k}: {_type_repr(t)}" for k, t in types_.items()) or "(none)"
        hint = did_you_mean(unknown[0], types_)
        raise PipelineError(
            f"pass {name!r} has no option {unknown[0]!r}{hint}; its options: {listed}"
        )
    kwargs: dict[str, Any] = {}
    for key, value in options.items():
        try:
            kwargs[key] = _convert(value, types_[key])
        except _Mismatch:
            raise PipelineError(
                f"option {name}.{key} takes {_type_repr(types_[key])}, got {value!r}"
            ) from None
    try:
        return cls(**kwargs)
    except PipelineError:
        raise
    except (TypeError, ValueError) as exc:
        raise PipelineError(f"pass {name!r}: {exc}") from None


def parse_pipeline(text: str) -> Pipeline:
    """Parse ``"name(key=value, ...) | name | ..."`` into a :class:`Pipeline` (see the grammar)."""
    if not isinstance(text, str):
        raise PipelineError(f"a pipeline string is a str, got {type(text).__name__}")
    steps = _Parser(text).pipeline()
    return Pipeline(build_pass(name, options) for name, options, _ in steps)


# ----------------------------------------------------------------------------- the pipeline
def _type_name(t: Any) -> str:
    return t if isinstance(t, str) else getattr(t, "__name__", str(t))


class Pipeline:
    """An immutable sequence of passes; ``Pipeline.parse(str(p)) == p`` for every pipeline."""

    __slots__ = ("_passes",)

    def __init__(self, passes: Iterable[CompilerPass] = ()) -> None:
        items = tuple(passes)
        for i, p in enumerate(items):
            if not isinstance(p, CompilerPass):
                raise PipelineError(
                    f"pipeline step {i + 1} is a {type(p).__name__}, not a CompilerPass"
                )
        self._passes = items

    @classmethod
    def parse(cls, text: str) -> Pipeline:
        return parse_pipeline(text)

    @property
    def passes(self) -> tuple[CompilerPass, ...]:
        return self._passes

    def __iter__(self) -> Iterator[CompilerPass]:
        return iter(self._passes)

    def __len__(self) -> int:
        return len(self._passes)

    def __getitem__(self, i: int) -> CompilerPass:
        return self._passes[i]

    def __add__(self, other: Pipeline) -> Pipeline:
        return Pipeline(self._passes + tuple(other))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pipeline):
            return NotImplemented
        return self._passes == other._passes

    def __hash__(self) -> int:
        return hash(str(self))

    def __str__(self) -> str:
        return " | ".join(str(p) for p in self._passes)

    def __repr__(self) -> str:
        return f"Pipeline.parse({str(self)!r})"

    def check(self, source: object) -> str:
        """Check the IR types along the chain from ``source`` (an IR, a class or a type name).

        Returns the final IR type name; raises :class:`PipelineError` naming the first step whose
        input type differs from what the step before it produces.
        """
        if isinstance(source, str):
            current = source
        elif isinstance(source, type):
            current = source.__name__
        else:
            current = ir_type_name(source)
        if current not in IR_TYPES:
            raise PipelineError(
                f"cannot compile a {current}; a pipeline starts from one of {', '.join(IR_TYPES)}"
            )
        for i, p in enumerate(self._passes):
            want = _type_name(p.input_type)
            if want != current:
                hint = ""
                if current == "ParameterModel":
                    hint = "; start with quantize to lower a ParameterModel"
                elif want == "ParameterModel":
                    hint = f"; {p.name} only applies to a ParameterModel (the source)"
                elif current == "EmbeddedHamiltonian":
                    hint = "; an EmbeddedHamiltonian is final: put this pass before embed"
                raise PipelineError(
                    f"pipeline step {i + 1} ({p.name}) takes a {want}, but "
                    f"{'the source' if i == 0 else f'step {i} ({self._passes[i - 1].name})'} "
                    f"gives a {current}{hint}"
                )
            current = _type_name(p.output_type)
        return current

    def run(self, ir: object) -> CompileResult:
        """Type-check the whole chain, then run every pass; return the :class:`CompileResult`."""
        self.check(ir)
        current: Any = ir
        records: list[PassRecord] = []
        decoders: list[Decoder] = []
        for i, p in enumerate(self._passes):
            current, record, decode = p.run(current)
            got = ir_type_name(current)
            if got != _type_name(p.output_type):
                raise PipelineError(
                    f"pass {p.name!r} (step {i + 1}) declares output "
                    f"{_type_name(p.output_type)} but returned a {got}"
                )
            records.append(record)
            decoders.append(decode)
        return CompileResult(
            source=ir,
            ir=current,
            pipeline=self,
            records=tuple(records),
            decoders=tuple(decoders),
        )


@dataclass(frozen=True, eq=False)
class CompileResult:
    """The outcome of :meth:`Pipeline.run`: the final IR, one record per pass, and the decoders.

    ``decode`` maps samples of the final IR (rows, its vartype; target samples when it is
    embedded) back to the source: to samples of the source Hamiltonian, or to parameter vectors
    ``(m, P)`` when the source is a ParameterModel.
    """

    source: Any
    ir: Any
    pipeline: Pipeline
    records: tuple[PassRecord, ...]
    decoders: tuple[Decoder, ...]

    def decode(self, samples: npt.ArrayLike) -> npt.NDArray[Any]:
        """Samples of the final IR → samples (or parameters) of the source, through every pass."""
        y = np.asarray(samples)
        single = y.ndim == 1
        y = np.atleast_2d(y)
        for decode in reversed(self.decoders):
            y = decode(y)
        return y[0] if single else y

    @property
    def total_energy_bound(self) -> float:
        """Certified ``max_y |E_final(y)/energy_scale - E_source(decode(y))|``, source units."""
        return compose_bounds(self.records)[0]

    @property
    def energy_scale(self) -> float:
        """The product of every pass's ``energy_scale``."""
        return compose_bounds(self.records)[1]

    @property
    def exact(self) -> bool:
        return all(r.exact for r in self.records)

    def final_energies(self, samples: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Energies of samples of the final IR (the target problem when embedded)."""
        return _energies(self.ir, samples)

    def source_energies(self, samples: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The source's energy (or objective) at ``decode(samples)``."""
        decoded = self.decode(np.atleast_2d(np.asarray(samples)))
        return _energies(self.source, decoded)

    def report(self) -> CompileReport:
        return CompileReport.build(self.source, str(self.pipeline), self.records, self.ir)


def _energies(ir: Any, samples: npt.ArrayLike) -> npt.NDArray[np.float64]:
    if isinstance(ir, ParameterModel):
        return ir.objectives(samples)
    if isinstance(ir, Hamiltonian):
        return ir.energies(samples)
    objectives = getattr(ir, "objectives", None)  # ConstrainedModel: the source's objective
    if callable(objectives):
        return np.asarray(objectives(samples), dtype=np.float64)
    if hasattr(ir, "term_ptr"):  # PolynomialHamiltonian
        return np.asarray(ir.energies(samples), dtype=np.float64)
    target = getattr(ir, "target", None)
    if isinstance(target, Hamiltonian):
        return target.energies(samples)
    raise ValidationError(f"cannot evaluate energies of a {type(ir).__name__}")


# ----------------------------------------------------------------------------- discovery
def _jsonable_default(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable_default(v) for v in value]
    return value


def list_passes() -> list[dict[str, Any]]:
    """Every registered pass, for ``qevo passes``: name, types, exactness, options, summary."""
    out: list[dict[str, Any]] = []
    for name in sorted(PASSES):
        cls = PASSES[name]
        types_ = _option_types(cls)
        options = []
        for f in dataclasses.fields(cls):
            default: Any = f.default
            factory = f.default_factory
            if default is dataclasses.MISSING and callable(factory):
                default = factory()
            options.append(
                {
                    "name": f.name,
                    "type": _type_repr(types_[f.name]),
                    "default": _jsonable_default(default),
                }
            )
        doc = (cls.__doc__ or "").strip().splitlines()
        out.append(
            {
                "name": name,
                "input_type": _type_name(cls.input_type),
                "output_type": _type_name(cls.output_type),
                "exact": bool(cls.exact),
                "options": options,
                "summary": doc[0].strip() if doc else "",
            }
        )
    return out
