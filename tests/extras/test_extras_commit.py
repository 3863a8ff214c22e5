"""Writing several files as one change: all land, or every file stays as it was."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from extras_support import file_hashes

from gfs_cli.extras_commit import FileWrite, backup_path, commit_writes
from gfs_cli.extras_model import ExtraError

pytestmark = pytest.mark.timeout(10)


def test_every_file_is_written_keeping_the_mode_of_replaced_files(tmp_path: Path) -> None:
    script = tmp_path / "run.sh"
    script.write_bytes(b"old\n")
    script.chmod(0o750)

    backups = commit_writes(
        [FileWrite(tmp_path / "a" / "b" / "new.txt", b"new\n", None), FileWrite(script, b"fresh\n", b"old\n")]
    )

    assert backups == []
    assert (tmp_path / "a" / "b" / "new.txt").read_bytes() == b"new\n"
    assert script.read_bytes() == b"fresh\n"
    assert stat.S_IMODE(script.stat().st_mode) == 0o750
    assert sorted(file_hashes(tmp_path)) == ["a/b/new.txt", "run.sh"]  # no temporary file left


def test_a_file_changed_since_it_was_read_aborts_the_whole_change(tmp_path: Path) -> None:
    changed = tmp_path / "changed.txt"
    changed.write_bytes(b"edited meanwhile\n")
    before = file_hashes(tmp_path)

    with pytest.raises(ExtraError, match="changed while"):
        commit_writes([FileWrite(tmp_path / "new.txt", b"x", None), FileWrite(changed, b"y", b"as read\n")])

    assert file_hashes(tmp_path) == before


def test_failure_after_replacing_puts_back_old_files_and_removes_new_ones_and_dirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = tmp_path / "kept.txt"
    kept.write_bytes(b"original\n")
    before = file_hashes(tmp_path)
    real_replace = os.replace
    targets: list[str] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        targets.append(Path(dst).name)
        if len(targets) == 3:
            raise PermissionError(13, "Permission denied")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    writes = [
        FileWrite(kept, b"changed\n", b"original\n", backup=True),
        FileWrite(tmp_path / "deep" / "new.txt", b"new\n", None),
        FileWrite(tmp_path / "last.txt", b"last\n", None),
    ]

    with pytest.raises(ExtraError, match="left as it was"):
        commit_writes(writes)

    assert file_hashes(tmp_path) == before
    assert not (tmp_path / "deep").exists()


def test_backup_names_are_numbered_when_taken(tmp_path: Path) -> None:
    path = tmp_path / "verifier.py"
    (tmp_path / "verifier.py.gfs-backup").write_text("first")

    assert backup_path(path) == tmp_path / "verifier.py.gfs-backup.1"


def test_forced_write_keeps_a_backup_with_the_old_content(tmp_path: Path) -> None:
    path = tmp_path / "verifier.py"
    path.write_bytes(b"mine\n")

    backups = commit_writes([FileWrite(path, b"theirs\n", b"mine\n", backup=True)])

    assert backups == [tmp_path / "verifier.py.gfs-backup"]
    assert backups[0].read_bytes() == b"mine\n"
    assert path.read_bytes() == b"theirs\n"
