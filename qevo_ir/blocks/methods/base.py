"""What every rounding method is: a name, its options, and a function from a block to an answer.

A method module defines one :class:`Method`; :mod:`qevo_ir.blocks.methods` registers them and
:func:`qevo_ir.blocks.solve.solve_block` runs one. Methods see the block and its batch (below
them) and never the solve facade (above them).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from qevo_ir.backend import Backend
from qevo_ir.blocks.base import GramBlock
from qevo_ir.errors import CapabilityError, ValidationError
from qevo_ir.plugins import available_backends, get_backend, require

__all__ = ["Answer", "Method", "backend", "option_int", "rounding_block"]

Bits = npt.NDArray[np.int8]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Answer:
    """A method's raw answer: slot bits ``(C, m)``, and for methods that may leave the two
    candidates of a weight (GPTQ's any-level rounding), the parameters themselves.

    With ``weights`` set, it is authoritative and ``bits`` is its projection (``x = 1`` where the
    chosen grid level is above the weight's floor); without it, the parameters are
    ``block.decode_bits(bits)``.
    """

    bits: Bits
    weights: npt.NDArray[Any] | None = None


Run = Callable[[GramBlock, Mapping[str, Any], dict[str, Any], "Bits | None"], Answer]


@dataclass(frozen=True, eq=False)
class Method:
    """One rounding method.

    ``run(block, options, info, start)`` returns an :class:`Answer` and may record details in
    ``info``; ``start`` is the warm start's bits (``None`` without ``init=``). ``searches``: the
    method takes ``init=`` (the facade then keeps, per channel, the better of the answer and the
    init).
    """

    name: str
    options: tuple[str, ...]
    run: Run
    searches: bool = True
    summary: str = ""

    def accepted(self) -> tuple[str, ...]:
        """Every option the method takes, ``init`` included when it searches."""
        return (*self.options, "init") if self.searches else self.options

    def check(self, options: Mapping[str, Any]) -> None:
        unknown = sorted(set(options) - set(self.accepted()))
        if unknown:
            accepted = ", ".join(self.accepted()) or "none"
            raise ValidationError(
                f"method {self.name!r} does not take option(s) {', '.join(unknown)}; "
                f"accepted: {accepted}"
            )


# Backends used through the plugin registry; from a source checkout whose entry points are not
# installed, the plugin module is imported directly (still only through its public class).
_FALLBACK = {
    "dimod": ("qevo_dimod", "DimodBackend", "dimod"),
    "exact": ("qevo_exact", "ExactBackend", "all"),
}


def backend(name: str) -> Backend:
    """The backend plugin ``name`` (registry first, then the in-tree package)."""
    if name in available_backends():
        return get_backend(name)
    module, cls, extra = _FALLBACK[name]
    found: Backend = getattr(require(module, extra), cls)()
    return found


def option_int(options: Mapping[str, Any], key: str, default: int, minimum: int) -> int:
    """An integer option ``>= minimum`` (bools refused), or ``default`` when absent/None."""
    value = options.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ValidationError(f"{key} must be an integer, got {value!r}")
    if int(value) < minimum:
        raise ValidationError(f"{key} must be >= {minimum}, got {value}")
    return int(value)


def option_float(options: Mapping[str, Any], key: str, default: float, minimum: float) -> float:
    """A finite float option ``>= minimum``, or ``default`` when absent/None."""
    value = options.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ValidationError(f"{key} must be a number, got {value!r}")
    v = float(value)
    if not np.isfinite(v) or v < minimum:
        raise ValidationError(f"{key} must be finite and >= {minimum}, got {value}")
    return v


def rounding_block(block: GramBlock, method: str) -> Any:
    """``block`` if it is a :class:`~qevo_ir.blocks.linear.LinearRounding` (or conv), else a
    :class:`CapabilityError` naming the blocks the method takes."""
    from qevo_ir.blocks.linear import LinearRounding

    if not isinstance(block, LinearRounding):
        raise CapabilityError(
            f"method {method!r} rounds the weights of a layer on its grid; it takes a "
            f"LinearRounding or Conv2dRounding block, not {type(block).__name__} "
            "(use 'greedy', 'sa' or 'exact' for this block)"
        )
    return block
