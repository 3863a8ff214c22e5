"""Finished tasks' results, kept for a fixed time and then closed on background threads."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from typing import Any

from gfs_runtime.tasks.executor import TaskObserver
from gfs_runtime.tasks.results import FlightDataTaskResult, TaskExecutionResult


class StoredResult:
    """A finished task's result, when its task was submitted (epoch seconds) and when it expires (monotonic)."""

    __slots__ = ("expires_at", "result", "submitted_at")

    def __init__(self, result: TaskExecutionResult, submitted_at: float, expires_at: float) -> None:
        self.result = result
        self.submitted_at = submitted_at
        self.expires_at = expires_at


class ResultStore:
    """Results by task id with a TTL on the monotonic clock; every data result is closed exactly once.

    Methods ending in ``_locked`` must be called holding the lock given to the constructor (the executor's).
    """

    def __init__(
        self, lock: threading.Lock, ttl_sec: float, close_threads: int, observer: TaskObserver, logger: Any
    ) -> None:
        self._lock = lock
        self._ttl_sec = ttl_sec
        self._close_threads = close_threads
        self._observer = observer
        self._logger = logger
        self._closer_cond = threading.Condition(lock)
        # one TTL for all, so insertion order is expiry order: the oldest entry is always first
        self._entries: OrderedDict[str, StoredResult] = OrderedDict()
        self._to_close: deque[FlightDataTaskResult] = deque()
        self._closers: list[threading.Thread] = []
        self._closing_down = False

    def start(self) -> None:
        """Start the threads that expire and close results."""
        for number in range(self._close_threads):
            thread = threading.Thread(target=self._closer_loop, name=f"gfs-result-closer-{number}", daemon=True)
            self._closers.append(thread)
            thread.start()

    def __contains__(self, task_id: str) -> bool:
        return task_id in self._entries

    def add_locked(self, task_id: str, result: TaskExecutionResult, submitted_at: float) -> None:
        """Keep `result` until its TTL passes."""
        was_empty = not self._entries
        self._entries[task_id] = StoredResult(result, submitted_at, time.monotonic() + self._ttl_sec)
        self._observer.result_stored(len(self._entries))
        if was_empty:
            # only a first entry moves the next expiry earlier; later ones expire after it
            self._closer_cond.notify()

    def get_live_locked(self, task_id: str) -> StoredResult | None:
        """The stored result for `task_id` unless absent or expired."""
        entry = self._entries.get(task_id)
        if entry is None or entry.expires_at <= time.monotonic():
            return None
        return entry

    def pop_live_locked(self, task_id: str) -> StoredResult | None:
        """Remove the result for `task_id` and queue it for closing; None when absent or already expired."""
        entry = self._entries.pop(task_id, None)
        if entry is None:
            return None
        self._observer.result_removed(len(self._entries))
        self._queue_close_locked(entry.result)
        return entry if entry.expires_at > time.monotonic() else None

    def discard(self, data: FlightDataTaskResult) -> None:
        """Close data that will never be stored, on a closer thread while they run, else right here."""
        with self._lock:
            if self._closers and not self._closing_down:
                self._to_close.append(data)
                self._closer_cond.notify()
                return
        self._close_quietly(data)

    def shut_down(self, deadline: float | None) -> None:
        """Drop every result, close them all, and join the closer threads by `deadline` (monotonic)."""
        with self._lock:
            while self._entries:
                _, entry = self._entries.popitem(last=False)
                self._observer.result_removed(len(self._entries))
                self._queue_close_locked(entry.result)
            self._closing_down = True
            self._closer_cond.notify_all()
            closers = list(self._closers)
        if not closers:
            while self._to_close:
                self._close_quietly(self._to_close.popleft())
        for thread in closers:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def _queue_close_locked(self, result: TaskExecutionResult) -> None:
        data = result.result
        if isinstance(data, FlightDataTaskResult):
            self._to_close.append(data)
            self._closer_cond.notify()

    def _expire_locked(self) -> float | None:
        """Queue every expired result for closing; seconds until the next expiry, None when empty."""
        now = time.monotonic()
        while self._entries:
            entry = next(iter(self._entries.values()))
            if entry.expires_at > now:
                return entry.expires_at - now
            self._entries.popitem(last=False)
            self._observer.result_removed(len(self._entries))
            data = entry.result.result
            if isinstance(data, FlightDataTaskResult):
                self._to_close.append(data)
        return None

    def _next_to_close(self) -> FlightDataTaskResult | None:
        with self._lock:
            while True:
                if self._to_close:
                    return self._to_close.popleft()
                if self._closing_down:
                    return None
                wait_sec = self._expire_locked()
                if not self._to_close:
                    self._closer_cond.wait(wait_sec)

    def _closer_loop(self) -> None:
        while (data := self._next_to_close()) is not None:
            self._close_quietly(data)

    def _close_quietly(self, data: FlightDataTaskResult) -> None:
        try:
            data.close()
        except BaseException:  # a closer thread must outlive any result's close
            self._logger.warning("result_close_failed", exc_info=True)
