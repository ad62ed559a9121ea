"""File formats for the IR: the project's own versioned format (JSON and ``.npz``) and readers and
writers of dimod's BQM JSON, dimod's COO text and qbsolv's ``.qubo``, none needing a vendor SDK.

:func:`read_hamiltonian` detects the format from the content; :func:`write_hamiltonian` picks it
from the extension or ``format=``. Every reader failure is a :class:`~qevo_ir.errors.FormatError`
whose message starts with the path. Exact layouts: ``specs/format.md``.
"""

from qevo_ir.formats._common import (
    DEFAULT_MAX_BYTES,
    FileTooLarge,
    load_json,
    read_bytes_file,
    read_json_file,
    read_text_file,
)
from qevo_ir.formats._document import FORMAT_NAME, VERSION, QevoDocument
from qevo_ir.formats.detect import (
    FORMATS,
    FormatInfo,
    detect_format,
    format_for_path,
    formats_help,
    read_document,
    read_hamiltonian,
    write_hamiltonian,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMATS",
    "FORMAT_NAME",
    "VERSION",
    "FileTooLarge",
    "FormatInfo",
    "QevoDocument",
    "detect_format",
    "format_for_path",
    "formats_help",
    "load_json",
    "read_bytes_file",
    "read_document",
    "read_hamiltonian",
    "read_json_file",
    "read_text_file",
    "write_hamiltonian",
]
