"""`gfs run --reload`: runs the service in a child process and restarts it when its sources or config change."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Final

WATCHED_SUFFIXES: Final = frozenset({".py", ".toml", ".csv", ".json", ".yaml", ".yml", ".ini"})
POLL_INTERVAL_SEC: Final = 0.3
STOP_TIMEOUT_SEC: Final = 60.0
_SKIPPED_DIRS: Final = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".git", ".venv"})

Snapshot = dict[Path, tuple[int, int]]


def snapshot(dirs: Sequence[Path]) -> Snapshot:
    """Modification time and size of every watched file under `dirs`."""
    seen: Snapshot = {}
    for root in dirs:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [name for name in dirnames if name not in _SKIPPED_DIRS]
            for name in filenames:
                path = Path(dirpath, name)
                if path.suffix in WATCHED_SUFFIXES:
                    try:
                        stat = path.stat()
                    except OSError:
                        continue
                    seen[path] = (stat.st_mtime_ns, stat.st_size)
    return seen


def changed_paths(before: Snapshot, after: Snapshot) -> list[Path]:
    """Files added, removed or modified between two snapshots."""
    return sorted(path for path in before.keys() | after.keys() if before.get(path) != after.get(path))


class Reloader:
    """Keeps one child process running the service; restarts it on changes; stops it when asked."""

    def __init__(
        self,
        command: Sequence[str],
        watch_dirs: Sequence[Path],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        stdout: IO[str] | None = None,
        poll_interval_sec: float = POLL_INTERVAL_SEC,
    ) -> None:
        self._command = list(command)
        self._watch_dirs = list(watch_dirs)
        self._cwd = cwd
        self._env = dict(env) if env is not None else None
        self._stdout = stdout
        self._poll_interval_sec = poll_interval_sec
        self._stop = threading.Event()
        self.restarts = 0

    def stop(self) -> None:
        """Ask `run` to stop the child gracefully (SIGTERM) and return; callable from any thread."""
        self._stop.set()

    def run(self) -> int:
        """Run until `stop`; return the exit code of the last child (0 after a graceful stop)."""
        files = snapshot(self._watch_dirs)
        while True:
            child = self._spawn()
            files, changes = self._wait_for_change(child, files)
            code = self._stop_child(child)
            if not changes:
                return code if code >= 0 else 128 - code  # killed by signal N: exit 128 + N, as shells report it
            self.restarts += 1
            shown = ", ".join(str(path) for path in changes[:3])
            print(f"gfs: {shown} changed; restarting", file=sys.stderr, flush=True)

    def _spawn(self) -> subprocess.Popen[str]:
        # its own process group: a Ctrl-C in the terminal reaches only this supervisor, which
        # then sends the child exactly one SIGTERM (a second signal would abort the child)
        return subprocess.Popen(  # noqa: S603  # the command is gfs's own, built from the repo's settings
            self._command, cwd=self._cwd, env=self._env, stdout=self._stdout, text=True, process_group=0
        )

    def _wait_for_change(self, child: subprocess.Popen[str], files: Snapshot) -> tuple[Snapshot, list[Path]]:
        """Wait until a watched file changes (the changes) or `stop` is asked (no changes)."""
        reported_exit = False
        while not self._stop.wait(self._poll_interval_sec):
            if child.poll() is not None and not reported_exit:
                reported_exit = True
                print(
                    f"gfs: the service exited with code {child.returncode}; waiting for changes",
                    file=sys.stderr,
                    flush=True,
                )
            current = snapshot(self._watch_dirs)
            changes = changed_paths(files, current)
            if changes:
                return current, changes
        return files, []

    def _stop_child(self, child: subprocess.Popen[str]) -> int:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                return child.wait(STOP_TIMEOUT_SEC)
            except subprocess.TimeoutExpired:
                child.kill()
                return child.wait()
        return child.returncode


def run_with_reload(reloader: Reloader) -> int:
    """Run the reloader with SIGINT/SIGTERM asking it to stop (handlers restored afterwards)."""
    restore = _install_stop_handlers(reloader.stop)
    try:
        return reloader.run()
    finally:
        restore()


def _install_stop_handlers(on_signal: Callable[[], None]) -> Callable[[], None]:
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    def handle(signum: int, frame: FrameType | None) -> None:
        on_signal()

    for sig in previous:
        signal.signal(sig, handle)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)

    return restore
