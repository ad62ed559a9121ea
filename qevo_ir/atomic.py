"""Atomic file output: single files and whole output folders.

A single file is written to a temporary file beside the target, fsynced, then renamed over it:
a reader never sees a half-written file. A folder of files (a ``qevo compile`` output) is built
in a staging folder and committed in one step (:func:`commit_set`): under an exclusive lock, with
every catchable signal deferred, the previous set is removed and the new one moved in, the
manifest (``report.json``) last. A manifest present in the folder therefore always describes a
complete set; an interrupted commit (even SIGKILL) leaves a journal that the next run uses to
remove the partial set. Outputs go only to regular files or new paths: a symbolic link, FIFO,
device or folder at an output name is refused, ``force`` or not.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import fcntl
import json
import os
import shutil
import signal
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import FrameType
from typing import IO, Any, Literal, overload

from qevo_ir.advice import option
from qevo_ir.errors import QevoError

__all__ = [
    "JOURNAL_NAME",
    "LOCK_NAME",
    "STAGING_PREFIX",
    "OutputExists",
    "UnsafeOutput",
    "atomic_open",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_new",
    "check_output_path",
    "commit_set",
    "deferred_signals",
    "directory_lock",
    "remove_stale_staging",
    "staging_dir",
]

LOCK_NAME = ".qevo.lock"
JOURNAL_NAME = ".qevo-commit"
STAGING_PREFIX = ".qevo-staging-"
_STAGING_OWNER = ".owner"

#: Signals whose Python-level handling waits until a commit is over.
_DEFERRED = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGALRM", "SIGUSR1", "SIGUSR2")
    if hasattr(signal, name)
)


class OutputExists(QevoError, FileExistsError):
    """An output file exists and ``force`` was not given."""


class UnsafeOutput(QevoError, OSError):
    """An output path is not a regular file (a symbolic link, FIFO, device or folder)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def _kind(mode: int) -> str | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_output_path(path: str | os.PathLike[str]) -> None:
    """Raise :class:`UnsafeOutput` when ``path`` exists and is not a regular file.

    ``os.replace`` would replace a device node, FIFO or link with a regular file (as root, a
    device such as ``/dev/null``); an output is therefore only ever a regular file or a new path.
    """
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    kind = _kind(st.st_mode)
    if kind is not None:
        raise UnsafeOutput(
            f"{os.fspath(path)}: is {kind}; outputs are written only to regular files or new "
            "paths (choose another name)"
        )


def check_new(path: str | os.PathLike[str], force: bool) -> None:
    """Raise :class:`OutputExists` if ``path`` exists and ``force`` is false, and
    :class:`UnsafeOutput` if it exists and is not a regular file."""
    check_output_path(path)
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


def _try_lock(fd: int, how: int) -> bool:
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
            return False
        raise
    return True


def _remove_stale_temporaries(path: Path, *, any_name: bool = False) -> None:
    """Remove ``.NAME.*.tmp`` files beside ``path`` left by a killed writer (with ``any_name``,
    every ``.*.tmp`` file in ``path``'s folder).

    A live writer holds an exclusive ``flock`` on its temporary for its whole life; one whose
    lock can be taken belongs to a process that died (SIGKILL, power loss)."""
    prefix = "." if any_name else f".{path.name}."
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(".tmp")):
            continue
        try:
            if not entry.is_file(follow_symlinks=False):
                continue
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode) and _try_lock(fd, fcntl.LOCK_EX):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
        except OSError:
            pass
        finally:
            os.close(fd)


@contextlib.contextmanager
def _atomic(path: Path, mode: str) -> Iterator[IO[Any]]:
    created = _make_parents(path.parent)
    try:
        check_output_path(path)
        _remove_stale_temporaries(path)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except BaseException:
        _remove_empty(created)
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # marks it live; see _remove_stale_temporaries
        encoding = None if "b" in mode else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            yield fh
            fh.flush()
            if _DURABLE.get():
                os.fsync(fh.fileno())
            # mkstemp creates 0600 files; give the artifact the permissions open() would have.
            os.chmod(tmp, 0o666 & ~_umask())
            check_output_path(path)  # a FIFO or link planted while we wrote
            os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        _remove_empty(created)
        raise


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; the folders created, deepest first (a write that
    fails removes them again, so a failed command leaves no new empty folders behind)."""
    missing: list[Path] = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    folder.mkdir(parents=True, exist_ok=True)
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:  # deepest first; a folder someone else filled meanwhile stays
        with contextlib.suppress(OSError):
            folder.rmdir()


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


# ----------------------------------------------------------------------------- signals
_commit_lock = threading.RLock()


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Defer SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGALRM, SIGUSR1/2 until the block ends.

    ``pthread_sigmask`` is per thread: a signal blocked in the main thread is still delivered to
    any other thread, and CPython then runs the Python handler in the main thread anyway. So in
    the main thread every handler is replaced by a recorder for the duration; afterwards the old
    handlers are restored and each recorded signal is handled as it would have been (the
    default action is re-raised). In another thread (where handlers cannot be changed) the
    signals are blocked for that thread, and Python handlers run in the main thread, never
    inside the commit. Only SIGKILL (and a power cut) can stop a commit midway; the journal of
    :func:`commit_set` repairs that on the next run.
    """
    if threading.current_thread() is not threading.main_thread():
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, set(_DEFERRED))
        try:
            yield
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        return
    pending: list[int] = []

    def record(signum: int, frame: FrameType | None) -> None:
        pending.append(signum)

    old: dict[int, Any] = {}
    try:
        for sig in _DEFERRED:
            try:
                old[sig] = signal.signal(sig, record)
            except (OSError, ValueError):  # pragma: no cover - not catchable here
                continue
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        _redeliver(pending, old)


def _redeliver(pending: list[int], handlers: dict[int, Any]) -> None:
    for sig in dict.fromkeys(pending):
        handler = handlers.get(sig)
        if callable(handler):
            handler(sig, None)
        elif handler == signal.SIG_DFL:
            signal.raise_signal(sig)


# ----------------------------------------------------------------------------- folders
def _open_lock(directory: Path, *, create: bool) -> int | None:
    """A descriptor of ``directory/.qevo.lock`` (a regular file, never a link or FIFO)."""
    path = directory / LOCK_NAME
    flags = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags | (os.O_RDWR | os.O_CREAT if create else os.O_RDONLY), 0o644)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeOutput(
                f"{path}: is a symbolic link; the lock file must be a regular file (remove it)"
            ) from None
        if not create and exc.errno in (errno.EACCES, errno.EPERM):
            return None
        if create and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return _open_lock(directory, create=False)
        raise
    kind = _kind(os.fstat(fd).st_mode)
    if kind is not None:
        os.close(fd)
        raise UnsafeOutput(f"{path}: is {kind}; the lock file must be a regular file (remove it)")
    return fd


@contextlib.contextmanager
def directory_lock(
    directory: str | os.PathLike[str], *, shared: bool = False, timeout: float = 60.0
) -> Iterator[None]:
    """Hold ``flock`` on ``directory/.qevo.lock``: exclusive for a writer, shared for a reader.

    A reader that cannot create the lock file (a read-only folder) reads without it. Waiting
    longer than ``timeout`` seconds raises :class:`OutputExists`-free :class:`QevoError`.
    """
    d = Path(directory)
    fd = _open_lock(d, create=True)
    if fd is None:
        if not shared:
            raise UnsafeOutput(f"{d / LOCK_NAME}: cannot create the lock file")
        yield
        return
    try:
        how = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
        deadline = time.monotonic() + timeout
        while not _try_lock(fd, how):
            if time.monotonic() > deadline:
                raise QevoError(
                    f"{d}: another qevo process has held its lock for over {timeout:g} s; "
                    "try again when it has finished"
                )
            time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextlib.contextmanager
def staging_dir(directory: str | os.PathLike[str]) -> Iterator[Path]:
    """A fresh ``directory/.qevo-staging-*`` folder, removed on exit.

    Its owner holds a lock on ``.owner`` inside it, so :func:`remove_stale_staging` can tell a
    folder left by a killed run from one a concurrent run is still filling."""
    d = Path(directory)
    path = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=d))
    fd = -1
    try:
        fd = os.open(path / _STAGING_OWNER, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
        if fd >= 0:
            os.close(fd)


def remove_stale_staging(directory: str | os.PathLike[str]) -> list[str]:
    """Remove staging folders of runs that died; returns their names."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(STAGING_PREFIX):
            continue
        try:
            if not entry.is_dir(follow_symlinks=False):
                continue
            fd = os.open(
                os.path.join(entry.path, _STAGING_OWNER),
                os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
            )
        except FileNotFoundError:
            # killed before the owner file existed: stale only if it is not brand new
            with contextlib.suppress(OSError):
                if time.time() - entry.stat(follow_symlinks=False).st_mtime > 60:
                    shutil.rmtree(entry.path, ignore_errors=True)
                    removed.append(entry.name)
            continue
        except OSError:
            continue
        try:
            if _try_lock(fd, fcntl.LOCK_EX):
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.name)
        finally:
            os.close(fd)
    return removed


#: Whether writes are fsynced (see :func:`scratch_writes`).
_DURABLE: contextvars.ContextVar[bool] = contextvars.ContextVar("qevo_durable", default=True)


@contextlib.contextmanager
def scratch_writes() -> Iterator[None]:
    """Writes in this context skip ``fsync`` (files and folders): for scratch files that are read
    back at once and thrown away (a channel compiled into a temporary folder to get its bytes).
    Still atomic against other processes (temporary + rename); only durability across a power
    loss is given up, which a file deleted a moment later never needed."""
    token = _DURABLE.set(False)
    try:
        yield
    finally:
        _DURABLE.reset(token)


def _fsync_dir(directory: Path) -> None:
    if not _DURABLE.get():
        return
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _unlink_regular(path: Path) -> None:
    """Remove ``path`` if it is a regular file or a link (never a folder)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise UnsafeOutput(f"{path}: is a folder where a file of the previous run was expected")
    os.unlink(path)


def _recover(directory: Path, manifest: str) -> None:
    """Finish or undo a commit that was killed midway (its journal is still there)."""
    journal = directory / JOURNAL_NAME
    try:
        st = os.lstat(journal)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode) or st.st_size > 1 << 20:
        raise UnsafeOutput(f"{journal}: is not a commit journal of qevo (remove it)")
    try:
        record = json.loads(journal.read_text(encoding="utf-8"))
        placing = [str(n) for n in record["placing"]]
        removing = [str(n) for n in record["removing"]]
        manifest_sha = str(record["manifest_sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UnsafeOutput(f"{journal}: damaged commit journal ({exc}); remove it") from None
    names = [n for n in placing + removing if _plain(n)]
    if _file_sha256(directory / manifest) != manifest_sha:
        # The manifest of the interrupted commit never arrived: the folder holds a partial
        # set (and perhaps the old manifest was already gone). Remove both sets.
        for name in names:
            _unlink_regular(directory / name)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(directory / manifest)
    os.unlink(journal)
    _fsync_dir(directory)


def _plain(name: str) -> bool:
    return (
        name not in ("", ".", "..")
        and "/" not in name
        and "\x00" not in name
        and os.path.basename(name) == name
    )


def _file_sha256(path: Path) -> str | None:
    import hashlib

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
            return None
        h = hashlib.sha256()
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def commit_set(
    directory: str | os.PathLike[str],
    staging: str | os.PathLike[str],
    names: Iterable[str],
    *,
    manifest: str,
    force: bool,
    previous: Callable[[Path], Iterable[str]],
    before_commit: Callable[[Path], None] | None = None,
) -> list[Path]:
    """Move the files ``names`` (``manifest`` among them) from ``staging`` into ``directory``.

    Under an exclusive lock and with signals deferred: repair a commit killed earlier (journal),
    refuse existing outputs unless ``force``, refuse non-regular files at any output name, write
    a journal, remove the previous set (``previous(directory)`` names its files) and the old
    manifest, move every file in with ``manifest`` last, fsync the folder, drop the journal.
    A reader therefore sees either no manifest or a manifest with its complete set.
    """
    out = Path(directory)
    stage = Path(staging)
    new = [n for n in names if n != manifest]
    with directory_lock(out), _commit_lock, deferred_signals():
        _recover(out, manifest)
        remove_stale_staging(out)
        if before_commit is not None:
            before_commit(out)
        _remove_stale_temporaries(out / manifest, any_name=True)
        for name in [*new, manifest, JOURNAL_NAME]:
            check_output_path(out / name)
        old = [n for n in dict.fromkeys(previous(out)) if _plain(n) and n not in new]
        old = [n for n in old if n != manifest and os.path.lexists(out / n)]
        if not force:
            clash = [n for n in [manifest, *new, *old] if os.path.lexists(out / n)]
            if clash:
                raise OutputExists(
                    f"{out}: already holds {', '.join(clash)}; pass --force to overwrite"
                )
        for name in old:
            check_output_path(out / name)
        journal = {
            "placing": new,
            "removing": old,
            "manifest_sha256": _file_sha256(stage / manifest),
        }
        atomic_write_text(out / JOURNAL_NAME, json.dumps(journal) + "\n")
        _fsync_dir(out)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(out / manifest)
        for name in old:
            _unlink_regular(out / name)
        for name in new:
            os.replace(stage / name, out / name)
        _fsync_dir(out)
        os.replace(stage / manifest, out / manifest)
        _fsync_dir(out)
        os.unlink(out / JOURNAL_NAME)
    return [out / n for n in [*new, manifest]]
