"""Periodic glibc ``malloc_trim(0)``, so memory freed by Arrow buffers goes back to the OS.

glibc keeps freed heap pages in its arenas; a long-running Flight server that streams large tables
can look like it leaks until the pod's memory limit kills it. Trimming every few seconds returns that
memory. Where libc has no ``malloc_trim`` (musl, macOS) the trimmer does nothing.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Callable
from typing import Final

from gfs_runtime.telemetry.event_logger import get_logger

TrimCallback = Callable[[float, bool], None]
"""Called after each trim with its duration in seconds and whether it succeeded."""

_LIBC_CANDIDATES: Final[tuple[str | None, ...]] = (None, "libc.so.6")


def _find_malloc_trim() -> Callable[[int], int] | None:
    """The process's ``malloc_trim`` as a ctypes function, or None where libc lacks it."""
    for name in _LIBC_CANDIDATES:
        try:
            libc = ctypes.CDLL(name)
            trim = libc.malloc_trim
        except (OSError, AttributeError, TypeError):
            continue
        trim.argtypes = [ctypes.c_size_t]
        trim.restype = ctypes.c_int
        return trim
    return None


class MallocTrimmer:
    """Calls ``malloc_trim(0)`` every ``interval_sec`` on a daemon thread; interval 0 disables it."""

    def __init__(self, interval_sec: float, on_trim: TrimCallback | None = None) -> None:
        if interval_sec < 0:
            raise ValueError(f"interval_sec must be >= 0, got {interval_sec!r}")
        self._interval_sec = interval_sec
        self._on_trim = on_trim
        self._malloc_trim = _find_malloc_trim() if interval_sec > 0 else None
        self._stop_requested = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._logger = get_logger("gfs_runtime.health")

    @property
    def interval_sec(self) -> float:
        """Seconds between trims; 0 means trimming is disabled."""
        return self._interval_sec

    @property
    def is_supported(self) -> bool:
        """True when this libc provides ``malloc_trim`` (always False when disabled by interval 0)."""
        return self._malloc_trim is not None

    @property
    def is_running(self) -> bool:
        """True while the trimming thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def start(self) -> None:
        """Start the trimming thread; does nothing when disabled, unsupported or already running."""
        with self._lock:
            if self._thread is not None or self._interval_sec == 0:
                return
            if self._malloc_trim is None:
                self._logger.debug("malloc_trim_unsupported")
                return
            self._stop_requested.clear()
            self._thread = threading.Thread(target=self._run, name="gfs-malloc-trim", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Wake the thread at once and join it; calling it again does nothing."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self._stop_requested.set()
            thread.join()

    def trim_once(self) -> bool:
        """Trim now and report to ``on_trim``; returns whether the call succeeded (False if unsupported)."""
        malloc_trim = self._malloc_trim
        if malloc_trim is None:
            return False
        started = time.perf_counter()
        try:
            malloc_trim(0)
            ok = True
        except Exception:
            self._logger.error("malloc_trim_failed", exc_info=True)
            ok = False
        self._notify(time.perf_counter() - started, ok)
        return ok

    def _run(self) -> None:
        while not self._stop_requested.wait(self._interval_sec):
            self.trim_once()

    def _notify(self, duration_sec: float, ok: bool) -> None:
        if self._on_trim is None:
            return
        try:
            self._on_trim(duration_sec, ok)
        except Exception:
            self._logger.warning("malloc_trim_callback_failed", exc_info=True)
