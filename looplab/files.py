"""Writing files where a symlink may wait: a run directory is something users share.

A run directory may come from someone else, and anything in it may be a
symlink (``report.html`` pointing at ``~/.bashrc``, ``plots/`` at ``/etc``).
Every file looplab writes goes through here:

- ``write_file`` writes a temporary file beside the target (created new, never
  through a link) and renames it over the target, so a reader sees the old
  file or the new one, never half; a target or folder that is a symlink is
  refused, not followed;
- ``make_dir`` makes a folder, refusing one that is a symlink;
- ``open_append`` opens a log for appending without following a link;
- ``check_writable`` says, before any work is done, that an output path given by
  the user cannot be written (under a file, on a read-only or special filesystem).

Each refusal is a ``LooplabError``: one line on the CLI.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TextIO

from looplab.errors import ConfigError, UnsafePathError

__all__ = [
    "OutputPathError",
    "check_writable",
    "make_dir",
    "open_append",
    "refuse_symlink",
    "write_file",
]


def refuse_symlink(path: Path) -> None:
    """Raise ``UnsafePathError`` if ``path`` is a symlink."""
    if path.is_symlink():
        raise UnsafePathError(f"{path} is a symlink: refusing to write through it")


class OutputPathError(ConfigError):
    """An output path that cannot be written: said before the work that would fill it."""


def check_writable(path: str | Path, flag: str, *, folder: bool = False) -> None:
    """Raise ``OutputPathError`` (one line naming ``flag``) if ``path`` cannot be written:
    its nearest existing folder is probed by creating and removing a file there, so a
    read-only or special filesystem (``/proc``, ``/sys``) is found out, not guessed.
    ``folder``: ``path`` is a folder to make (a run directory), not a file."""
    path = Path(path)
    if path.exists():
        if folder and not path.is_dir():
            raise OutputPathError(f"{flag} {path}: a file is there, not a folder")
        if not folder and path.is_dir():
            raise OutputPathError(f"{flag} {path}: a folder is there, not a file")
    existing = path if folder and path.is_dir() else path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputPathError(f"{flag} {path}: {existing} is a file, not a folder")
    probe = existing / f".looplab-probe-{secrets.token_hex(6)}"
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600))
        probe.unlink()
    except OSError as exc:
        raise OutputPathError(
            f"{flag} {path}: cannot write in {existing} ({exc.strerror or exc})"
        ) from None


def make_dir(path: str | Path) -> Path:
    """``path`` as a real folder (made with its parents if missing); a symlink is refused."""
    path = Path(path)
    refuse_symlink(path)
    path.mkdir(parents=True, exist_ok=True)
    if not path.is_dir():
        raise UnsafePathError(f"{path} is not a folder")
    return path


def write_file(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` to ``path`` whole: a new temporary file beside it, then a rename.
    The folder must exist and be no symlink; a ``path`` that is a symlink is refused."""
    path = Path(path)
    refuse_symlink(path.parent)
    refuse_symlink(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(temporary, flags, 0o644)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
        os.replace(temporary, path)  # a rename replaces a link, never writes through it
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def open_append(path: str | Path) -> TextIO:
    """``path`` opened for appending text (created if missing), never through a symlink."""
    path = Path(path)
    refuse_symlink(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError:
        refuse_symlink(path)  # O_NOFOLLOW's ELOOP, said plainly
        raise
    return os.fdopen(fd, "a", encoding="utf-8")
