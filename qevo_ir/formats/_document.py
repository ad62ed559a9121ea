"""The parts of the qevo-ir document shared by its JSON and ``.npz`` encodings.

Both encodings carry the same fields (see ``specs/format.md``); this module owns the format name,
the version, and the checks of labels, provenance and metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from qevo_ir.errors import ValidationError
from qevo_ir.formats._common import fail, float_list, strict_int
from qevo_ir.hamiltonian import Hamiltonian
from qevo_ir.variables import Provenance

__all__ = [
    "FORMAT_NAME",
    "VERSION",
    "QevoDocument",
    "check_format_and_version",
    "check_metadata",
    "provenance_from_json",
    "validate_metadata",
]

FORMAT_NAME = "qevo-ir"
VERSION = 1

_PROVENANCE_INTS = ("block", "parameter", "bit")
_PROVENANCE_KEYS = frozenset((*_PROVENANCE_INTS, "weight", "base", "parameter_names"))


@dataclass(frozen=True)
class QevoDocument:
    """A qevo-ir file's content: the Hamiltonian (labels and provenance inside) and metadata."""

    hamiltonian: Hamiltonian
    metadata: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))


def check_format_and_version(doc: Mapping[str, Any], name: str) -> None:
    """Fail unless ``doc`` says ``"format": "qevo-ir"`` and a version this reader knows."""
    if doc.get("format") != FORMAT_NAME:
        fail(name, f'not a qevo-ir document: expected "format": "{FORMAT_NAME}"')
    if "version" not in doc:
        fail(name, 'missing key "version"')
    version = doc["version"]
    if type(version) is not int:
        fail(name, f"version must be an integer, got {version!r}")
    if version != VERSION:
        fail(
            name,
            f"qevo-ir format version {version} is not supported; this reader reads version "
            f"{VERSION} (a newer file needs a newer qevo-ir)",
        )


def validate_metadata(metadata: Mapping[str, str] | None, name: str) -> dict[str, str]:
    """Metadata to write: a mapping of strings to strings (or nothing)."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        fail(name, "metadata must be a mapping of strings to strings")
    out: dict[str, str] = {}
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            fail(name, f"metadata entry {key!r}: {value!r}: keys and values must be strings")
        out[key] = value
    return out


def check_metadata(value: object, name: str, field_name: str = "metadata") -> dict[str, str]:
    """Metadata read from a file: absent/null, or an object of strings to strings."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        fail(name, f"{field_name} must be an object of strings")
    for key, item in value.items():
        if not isinstance(item, str):
            fail(name, f"{field_name}[{key!r}] must be a string")
    return dict(value)


def provenance_from_json(value: object, name: str, n: int) -> Provenance | None:
    """Provenance in :meth:`Provenance.to_dict` layout, each field checked, or ``None``."""
    if value is None:
        return None
    if not isinstance(value, dict):
        fail(name, "provenance must be an object or null")
    missing = sorted(_PROVENANCE_KEYS - value.keys())
    if missing:
        fail(name, f"provenance is missing {', '.join(repr(k) for k in missing)}")
    extra = sorted(value.keys() - _PROVENANCE_KEYS)
    if extra:
        fail(name, f"provenance has unknown keys {', '.join(repr(k) for k in extra)}")
    ints = {}
    for key in _PROVENANCE_INTS:
        items = value[key]
        if not isinstance(items, list) or len(items) != n:
            fail(name, f"provenance.{key} must be a list of {n} integers")
        if set(map(type, items)) - {int}:
            fail(name, f"provenance.{key} must hold integers only")
        try:
            ints[key] = np.array(items, dtype=np.int64).reshape(-1)
        except OverflowError:
            fail(name, f"provenance.{key} holds an integer outside int64")
    weight = float_list(value["weight"], name, "provenance.weight", n)
    base = float_list(value["base"], name, "provenance.base")
    names = value["parameter_names"]
    if not isinstance(names, list) or not all(isinstance(x, str) for x in names):
        fail(name, "provenance.parameter_names must be a list of strings")
    return build_provenance(
        name, ints["block"], ints["parameter"], ints["bit"], weight, base, tuple(names)
    )


def build_provenance(
    name: str,
    block: np.ndarray[Any, Any],
    parameter: np.ndarray[Any, Any],
    bit: np.ndarray[Any, Any],
    weight: np.ndarray[Any, Any],
    base: np.ndarray[Any, Any],
    parameter_names: tuple[str, ...],
) -> Provenance:
    """A :class:`Provenance` from checked arrays; inconsistent ones are a FormatError."""
    if parameter.size and parameter.min() < -1:
        k = int(np.flatnonzero(parameter < -1)[0])
        fail(name, f"provenance.parameter[{k}] = {int(parameter[k])}; use -1 for no parameter")
    if parameter.size and parameter.max() >= len(base):
        k = int(np.argmax(parameter))
        fail(
            name,
            f"provenance.parameter[{k}] = {int(parameter[k])} has no base value "
            f"(provenance.base has {len(base)} entries)",
        )
    try:
        return Provenance(
            block=np.asarray(block, dtype=np.int64).copy(),
            parameter=np.asarray(parameter, dtype=np.int64).copy(),
            bit=np.asarray(bit, dtype=np.int64).copy(),
            weight=np.asarray(weight, dtype=np.float64).copy(),
            base=np.asarray(base, dtype=np.float64).copy(),
            parameter_names=parameter_names,
        )
    except ValidationError as exc:
        fail(name, f"provenance: {exc}")


def check_num_variables(value: object, name: str) -> int:
    """``num_variables``: a non-negative integer."""
    return strict_int(value, name, "num_variables")
