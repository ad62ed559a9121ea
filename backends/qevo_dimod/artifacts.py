"""Writing a BQM as ``bqm.json``/``bqm.coo`` (atomically) and reading any dimod artifact back."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qevo_dimod.bqm import from_bqm, is_embedded, to_bqm
from qevo_dimod.bqm_json import dumps_bqm_json, read_bqm_json
from qevo_dimod.coo import dumps_coo, read_coo
from qevo_dimod.qpu import QPU_JOB_FILE, QPUJob, write_qpu_job
from qevo_ir.atomic import atomic_write_text, check_new
from qevo_ir.errors import FormatError, ValidationError
from qevo_ir.hamiltonian import Hamiltonian

if TYPE_CHECKING:
    import dimod

__all__ = ["ARTIFACTS", "FORMATS", "read_artifact", "write"]

#: Format name -> file name written by :func:`write`.
FORMATS: dict[str, str] = {"json": "bqm.json", "coo": "bqm.coo"}
ARTIFACTS: tuple[str, ...] = tuple(FORMATS.values())


def write(
    native: dimod.BinaryQuadraticModel | QPUJob | Hamiltonian | Any,
    directory: str | os.PathLike[str],
    formats: Iterable[str] | str = ("json", "coo"),
    *,
    force: bool = True,
) -> list[Path]:
    """Write ``native`` under ``directory`` as ``bqm.json`` and/or ``bqm.coo``; return the paths.

    ``native`` is a BQM, a :class:`~qevo_dimod.qpu.QPUJob` (writes ``bqm.json`` and
    ``qpu_job.json``), or a Hamiltonian/EmbeddedHamiltonian (lowered first). Every file is
    written atomically; with ``force=False`` an existing file raises ``OutputExists`` first.
    """
    names = [formats] if isinstance(formats, str) else list(formats)
    unknown = [f for f in names if f not in FORMATS]
    if unknown:
        raise ValidationError(f"unknown BQM format(s) {unknown}; expected some of {list(FORMATS)}")
    d = Path(directory)
    if isinstance(native, QPUJob):
        paths = write_qpu_job(native, d, force=force)
        if "coo" in names:
            paths.append(_write_one(native.bqm, d, "coo", force))
        return paths
    bqm = to_bqm(native) if isinstance(native, Hamiltonian) or is_embedded(native) else native
    for name in names:
        check_new(d / FORMATS[name], force)
    return [_write_one(bqm, d, name, force) for name in names]


def _write_one(bqm: dimod.BinaryQuadraticModel, directory: Path, fmt: str, force: bool) -> Path:
    path = directory / FORMATS[fmt]
    check_new(path, force)
    text = dumps_bqm_json(bqm) if fmt == "json" else dumps_coo(from_bqm(bqm))
    atomic_write_text(path, text)
    return path


def read_artifact(path: str | os.PathLike[str]) -> dimod.BinaryQuadraticModel:
    """Read ``bqm.json`` or ``bqm.coo`` (any ``*.json``/``*.coo`` BQM file) back into a BQM.

    The document is validated by this package's own readers before dimod sees any of it.
    ``qpu_job.json`` is not a BQM: read it with :func:`qevo_dimod.qpu.read_qpu_job`.
    """
    p = Path(path)
    if p.name == QPU_JOB_FILE:
        raise FormatError(f"{p}: a QPU job, not a BQM; read it with read_qpu_job()")
    if p.suffix == ".json":
        return read_bqm_json(p)
    if p.suffix == ".coo":
        return to_bqm(read_coo(p))
    raise FormatError(f"{p}: not a dimod artifact (expected bqm.json, bqm.coo or {QPU_JOB_FILE})")
