"""The variable table: labels, their indices, and where every variable came from.

Labels are any mix of ``int``, ``str`` and tuples of those. ``bool`` and ``float`` labels are
refused, because ``1``, ``1.0`` and ``True`` are equal as dict keys and would silently merge.
Provenance (block, parameter, bit, weight) says how a variable encodes a model parameter; decoding
a solution back to parameters uses this table alone (see ``specs/ir.md``).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from qevo_ir.errors import LabelError, ValidationError

__all__ = ["Label", "Provenance", "VariableTable", "check_label"]

Label: TypeAlias = Hashable

_NO_INDEX = -1


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _short(label: object) -> str:
    text = repr(label) if not isinstance(label, int) or abs(label) < 10**40 else "<a huge int>"
    return text if len(text) <= 60 else text[:57] + "..."


def check_label(label: object) -> Label:
    """Return ``label`` normalised (numpy scalars to Python), or raise :class:`LabelError`.

    Accepted: ``int``, ``str``, and tuples whose items are accepted labels.
    """
    if isinstance(label, bool | np.bool_):
        raise LabelError(f"label {label!r}: bool labels are refused (True == 1 would merge them)")
    if isinstance(label, int):
        if not _INT64_MIN <= label <= _INT64_MAX:
            # Python hashes ints modulo 2**61 - 1: unbounded ints would let a file choose
            # labels that all collide in the label table (quadratic loading). Within int64 at
            # most eight share a hash.
            raise LabelError(
                f"integer label {_short(label)} does not fit a signed 64-bit integer; integer "
                "labels must lie in [-2**63, 2**63)"
            )
        return label
    if isinstance(label, str):
        if not label.isascii():
            try:
                label.encode("utf-8")
            except UnicodeEncodeError:
                raise LabelError(
                    f"label {_short(label)} holds a lone surrogate; labels must be valid Unicode "
                    "text (they are written as UTF-8)"
                ) from None
        return label
    if isinstance(label, np.integer):
        return int(label)
    if isinstance(label, np.str_):
        return check_label(str(label))
    if isinstance(label, tuple):
        return tuple(check_label(item) for item in label)
    if isinstance(label, list):
        # JSON has no tuples: a list label read from a file is a tuple label.
        return tuple(check_label(item) for item in label)
    raise LabelError(
        f"label {label!r} of type {type(label).__name__} is not accepted; labels are int, str, "
        "or tuples of those (floats and bools are refused because 1, 1.0 and True collide)"
    )


@dataclass(frozen=True, eq=False)
class Provenance:
    """Where each variable came from, as arrays of length ``num_variables``.

    ``parameter[i]`` is the model parameter variable ``i`` encodes (``-1`` if none), ``block[i]``
    the model block, ``bit[i]`` its bit position, and ``weight[i]`` its weight: with ``x`` the
    BINARY value of each variable, parameter ``p`` decodes to
    ``base[p] + Σ_{i: parameter[i] = p} weight[i] · x_i``. Weights are always stated for the BINARY
    value, whatever the Hamiltonian's vartype, so a spin/binary conversion leaves them unchanged.
    """

    block: npt.NDArray[np.int64]
    parameter: npt.NDArray[np.int64]
    bit: npt.NDArray[np.int64]
    weight: npt.NDArray[np.float64]
    base: npt.NDArray[np.float64]
    parameter_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        n = len(self.parameter)
        for name in ("block", "bit", "weight"):
            if len(getattr(self, name)) != n:
                raise ValidationError(f"provenance field {name!r} has length != {n}")
        if n and self.parameter.max(initial=-1) >= len(self.base):
            raise ValidationError("provenance refers to a parameter with no base value")
        if self.parameter_names and len(self.parameter_names) != len(self.base):
            raise ValidationError("provenance parameter_names must have one name per parameter")
        for name in ("block", "parameter", "bit", "weight", "base"):
            getattr(self, name).flags.writeable = False

    @classmethod
    def build(
        cls,
        *,
        parameter: npt.ArrayLike,
        weight: npt.ArrayLike,
        base: npt.ArrayLike,
        bit: npt.ArrayLike | None = None,
        block: npt.ArrayLike | None = None,
        parameter_names: Sequence[str] = (),
    ) -> Provenance:
        p = np.asarray(parameter, dtype=np.int64).ravel().copy()
        n = len(p)
        return cls(
            block=_int_array(block, n),
            parameter=p,
            bit=_int_array(bit, n),
            weight=np.asarray(weight, dtype=np.float64).ravel().copy(),
            base=np.asarray(base, dtype=np.float64).ravel().copy(),
            parameter_names=tuple(parameter_names),
        )

    @property
    def num_parameters(self) -> int:
        return len(self.base)

    def decode(self, bits: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Map BINARY samples ``(m, n)`` (or one sample ``(n,)``) to parameter values ``(m, P)``."""
        x = np.asarray(bits, dtype=np.float64)
        single = x.ndim == 1
        x2 = np.atleast_2d(x)
        if x2.shape[1] != len(self.parameter):
            raise ValidationError(
                f"samples have {x2.shape[1]} columns; the table has {len(self.parameter)} variables"
            )
        used = self.parameter >= 0
        out = np.tile(self.base, (x2.shape[0], 1))
        if used.any():
            import scipy.sparse as sp

            w = sp.csr_matrix(
                (self.weight[used], (np.flatnonzero(used), self.parameter[used])),
                shape=(len(self.parameter), self.num_parameters),
            )
            out += np.asarray(w.T @ x2.T).T
        return out[0] if single else out

    def take(self, indices: npt.NDArray[np.int64]) -> Provenance:
        """The provenance of the variables ``indices``, in that order."""
        return Provenance(
            block=self.block[indices],
            parameter=self.parameter[indices],
            bit=self.bit[indices],
            weight=self.weight[indices],
            base=self.base.copy(),
            parameter_names=self.parameter_names,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "block": self.block.tolist(),
            "parameter": self.parameter.tolist(),
            "bit": self.bit.tolist(),
            "weight": self.weight.tolist(),
            "base": self.base.tolist(),
            "parameter_names": list(self.parameter_names),
        }

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Provenance):
            return NotImplemented
        return self.parameter_names == other.parameter_names and all(
            np.array_equal(getattr(self, f), getattr(other, f))
            for f in ("block", "parameter", "bit", "weight", "base")
        )

    __hash__ = None  # type: ignore[assignment]


def _int_array(values: npt.ArrayLike | None, n: int) -> npt.NDArray[np.int64]:
    if values is None:
        return np.full(n, _NO_INDEX, dtype=np.int64)
    return np.asarray(values, dtype=np.int64).ravel().copy()


class VariableTable:
    """An ordered, immutable map between labels and indices ``0..n-1``, with provenance.

    The common case, labels ``0..n-1``, stores no labels at all.
    """

    __slots__ = ("_index", "_labels", "_n", "_provenance")

    def __init__(
        self,
        labels: Iterable[object] | None = None,
        *,
        num_variables: int | None = None,
        provenance: Provenance | None = None,
    ) -> None:
        if labels is None:
            if num_variables is None or num_variables < 0:
                raise ValidationError("VariableTable needs labels or a non-negative num_variables")
            self._n = int(num_variables)
            self._labels: tuple[Label, ...] | None = None
            self._index: dict[Label, int] | None = None
        else:
            lab = tuple(check_label(x) for x in labels)
            index = {x: i for i, x in enumerate(lab)}
            if len(index) != len(lab):
                seen: set[Label] = set()
                dup = next(x for x in lab if x in seen or seen.add(x))  # type: ignore[func-returns-value]
                raise LabelError(f"duplicate variable label {dup!r}")
            if num_variables is not None and num_variables != len(lab):
                raise ValidationError(f"{len(lab)} labels given for {num_variables} variables")
            self._n = len(lab)
            # Labels 0..n-1 in order are the default: store nothing.
            if all(type(x) is int and x == i for i, x in enumerate(lab)):
                self._labels, self._index = None, None
            else:
                self._labels, self._index = lab, index
        if provenance is not None and len(provenance.parameter) != self._n:
            raise ValidationError(
                f"provenance describes {len(provenance.parameter)} variables, table has {self._n}"
            )
        self._provenance = provenance

    @classmethod
    def range(cls, n: int) -> VariableTable:
        return cls(num_variables=n)

    @classmethod
    def trusted(
        cls, labels: list[Label] | tuple[Label, ...], *, provenance: Provenance | None = None
    ) -> VariableTable:
        """A table from labels the caller *guarantees* are accepted types and unique.

        For generated labels (model blocks make millions of ``(channel, slot)`` tuples of
        Python ints): skips the per-label checks of the constructor. User input never goes
        through here.
        """
        self = cls.__new__(cls)
        lab = tuple(labels)
        self._n = len(lab)
        self._labels = lab
        self._index = dict(zip(lab, range(len(lab)), strict=True))
        if provenance is not None and len(provenance.parameter) != self._n:
            raise ValidationError(
                f"provenance describes {len(provenance.parameter)} variables, table has {self._n}"
            )
        self._provenance = provenance
        return self

    # --- the mapping -----------------------------------------------------------------------
    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[Label]:
        return iter(self.labels)

    def __contains__(self, label: object) -> bool:
        try:
            self.index(label)
        except LabelError:
            return False
        return True

    def __getitem__(self, i: int) -> Label:
        if self._labels is None:
            if not -self._n <= i < self._n:
                raise IndexError(i)
            return i % self._n if self._n else i
        return self._labels[i]

    @property
    def labels(self) -> tuple[Label, ...]:
        return tuple(range(self._n)) if self._labels is None else self._labels

    @property
    def is_range(self) -> bool:
        """True when the labels are exactly ``0..n-1`` in order."""
        return self._labels is None

    @property
    def provenance(self) -> Provenance | None:
        return self._provenance

    def index(self, label: object) -> int:
        """The index of ``label``; raises :class:`LabelError` naming it when unknown."""
        try:
            key = check_label(label)
        except LabelError:
            raise LabelError(f"unknown variable {label!r}") from None
        if self._index is None:
            if type(key) is int and 0 <= key < self._n:
                return key
        elif key in self._index:
            return self._index[key]
        raise LabelError(f"unknown variable {label!r}")

    def indices(self, labels: Iterable[object]) -> npt.NDArray[np.int64]:
        if self._index is None:
            arr = np.fromiter((self.index(x) for x in labels), dtype=np.int64)
            return arr
        return np.fromiter((self.index(x) for x in labels), dtype=np.int64)

    # --- derived tables --------------------------------------------------------------------
    def take(self, indices: npt.NDArray[np.int64]) -> VariableTable:
        """The table of the variables ``indices``, in that order (labels are kept)."""
        idx = np.asarray(indices, dtype=np.int64)
        labels = [self[int(i)] for i in idx]
        prov = None if self._provenance is None else self._provenance.take(idx)
        return VariableTable(labels, provenance=prov)

    def relabel(self, mapping: Mapping[Label, Label]) -> VariableTable:
        """A table whose labels are ``mapping[label]`` where given, unchanged otherwise."""
        for key in mapping:
            self.index(key)  # unknown labels are an error, not a silent no-op
        return VariableTable([mapping.get(x, x) for x in self.labels], provenance=self._provenance)

    def with_provenance(self, provenance: Provenance | None) -> VariableTable:
        return VariableTable(
            None if self._labels is None else self._labels,
            num_variables=self._n,
            provenance=provenance,
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, VariableTable):
            return NotImplemented
        return (
            self._n == other._n
            and self._labels == other._labels
            and self._provenance == other._provenance
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self._labels is None:
            return f"VariableTable.range({self._n})"
        shown = ", ".join(repr(x) for x in self._labels[:6])
        return f"VariableTable([{shown}{', ...' if self._n > 6 else ''}])"
