"""Files for batch commands: ``-`` for stdin/stdout, compression by extension, atomic output.

* :func:`open_input` reads a path, or stdin for ``-``; ``.gz`` is decompressed with the standard
  library, ``.zst`` with :mod:`compression.zstd` (Python 3.14+) or its backport ``backports.zstd``
  (the ``zstd`` extra: ``pip install 'chat-responses-translator[zstd]'``).  Without either, a
  :class:`MissingExtraError` names the extra.
* :func:`check_destination` fails before any work when a destination is a directory or sits in a
  folder that does not exist.
* :func:`atomic_output` writes to a hidden temporary file next to the destination, compressed by
  the destination's extension, and moves it into place with ``os.replace`` only when the block
  finishes; on any exception (an interrupt included) the temporary file is removed.  The file is
  created with mode ``0o666`` less the umask, like any file a command creates.
* Temporary files are named ``.<destination name>.<random>.tmp`` and hold an exclusive ``flock``
  while their run lives.  A run killed with SIGKILL cannot remove its file; the kernel releases the
  lock, so the next run towards the same destination (:func:`remove_stale_temporaries`) finds the
  file unlocked and removes it.  A file still locked belongs to a live run and is left alone.
  (Without ``fcntl``, on Windows, stale files are not looked for.)
"""

from __future__ import annotations

import contextlib
import gzip
import importlib
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from stat import S_ISREG
from typing import IO, Any, cast

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "Input",
    "MissingExtraError",
    "atomic_output",
    "check_destination",
    "check_source",
    "open_input",
    "remove_stale_temporaries",
]

STDIO = "-"
#: A temporary file younger than this is never taken for a stale one (its run may be locking it).
_STALE_AFTER_SECONDS = 5.0


class MissingExtraError(RuntimeError):
    """A feature needs an optional dependency that is not installed; the message names the extra."""


def _zstd() -> Any:
    """The zstd module: the standard library's (3.14+) or the backport of the ``zstd`` extra."""
    for name in ("compression.zstd", "backports.zstd"):  # the same API
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise MissingExtraError(
        ".zst files need zstandard support: pip install 'chat-responses-translator[zstd]' "
        "(or use Python 3.14+, whose standard library has it)"
    )


def compression_of(name: str) -> str | None:
    """``"gzip"``, ``"zstd"`` or ``None``, from a file name's extension."""
    lowered = name.lower()
    if lowered.endswith(".gz"):
        return "gzip"
    if lowered.endswith(".zst"):
        return "zstd"
    return None


class Input:
    """An open input: ``stream`` to read, ``size`` in bytes when known, ``position()`` read so far.

    For a compressed file, ``size`` and ``position()`` count compressed bytes, so a progress bar
    moves in step with the disk.  Stdin and a pipe or other special file (``<(zcat x.gz)``) have no
    size and no position (0).
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._file: IO[bytes] | None = None  # the file opened (closed by close())
        #: the path of a regular, uncompressed file (its byte ranges can be read directly), or None
        self.plain_file: str | None = None
        if name == STDIO:
            self.stream: IO[bytes] = sys.stdin.buffer
            self.size: int | None = None
            return
        raw = self._file = open(name, "rb")  # noqa: SIM115 - closed by close()
        try:
            info = os.fstat(raw.fileno())
            self.size = info.st_size if S_ISREG(info.st_mode) else None  # a regular file has a position
            kind = compression_of(name)
            if kind == "gzip":
                self.stream = cast("IO[bytes]", gzip.GzipFile(fileobj=raw, mode="rb"))
            elif kind == "zstd":
                self.stream = _zstd().ZstdFile(raw, mode="rb")
            else:
                self.stream = raw
                if self.size is not None:
                    self.plain_file = _same_file_path(name, info)
        except BaseException:
            raw.close()
            raise

    def position(self) -> int:
        return self._file.tell() if self._file is not None and self.size is not None else 0

    def close(self) -> None:
        if self._file is not None:
            if self.stream is not self._file:
                self.stream.close()
            self._file.close()


def _same_file_path(name: str, info: os.stat_result) -> str | None:
    """A path that another process can open to read the file opened as ``name`` (``info``), or None.

    ``/dev/stdin`` or ``/dev/fd/3`` would name another file in another process: the path is resolved,
    and kept only if it still names the same file.
    """
    path = os.path.realpath(name)
    try:
        found = os.stat(path)
    except OSError:
        return None
    return path if (found.st_dev, found.st_ino) == (info.st_dev, info.st_ino) else None


@contextlib.contextmanager
def open_input(name: str) -> Iterator[Input]:
    """The input ``name`` (``-`` for stdin), decompressed by extension."""
    handle = Input(name)
    try:
        yield handle
    finally:
        handle.close()


def check_source(name: str) -> None:
    """Fail now, naming ``name``, if it is not a readable file (``-`` is stdin)."""
    if name == STDIO:
        return
    path = Path(name)
    if path.is_dir():
        raise IsADirectoryError(21, "Is a directory", name)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", name)
    if compression_of(name) == "zstd":
        _zstd()


def check_destination(name: str) -> None:
    """Fail now, naming ``name``, if it cannot be written: a directory, or in a missing folder."""
    if name == STDIO:
        return
    path = Path(name)
    if path.is_dir():
        raise IsADirectoryError(21, "Is a directory (give a file name)", name)
    folder = path.parent
    if not folder.is_dir():
        reason = "is not a folder" if folder.exists() else "does not exist"
        raise FileNotFoundError(2, f"the folder {str(folder)!r} {reason}", name)
    if compression_of(name) == "zstd":
        _zstd()


def _lock(fd: int) -> bool:
    """Take the exclusive lock of ``fd`` without waiting; ``False`` when a live process holds it."""
    if fcntl is None:  # pragma: no cover - Windows
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _temporary_prefix(destination: Path) -> str:
    return f".{destination.name}."


def remove_stale_temporaries(destination: str, *, report: Callable[[str], None] | None = None) -> int:
    """Remove the temporary files that killed runs left next to ``destination``; returns how many.

    A temporary file is stale when nothing holds its lock (its run is gone) and it is older than a
    few seconds.  ``report`` receives one line per file removed.
    """
    if destination == STDIO or fcntl is None:
        return 0
    path = Path(destination)
    prefix = _temporary_prefix(path)
    removed = 0
    try:
        names = [p for p in path.parent.iterdir() if p.name.startswith(prefix) and p.name.endswith(".tmp")]
    except OSError:
        return 0
    for candidate in names:
        try:
            fd = os.open(candidate, os.O_RDONLY)
        except OSError:
            continue
        try:
            stat = os.fstat(fd)
            if time.time() - stat.st_mtime < _STALE_AFTER_SECONDS or not _lock(fd):
                continue
            os.unlink(candidate)
            removed += 1
            if report is not None:
                report(f"removed {candidate} ({stat.st_size:,} bytes), left by an interrupted run")
        except OSError:
            continue
        finally:
            os.close(fd)
    return removed


@contextlib.contextmanager
def atomic_output(destination: str) -> Iterator[IO[bytes]]:
    """A binary stream for ``destination`` (``-``: stdout), replacing it only if the block finishes.

    Compressed by the destination's extension.  The temporary file is locked while the block runs
    (see the module docstring) and removed if the block raises, interrupts included.
    """
    if destination == STDIO:
        out = sys.stdout.buffer
        yield out
        out.flush()
        return
    path = Path(destination)
    kind = compression_of(destination)
    if kind == "zstd":
        _zstd()  # a missing extra fails before a file is created
    while True:
        temporary = path.parent / f"{_temporary_prefix(path)}{secrets.token_hex(6)}.tmp"
        try:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
        break
    try:
        _lock(fd)
        with open(fd, "wb", closefd=True) as raw:
            if kind == "gzip":
                with gzip.GzipFile(filename=path.name, fileobj=raw, mode="wb", mtime=0) as out:
                    yield cast("IO[bytes]", out)
            elif kind == "zstd":
                with _zstd().ZstdFile(raw, mode="wb") as out:
                    yield out
            else:
                yield raw
            raw.flush()
            os.replace(temporary, path)  # still locked: no other run can take it for stale
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
