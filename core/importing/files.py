"""Opening files to import: regular files only, never through a symbolic link.

Every symbolic link is refused, also one that points inside the folder being imported: a link inside
the folder adds nothing (its target is imported on its own), and resolving links to decide where they
point is a check that a link changed between the check and the open defeats. Named pipes, devices and
sockets are refused too (reading a FIFO would block the import forever).

The check is made twice: on the path (``lstat``), and on what was actually opened (``O_NOFOLLOW``, then
``fstat`` of the open file, which must be the same regular file), so a file swapped for a link between
the two is refused as well.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

_OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)  # opening a FIFO must not wait for a writer
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)


class NotImportable(Exception):
    """The path is not a regular file that can be opened; the message says what it is instead."""


def shown(value: str | Path) -> str:
    """A path as text that can always be printed: bytes that are not UTF-8 become ``\\xNN``."""
    return str(value).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder that could not be listed"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def refusal(path: Path) -> str | None:
    """Why ``path`` is not imported (a link, a FIFO, a device ...), or None for a regular file.

    Raises OSError when the path cannot be looked at at all (missing, no permission).
    """
    mode = os.lstat(path).st_mode
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        try:
            target = shown(os.readlink(path))
        except OSError:
            target = "?"
        return f"a symbolic link (to {target}); only regular files are imported"
    return f"{_kind(mode)}; only regular files are imported"


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading in binary, when it is a regular file and not a link.

    Raises NotImportable with the reason otherwise, and OSError when it cannot be opened.
    """
    reason = refusal(path)
    if reason is not None:
        raise NotImportable(reason)
    before = os.lstat(path)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError:
        reason = refusal(path)  # became a link or a FIFO since the check: say so, not "too many links"
        if reason is not None:
            raise NotImportable(reason) from None
        raise
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode) or (opened.st_dev, opened.st_ino) != (before.st_dev, before.st_ino):
            raise NotImportable("changed while being imported (replaced by another file or a link)")
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
