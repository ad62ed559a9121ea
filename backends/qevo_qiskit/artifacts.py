"""The Qiskit backend's files: ``qaoa.qasm`` (OpenQASM 3) and ``qaoa.qpy`` (QPY), written
atomically and read back.

OpenQASM 3 has no global phase statement in Qiskit's exporter, so ``qaoa.qasm`` drops the
offset's global phase; QPY keeps it. Parameter names: see ``specs/backend_qaoa.md``.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qevo_ir.atomic import atomic_write_bytes, atomic_write_text, check_new
from qevo_ir.errors import FormatError, ValidationError
from qevo_ir.formats import read_bytes_file, read_text_file
from qevo_ir.plugins import require
from qevo_qiskit.circuit import rename_qasm_parameters

if TYPE_CHECKING:
    from qiskit.circuit import QuantumCircuit

__all__ = ["ARTIFACTS", "FORMATS", "read_artifact", "write"]

#: Format name -> artifact file name.
FORMATS: dict[str, str] = {"qasm": "qaoa.qasm", "qpy": "qaoa.qpy"}
ARTIFACTS: tuple[str, ...] = tuple(FORMATS.values())


#: Largest artifact file the readers accept (a QAOA circuit for 10^4 qubits is ~100 MB).
ARTIFACT_MAX_BYTES = 1024**3


def _check_circuit(native: Any) -> QuantumCircuit:
    require("qiskit", "qiskit")
    from qiskit.circuit import QuantumCircuit

    if not isinstance(native, QuantumCircuit):
        raise ValidationError(
            "the qiskit backend writes a QuantumCircuit (from lower()), got "
            f"{type(native).__name__}"
        )
    return native


def write(
    native: Any,
    directory: Path | str,
    formats: tuple[str, ...] | list[str] = ("qasm", "qpy"),
    *,
    force: bool = True,
) -> list[Path]:
    """Write ``native`` as ``qaoa.qasm`` and/or ``qaoa.qpy`` under ``directory``.

    Parameters
    ----------
    native : qiskit.QuantumCircuit
        The lowered circuit.
    directory : path
        Output folder (created if missing).
    formats : sequence of {"qasm", "qpy"}
        Which files to write.
    force : bool, optional
        Overwrite existing files (otherwise :class:`~qevo_ir.atomic.OutputExists`).

    Returns
    -------
    list of Path
        The written files, in ``formats`` order.

    Raises
    ------
    ValidationError
        On an unknown format or a non-circuit.
    """
    circuit = _check_circuit(native)
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValidationError(
            f"unknown qiskit artifact format(s) {unknown}; known: {list(FORMATS)}"
        )
    folder = Path(directory)
    paths = [folder / FORMATS[fmt] for fmt in formats]
    for path in paths:
        check_new(path, force)
    from qiskit import qasm3, qpy

    for fmt, path in zip(formats, paths, strict=True):
        if fmt == "qasm":
            atomic_write_text(path, qasm3.dumps(circuit))
        else:
            buffer = io.BytesIO()
            qpy.dump(circuit, buffer)
            atomic_write_bytes(path, buffer.getvalue())
    return paths


#: Qubits and classical bits an OpenQASM file may declare in all before it is parsed.
QASM_MAX_BITS = 1 << 16
_REGISTER = re.compile(
    r"\b(?:qreg|creg)\s+[A-Za-z_]\w*\s*\[\s*(\d+)\s*\]|\b(?:qubit|bit)\s*\[\s*(\d+)\s*\]"
)


def _declared_bits(text: str) -> int:
    """Qubits and bits the file's register declarations ask for (``qreg q[n]``, ``qubit[n] q``,
    ``creg``/``bit`` alike); a count too long to be a number counts as over any limit."""
    total = 0
    for match in _REGISTER.finditer(text):
        digits = match.group(1) or match.group(2)
        if len(digits) > 12:
            return QASM_MAX_BITS + 1
        total += int(digits)
    return total


def read_artifact(path: Path | str) -> QuantumCircuit:
    """Read ``qaoa.qasm`` (any ``.qasm``) or ``qaoa.qpy`` (any ``.qpy``) back as a circuit.

    OpenQASM 3 inputs ``_gamma_k_``/``_beta_k_`` are mapped back to ``gamma[k]``/``beta[k]``.
    The vendor loaders are not safe on malformed input; run this in a worker process with
    limits on untrusted files.

    Raises
    ------
    FormatError
        On an unknown suffix or a file the loader rejects (the message names the file).
    BackendUnavailable
        If Qiskit (or ``qiskit_qasm3_import`` for OpenQASM 3) is missing.
    """
    file = Path(path)
    suffix = file.suffix.lower()
    if suffix not in (".qasm", ".qpy"):
        raise FormatError(f"{file}: unknown qiskit artifact; expected a .qasm or .qpy file")
    require("qiskit", "qiskit")
    from qiskit.circuit import QuantumCircuit

    if suffix == ".qasm":
        require("qiskit_qasm3_import", "qiskit")
        from qiskit import qasm3

        text = read_text_file(file, max_bytes=ARTIFACT_MAX_BYTES)
        declared = _declared_bits(text)
        if declared > QASM_MAX_BITS:
            raise FormatError(
                f"{file}: declares {declared} qubits and bits, over the reader's limit of "
                f"{QASM_MAX_BITS} (refused before the OpenQASM parser allocates them)"
            )
        try:
            circuit = qasm3.loads(text)
        except Exception as exc:  # the importer raises many unrelated types
            raise FormatError(f"{file}: not a readable OpenQASM 3 program ({exc})") from exc
        return rename_qasm_parameters(circuit)
    from qiskit import qpy

    data = read_bytes_file(file, max_bytes=ARTIFACT_MAX_BYTES)
    try:
        loaded = qpy.load(io.BytesIO(data))
    except Exception as exc:  # QPY raises QpyError, struct.error, ValueError, EOFError ...
        raise FormatError(f"{file}: not a readable QPY file ({exc})") from exc
    if len(loaded) != 1 or not isinstance(loaded[0], QuantumCircuit):
        raise FormatError(f"{file}: expected exactly one QuantumCircuit, found {len(loaded)} items")
    return loaded[0]
