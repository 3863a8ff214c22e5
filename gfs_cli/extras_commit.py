"""Writes several files as one change: every file is replaced atomically, and a failure anywhere undoes them all.

First every new content goes to a temporary file beside its target, and every file to be replaced is linked
(or copied) aside; only then are the targets replaced one by one with `os.replace`. If anything fails or the
run is interrupted, the files already replaced are put back, new files and directories are removed, and no
temporary file is left. A file that changed on disk since it was read aborts the whole change.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from gfs_cli.extras_model import ExtraError

_NEW_FILE_MODE: Final = 0o666  # narrowed by the umask, as for any file a program creates
_BACKUP_SUFFIX: Final = ".gfs-backup"


@dataclass(frozen=True)
class FileWrite:
    """Write `content` to `path`, which must hold `expected` now (None: must not exist); `backup` keeps the old."""

    path: Path
    content: bytes
    expected: bytes | None
    backup: bool = False


@dataclass
class _Transaction:
    created_dirs: list[Path] = field(default_factory=list)
    temps: dict[Path, Path] = field(default_factory=dict)  # target -> its new content, staged
    originals: dict[Path, Path] = field(default_factory=dict)  # target -> its old content, set aside
    backups: list[Path] = field(default_factory=list)
    replaced: list[Path] = field(default_factory=list)


def commit_writes(writes: Sequence[FileWrite]) -> list[Path]:
    """Write every file or none; return the backups made of replaced files (for writes with `backup`)."""
    tx = _Transaction()
    try:
        for write in writes:
            _stage(tx, write)
        for write in writes:
            _check_unchanged(write)
            os.replace(tx.temps[write.path], write.path)
            tx.replaced.append(write.path)
    except BaseException as exc:  # even Ctrl-C: put every file back before the interrupt goes on
        _roll_back(tx, writes)
        if isinstance(exc, OSError):
            raise ExtraError(f"cannot write the change ({exc}); every file was left as it was") from exc
        raise
    for original in tx.originals.values():
        with contextlib.suppress(OSError):
            original.unlink()
    _sync_dirs({write.path.parent for write in writes})
    return tx.backups


def backup_path(path: Path) -> Path:
    """Where the backup of `path` goes: `<name>.gfs-backup`, numbered when that is taken."""
    candidate = path.with_name(path.name + _BACKUP_SUFFIX)
    number = 1
    while candidate.exists() or candidate.is_symlink():
        candidate = path.with_name(f"{path.name}{_BACKUP_SUFFIX}.{number}")
        number += 1
    return candidate


def _stage(tx: _Transaction, write: FileWrite) -> None:
    """Create missing directories, set the old content aside, keep a backup, and write the new content aside."""
    _make_parents(tx, write.path.parent)
    _check_unchanged(write)
    mode = None
    if write.expected is not None:
        mode = stat.S_IMODE(write.path.stat().st_mode)
        tx.originals[write.path] = _set_aside(write.path)
        if write.backup:
            backup = backup_path(write.path)
            shutil.copy2(write.path, backup)
            tx.backups.append(backup)
    tx.temps[write.path] = _write_temp(write.path, write.content, mode)


def _make_parents(tx: _Transaction, directory: Path) -> None:
    missing = [path for path in (directory, *directory.parents) if not path.exists()]
    for path in reversed(missing):
        path.mkdir()
        tx.created_dirs.append(path)


def _check_unchanged(write: FileWrite) -> None:
    try:
        current: bytes | None = write.path.read_bytes()
    except FileNotFoundError:
        current = None
    if current != write.expected:
        raise ExtraError(f"{write.path} changed while the extra was being applied; nothing was written")


def _sibling(path: Path, tag: str) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(6)}.{tag}")


def _set_aside(path: Path) -> Path:
    """A second name for the file's current content, to restore it from (a hard link, or a copy)."""
    aside = _sibling(path, "gfs-orig")
    try:
        os.link(path, aside)
    except OSError:  # a file system without hard links
        shutil.copy2(path, aside)
    return aside


def _write_temp(path: Path, content: bytes, mode: int | None) -> Path:
    temp = _sibling(path, "gfs-new")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _NEW_FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(temp, mode)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


def _roll_back(tx: _Transaction, writes: Sequence[FileWrite]) -> None:
    """Put back every replaced file, then remove every temporary file, backup and created directory."""
    expected = {write.path: write.expected for write in writes}
    for path in reversed(tx.replaced):
        original = tx.originals.get(path)
        try:
            if original is None:
                path.unlink(missing_ok=True)
            else:
                os.replace(original, path)
        except OSError:
            old = expected[path]
            if old is not None:
                path.write_bytes(old)  # the content read before, in memory: the last way back
    for leftover in (*tx.temps.values(), *tx.originals.values(), *tx.backups):
        with contextlib.suppress(OSError):
            leftover.unlink(missing_ok=True)
    for directory in reversed(tx.created_dirs):
        with contextlib.suppress(OSError):
            directory.rmdir()


def _sync_dirs(directories: set[Path]) -> None:
    """Flush the directory entries so the renames survive a crash (best effort: not every OS allows it)."""
    for directory in directories:
        with contextlib.suppress(OSError):
            fd = os.open(directory, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
