"""The two variable types and every rule that depends on them, in one place.

SPIN variables take values in {-1, +1}; BINARY variables in {0, 1}. The spin map is
``s = 2x - 1`` (binary 1 is spin +1); see ``specs/ir.md``. No other module re-derives it.
"""

from __future__ import annotations

import enum

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import ValidationError

__all__ = ["BINARY", "SPIN", "Vartype", "as_vartype", "binary_to_spin", "spin_to_binary"]


class Vartype(enum.Enum):
    """The domain of every variable of a Hamiltonian."""

    SPIN = "SPIN"
    BINARY = "BINARY"

    @property
    def values(self) -> tuple[int, int]:
        """The two values a variable takes, low first."""
        return (-1, 1) if self is Vartype.SPIN else (0, 1)

    def __str__(self) -> str:
        return self.value


SPIN = Vartype.SPIN
BINARY = Vartype.BINARY

_ALIASES: dict[object, Vartype] = {
    "SPIN": SPIN,
    "spin": SPIN,
    "ising": SPIN,
    "ISING": SPIN,
    frozenset((-1, 1)): SPIN,
    "BINARY": BINARY,
    "binary": BINARY,
    "qubo": BINARY,
    "QUBO": BINARY,
    frozenset((0, 1)): BINARY,
}


def as_vartype(value: object) -> Vartype:
    """Coerce ``value`` to a :class:`Vartype`.

    Accepted: a ``Vartype``; the strings ``"SPIN"``/``"spin"``/``"ising"`` or
    ``"BINARY"``/``"binary"``/``"qubo"``; the sets ``{-1, 1}`` or ``{0, 1}``; or an object with a
    ``.name`` of ``SPIN``/``BINARY`` (such as ``dimod.Vartype``).
    """
    if isinstance(value, Vartype):
        return value
    key: object = value
    if isinstance(value, set | frozenset):
        key = frozenset(value)
    elif not isinstance(value, str | frozenset) and hasattr(value, "name"):
        key = str(value.name)
    try:
        return _ALIASES[key]
    except (KeyError, TypeError):
        raise ValidationError(
            f"unknown vartype {value!r}; expected SPIN or BINARY (also accepted: 'spin', 'ising', "
            "'binary', 'qubo', {-1, 1}, {0, 1}, or a dimod.Vartype)"
        ) from None


def spin_to_binary(spins: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """Map spins in {-1, +1} to bits in {0, 1} by ``x = (s + 1) / 2``."""
    s = np.asarray(spins)
    return ((s + 1) // 2).astype(np.int8)


def binary_to_spin(bits: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """Map bits in {0, 1} to spins in {-1, +1} by ``s = 2x - 1``."""
    x = np.asarray(bits)
    return (2 * x - 1).astype(np.int8)
