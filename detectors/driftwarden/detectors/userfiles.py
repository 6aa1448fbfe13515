"""Reading and writing the files a user hands us, with bounded work.

Every file a user names (a configuration, a profile) is read through `read_user_file`:

- it must be a regular file: a directory, a device (`/dev/zero`, `/dev/urandom`), a FIFO
  or a socket is refused, also behind a symlink (the check is made on the opened file, so
  a path swapped between check and read cannot slip through); opening never blocks on a
  FIFO without a writer (`O_NONBLOCK`);
- it must be at most `max_bytes` long; a file that grows while read is cut at
  `max_bytes + 1` bytes and refused, so memory never exceeds the cap.

`write_atomic` writes a file next to its destination under a unique temporary name and
renames it into place (`os.replace`): a reader sees the old file or the new one, and two
writers of the same path each leave either their own complete file or a clear error.

The limits (`CONFIG_MAX_BYTES`, `PROFILE_MAX_BYTES`) are documented in docs/limits.md.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from driftwarden.detectors.errors import InputError

__all__ = [
    "CONFIG_MAX_BYTES",
    "PROFILE_MAX_BYTES",
    "UserFileError",
    "read_user_file",
    "write_atomic",
]

#: A detection configuration or ModelMonitor manifest: 1 MiB (a 500-feature monitor with
#: per-feature thresholds is about 60 KB).
CONFIG_MAX_BYTES = 1 << 20
#: A stored profile file (compressed): 1 GiB.
PROFILE_MAX_BYTES = 1 << 30
_READ_BLOCK = 1 << 20


class UserFileError(InputError, ValueError):
    """A user's file that cannot be read as asked; the message names the file."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_user_file(path: Path, *, what: str, max_bytes: int) -> bytes:
    """The bytes of the regular file at `path` (at most `max_bytes`); UserFileError naming
    `path` and `what` it was meant to be otherwise."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UserFileError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UserFileError(
                f"{path}: the {what} must be a regular file, this is {_kind(info.st_mode)}"
            )
        if info.st_size > max_bytes:
            raise UserFileError(
                f"{path}: the {what} is {info.st_size} bytes, more than the limit of "
                f"{max_bytes} bytes"
            )
        chunks: list[bytes] = []
        size = 0
        while size <= max_bytes:
            block = os.read(fd, min(_READ_BLOCK, max_bytes + 1 - size))
            if not block:
                break
            chunks.append(block)
            size += len(block)
        if size > max_bytes:
            raise UserFileError(
                f"{path}: the {what} grew past the limit of {max_bytes} bytes while read"
            )
        return b"".join(chunks)
    except OSError as exc:
        raise UserFileError(f"{path}: cannot read the {what}: {exc.strerror}") from None
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes, *, what: str) -> None:
    """Write `data` to `path` through a unique temporary file in the same directory and
    `os.replace`; the temporary file is removed on failure. UserFileError on OSError."""
    directory = path.parent if str(path.parent) else Path(".")
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, path)
        tmp_name = None
    except OSError as exc:
        raise UserFileError(
            f"{path}: cannot write the {what}: {exc.strerror or type(exc).__name__}"
        ) from None
    finally:
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
