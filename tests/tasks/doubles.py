"""Test doubles for task tests: a callable-backed Task, gates, close counters and a recording observer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pyarrow

from gfs_runtime.tasks import FlightDataTaskResult, Task, TaskError, TaskOutcome, TaskResult, ThreadTaskExecutor

RunFn = Callable[[Task], TaskResult | TaskError]


class CallableTask(Task):
    """Task whose run is a function of the task itself."""

    def __init__(self, fn: RunFn, cmd: bytes = b"cmd", **kwargs: Any) -> None:
        super().__init__(cmd, **kwargs)
        self._fn = fn
        self.cancel_hook_calls = 0

    def run(self) -> TaskResult | TaskError:
        return self._fn(self)

    def on_task_cancel(self) -> None:
        self.cancel_hook_calls += 1


def small_table(value: int = 1) -> pyarrow.Table:
    """A one-column table holding `value`."""
    return pyarrow.table({"x": [value]})


def table_result(value: int = 1, on_close: Callable[[], None] | None = None) -> RunFn:
    """A run function returning a table result."""
    return lambda _task: FlightDataTaskResult.for_table(small_table(value), on_close=on_close)


def noting(action: Callable[[], object]) -> RunFn:
    """A run function that calls `action`, then returns a table result."""

    def run(_task: Task) -> TaskResult:
        action()
        return FlightDataTaskResult.for_table(small_table())

    return run


def gated(gate: threading.Event, started: threading.Event | None = None, cooperative: bool = True) -> RunFn:
    """A run function that signals `started` then waits for `gate`, checking for cancel if cooperative."""

    def run(task: Task) -> TaskResult:
        if started is not None:
            started.set()
        while not gate.wait(0.005):
            if cooperative:
                task.check_cancelled()
        return FlightDataTaskResult.for_table(small_table())

    return run


class CloseCounter:
    """An on_close callback that counts its calls and sets an event on the first."""

    def __init__(self) -> None:
        self.calls = 0
        self.closed = threading.Event()
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            self.calls += 1
        self.closed.set()


class RecordingObserver:
    """TaskObserver that records every event under a lock."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self._lock = threading.Lock()

    def _add(self, *event: Any) -> None:
        with self._lock:
            self.events.append(event)

    def names(self) -> list[str]:
        with self._lock:
            return [event[0] for event in self.events]

    def task_submitted(self, queued: int) -> None:
        self._add("submitted", queued)

    def task_rejected(self) -> None:
        self._add("rejected")

    def task_dropped(self, queued: int) -> None:
        self._add("dropped", queued)

    def task_started(self, wait_sec: float, queued: int) -> None:
        self._add("started", wait_sec, queued)

    def task_finished(self, duration_sec: float, outcome: TaskOutcome) -> None:
        self._add("finished", duration_sec, outcome)

    def result_stored(self, stored: int) -> None:
        self._add("stored", stored)

    def result_removed(self, stored: int) -> None:
        self._add("removed", stored)


ExecutorFactory = Callable[..., ThreadTaskExecutor]


class Gates:
    """Events that tasks wait on; all are opened before executors stop so no task outlives a test."""

    def __init__(self) -> None:
        self._events: list[threading.Event] = []

    def new(self) -> threading.Event:
        event = threading.Event()
        self._events.append(event)
        return event

    def open_all(self) -> None:
        for event in self._events:
            event.set()
