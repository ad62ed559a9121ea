"""What a compiler pass is: a frozen dataclass with a ``name``, typed options and a ``run``.

A pass maps one IR to another (``ParameterModel → Hamiltonian``, ``Hamiltonian → Hamiltonian`` or
``Hamiltonian → EmbeddedHamiltonian``) and returns a :class:`PassRecord` (options, time, sizes,
exactness, certified bound) and a decoder that maps samples of its output back to its input.
Options are plain dataclass fields, so ``name(key=value)`` strings parse straight into pass objects
and print back the same (see :mod:`qevo_ir.passes.pipeline`).
"""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import PipelineError

__all__ = [
    "PASSES",
    "CompilerPass",
    "Decoder",
    "PassOutput",
    "PassRecord",
    "identity_decoder",
    "ir_size",
    "register_pass",
]

# Maps samples of a pass's output IR (rows, output vartype) to samples of its input IR.
Decoder = Callable[[npt.NDArray[Any]], npt.NDArray[Any]]


def identity_decoder(samples: npt.NDArray[Any]) -> npt.NDArray[Any]:
    return samples


@dataclass(frozen=True)
class PassRecord:
    """What one pass did; one entry of the compile report's ``passes`` list.

    ``energy_bound`` (``None`` for an exact pass) certifies
    ``max_y |E_after(y) / energy_scale - E_before(decode(y))| <= energy_bound`` over every
    assignment ``y`` of the output, in the *input's* energy units.
    """

    name: str
    options: dict[str, Any]
    exact: bool
    energy_bound: float | None
    energy_scale: float
    seconds: float
    size_before: dict[str, int]
    size_after: dict[str, int]
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "options": self.options,
            "exact": self.exact,
            "energy_bound": self.energy_bound,
            "energy_scale": self.energy_scale,
            "seconds": self.seconds,
            "size_before": self.size_before,
            "size_after": self.size_after,
            "details": self.details,
        }


@dataclass(frozen=True)
class PassOutput:
    """What :meth:`CompilerPass.apply` returns; ``run`` wraps it into a record."""

    ir: Any
    decode: Decoder = identity_decoder
    energy_bound: float | None = None  # None: the pass was exact on this input
    energy_scale: float = 1.0
    details: dict[str, Any] = field(default_factory=dict)


def ir_size(ir: Any) -> dict[str, int]:
    """Sizes for the report: variables, couplings (or parameters), physical qubits if embedded."""
    if hasattr(ir, "num_parameters") and not hasattr(ir, "num_interactions"):
        return {"num_parameters": int(ir.num_parameters)}
    size = {
        "num_variables": int(ir.num_variables),
        "num_interactions": int(ir.num_interactions),
    }
    target = getattr(ir, "target", None)
    if target is not None:
        size["num_qubits"] = int(target.num_variables)
        size["num_physical_couplers"] = int(target.num_interactions)
    return size


@dataclass(frozen=True)
class CompilerPass:
    """Base class of every pass. Subclasses are frozen dataclasses whose fields are options.

    Subclasses set ``name``, ``input_type`` and ``output_type`` (class objects, or their names as
    strings resolved by the pipeline's type check: "ParameterModel", "Hamiltonian",
    "EmbeddedHamiltonian") and implement :meth:`apply`. ``exact`` says whether the pass can
    ever change an energy; a lossy pass may still report ``energy_bound == 0`` on an input.
    """

    name: ClassVar[str] = ""
    input_type: ClassVar[str] = "Hamiltonian"
    output_type: ClassVar[str] = "Hamiltonian"
    exact: ClassVar[bool] = True

    def apply(self, ir: Any) -> PassOutput:
        raise NotImplementedError

    def options(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def run(self, ir: Any) -> tuple[Any, PassRecord, Decoder]:
        """Apply the pass, time it and record it."""
        before = ir_size(ir)
        start = time.perf_counter()
        out = self.apply(ir)
        seconds = time.perf_counter() - start
        bound = out.energy_bound
        if self.exact and bound not in (None, 0.0):
            raise PipelineError(f"pass {self.name!r} is declared exact but reported a bound")
        record = PassRecord(
            name=self.name,
            options=_jsonable_options(self.options()),
            exact=self.exact,
            energy_bound=None if self.exact else float(bound or 0.0),
            energy_scale=float(out.energy_scale),
            seconds=seconds,
            size_before=before,
            size_after=ir_size(out.ir),
            details=out.details,
        )
        return out.ir, record, out.decode

    def __str__(self) -> str:
        defaults = type(self)()  # every option has a default, so this always works
        items = [
            f"{k}={_format_value(v)}"
            for k, v in self.options().items()
            if v != getattr(defaults, k)
        ]
        return f"{self.name}({', '.join(items)})" if items else self.name


_BARE_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*")
_KEYWORDS = frozenset({"true", "false", "none"})


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        # Bare only when it reads back as the same string: an identifier that is not a keyword
        # (``true``/``false``/``none``) and does not look like a number.
        if _BARE_WORD.fullmatch(value) and value.lower() not in _KEYWORDS:
            return value
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_format_value(v) for v in value) + "]"
    return str(value)


def _jsonable_options(options: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in options.items():
        if isinstance(v, tuple):
            out[k] = list(v)
        elif isinstance(v, np.generic):
            out[k] = v.item()
        else:
            out[k] = v
    return out


PASSES: dict[str, type[CompilerPass]] = {}


def register_pass(cls: type[CompilerPass]) -> type[CompilerPass]:
    """Class decorator adding a pass to :data:`PASSES` under its ``name``."""
    if not cls.name:
        raise PipelineError(f"{cls.__name__} has no name")
    if cls.name in PASSES and PASSES[cls.name] is not cls:
        raise PipelineError(f"two passes are called {cls.name!r}")
    for f in dataclasses.fields(cls):
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise PipelineError(f"option {cls.name}.{f.name} needs a default")
    PASSES[cls.name] = cls
    return cls
