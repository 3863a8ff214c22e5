"""`gfs run --reload`: the child restarts when a watched file changes and stops with one SIGTERM."""

from __future__ import annotations

import os
import select
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from gfs_cli.reload import Reloader, changed_paths, snapshot

pytestmark = pytest.mark.timeout(30)

LINE_TIMEOUT_SEC = 15.0
CHILD = """
import os, signal, sys, threading
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
print("started", os.getpid(), flush=True)
if sys.argv[1:] == ["exit-at-once"]:
    sys.exit(4)
stop.wait(60)
sys.exit(0 if stop.is_set() else 3)
"""


class LineReader:
    """Reads the children's stdout lines from a pipe, with a timeout per line."""

    def __init__(self) -> None:
        read_fd, write_fd = os.pipe()
        self.reader = os.fdopen(read_fd, "r")
        self.writer: IO[str] = os.fdopen(write_fd, "w")

    def next_line(self) -> str:
        ready, _, _ = select.select([self.reader], [], [], LINE_TIMEOUT_SEC)
        assert ready, "no line from the child in time"
        return self.reader.readline().strip()

    def close(self) -> None:
        self.writer.close()
        self.reader.close()


@pytest.fixture
def lines() -> Iterator[LineReader]:
    reader = LineReader()
    yield reader
    reader.close()


def start_reloader(reloader: Reloader) -> tuple[threading.Thread, list[int]]:
    codes: list[int] = []
    thread = threading.Thread(target=lambda: codes.append(reloader.run()), daemon=True)
    thread.start()
    return thread, codes


def make_reloader(tmp_path: Path, lines: LineReader, *args: str, script: str = CHILD) -> Reloader:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "module.py").write_text("x = 1\n")
    command = [sys.executable, "-c", script, *args]
    return Reloader(command, [tmp_path / "src"], stdout=lines.writer, poll_interval_sec=0.05)


def test_change_of_a_watched_file_restarts_the_child(tmp_path: Path, lines: LineReader) -> None:
    reloader = make_reloader(tmp_path, lines)
    thread, codes = start_reloader(reloader)
    first = lines.next_line()

    (tmp_path / "src" / "module.py").write_text("x = 22\n")
    second = lines.next_line()
    reloader.stop()
    thread.join(LINE_TIMEOUT_SEC)

    assert first.startswith("started")
    assert second.startswith("started")
    assert first != second  # another process
    assert reloader.restarts == 1
    assert codes == [0]


def test_stop_ends_the_child_gracefully_and_returns_its_code(tmp_path: Path, lines: LineReader) -> None:
    reloader = make_reloader(tmp_path, lines)
    thread, codes = start_reloader(reloader)
    lines.next_line()

    reloader.stop()
    thread.join(LINE_TIMEOUT_SEC)

    assert not thread.is_alive()
    assert codes == [0]
    assert reloader.restarts == 0


def test_child_that_exits_is_started_again_after_a_change(tmp_path: Path, lines: LineReader) -> None:
    reloader = make_reloader(tmp_path, lines, "exit-at-once")
    thread, codes = start_reloader(reloader)
    first = lines.next_line()

    (tmp_path / "src" / "new_module.py").write_text("y = 1\n")
    second = lines.next_line()
    reloader.stop()
    thread.join(LINE_TIMEOUT_SEC)

    assert first != second
    assert not thread.is_alive()
    assert len(codes) == 1


def _wait_until_dead(pid: int) -> None:
    """Wait until process `pid` has died (a zombie not yet reaped counts as dead)."""
    deadline = time.monotonic() + LINE_TIMEOUT_SEC
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} still alive")


def test_child_killed_by_a_signal_gives_128_plus_the_signal(tmp_path: Path, lines: LineReader) -> None:
    script = "import os, signal; print('started', os.getpid(), flush=True); os.kill(os.getpid(), signal.SIGKILL)"
    reloader = make_reloader(tmp_path, lines, script=script)
    thread, codes = start_reloader(reloader)
    _wait_until_dead(int(lines.next_line().split()[1]))  # stopping earlier would end it with SIGTERM instead

    reloader.stop()
    thread.join(LINE_TIMEOUT_SEC)

    assert codes == [128 + 9]


def test_snapshot_sees_added_modified_and_removed_watched_files(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("a")
    (tmp_path / "b.toml").write_text("b")
    before = snapshot([tmp_path])

    (tmp_path / "a.py").write_text("changed")
    (tmp_path / "b.toml").unlink()
    (tmp_path / "c.py").write_text("c")

    assert changed_paths(before, snapshot([tmp_path])) == [tmp_path / "a.py", tmp_path / "b.toml", tmp_path / "c.py"]


def test_snapshot_ignores_caches_and_unwatched_files(tmp_path: Path) -> None:
    before = snapshot([tmp_path])

    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.py").write_text("cached")
    (tmp_path / "notes.txt").write_text("not watched")

    assert changed_paths(before, snapshot([tmp_path])) == []
