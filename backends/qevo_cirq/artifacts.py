"""The Cirq backend's file: ``qaoa.cirq.json`` (``cirq.to_json``), written atomically and read
back with ``cirq.read_json``.

Cirq's reader deserialises through its fixed table of known types (no ``eval``); it is still a
vendor loader, so untrusted files are read in a worker process with limits.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from qevo_ir.atomic import atomic_write_text, check_new
from qevo_ir.errors import FormatError, ValidationError
from qevo_ir.formats import read_text_file
from qevo_ir.plugins import require

if TYPE_CHECKING:
    import cirq

__all__ = ["ARTIFACTS", "FORMATS", "read_artifact", "write"]

#: Format name -> artifact file name.
FORMATS: dict[str, str] = {"json": "qaoa.cirq.json"}
ARTIFACTS: tuple[str, ...] = tuple(FORMATS.values())


#: Largest artifact file the readers accept (a QAOA circuit for 10^4 qubits is ~100 MB).
ARTIFACT_MAX_BYTES = 1024**3


def write(
    native: Any,
    directory: Path | str,
    formats: tuple[str, ...] | list[str] = ("json",),
    *,
    force: bool = True,
) -> list[Path]:
    """Write ``native`` as ``qaoa.cirq.json`` under ``directory``.

    Parameters
    ----------
    native : cirq.Circuit
        The lowered circuit.
    directory : path
        Output folder (created if missing).
    formats : sequence of {"json"}
        Which files to write.
    force : bool, optional
        Overwrite an existing file (otherwise :class:`~qevo_ir.atomic.OutputExists`).

    Returns
    -------
    list of Path
        The written files.

    Raises
    ------
    ValidationError
        On an unknown format or a non-circuit.
    """
    cirq_mod = require("cirq", "cirq")
    if not isinstance(native, cirq_mod.AbstractCircuit):
        raise ValidationError(
            f"the cirq backend writes a cirq.Circuit (from lower()), got {type(native).__name__}"
        )
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValidationError(f"unknown cirq artifact format(s) {unknown}; known: {list(FORMATS)}")
    paths = [Path(directory) / FORMATS[fmt] for fmt in formats]
    for path in paths:
        check_new(path, force)
    for path in paths:
        atomic_write_text(path, cirq_mod.to_json(native))
    return paths


def read_artifact(path: Path | str) -> cirq.Circuit:
    """Read ``qaoa.cirq.json`` (any ``.json``) back as a ``cirq.Circuit``.

    Raises
    ------
    FormatError
        On an unknown suffix, a file Cirq cannot read, or JSON that is not a circuit.
    """
    file = Path(path)
    if file.suffix.lower() != ".json":
        raise FormatError(f"{file}: unknown cirq artifact; expected a .json file (qaoa.cirq.json)")
    cirq_mod = require("cirq", "cirq")
    text = read_text_file(file, max_bytes=ARTIFACT_MAX_BYTES)
    try:
        obj = cirq_mod.read_json(json_text=text)
    except Exception as exc:  # Cirq raises ValueError, KeyError, TypeError, JSONDecodeError ...
        raise FormatError(f"{file}: not a readable Cirq JSON document ({exc})") from exc
    if isinstance(obj, cirq_mod.FrozenCircuit):
        obj = obj.unfreeze()
    if not isinstance(obj, cirq_mod.Circuit):
        raise FormatError(f"{file}: expected a cirq.Circuit, found {type(obj).__name__}")
    circuit: cirq.Circuit = obj
    return circuit
