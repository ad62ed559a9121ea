"""Atomic file output: write a temporary file beside the target, fsync, then rename over it.

A reader (or a crash, SIGINT or SIGTERM) never sees a half-written artifact: the target either
does not exist, holds its old content, or holds the whole new content.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, Literal, overload

from qevo_ir.advice import option
from qevo_ir.errors import QevoError

__all__ = ["OutputExists", "atomic_open", "atomic_write_bytes", "atomic_write_text", "check_new"]


class OutputExists(QevoError, FileExistsError):
    """An output file exists and ``force`` was not given."""


def check_new(path: str | os.PathLike[str], force: bool) -> None:
    """Raise :class:`OutputExists` if ``path`` exists and ``force`` is false."""
    if not force and os.path.lexists(path):
        raise OutputExists(
            f"{os.fspath(path)}: output exists; pass {option('force')} to overwrite it"
        )


@overload
def atomic_open(
    path: str | os.PathLike[str], mode: Literal["w"]
) -> contextlib.AbstractContextManager[IO[str]]: ...
@overload
def atomic_open(
    path: str | os.PathLike[str], mode: Literal["wb"]
) -> contextlib.AbstractContextManager[IO[bytes]]: ...
def atomic_open(
    path: str | os.PathLike[str], mode: str = "w"
) -> contextlib.AbstractContextManager[IO[Any]]:
    """Context manager yielding a file whose content replaces ``path`` only on success."""
    return _atomic(Path(path), mode)


@contextlib.contextmanager
def _atomic(path: Path, mode: str) -> Iterator[IO[Any]]:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp creates 0600 files; give the artifact the permissions open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_open(path, "w") as fh:
        fh.write(text)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    with atomic_open(path, "wb") as fh:
        fh.write(data)
