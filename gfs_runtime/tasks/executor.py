"""The TaskExecutor interface, and the observer hooks through which executors report metrics."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, Literal, Protocol, TypeAlias

from gfs_runtime.tasks.results import TaskExecutionResult
from gfs_runtime.tasks.task import Task

TaskOutcome: TypeAlias = Literal["ok", "failed", "cancelled"]
"""How a task run ended: the closed label set for task metrics."""


class TaskObserver(Protocol):
    """Receives task lifecycle events, e.g. to update metrics; every hook must be fast and must not block."""

    def task_submitted(self, queued: int) -> None:
        """A task joined the queue; `queued` is the queue length after it did."""

    def task_rejected(self) -> None:
        """A task was refused because the queue was full (BACKPRESSURE)."""

    def task_dropped(self, queued: int) -> None:
        """A queued task was cancelled before it started; it never runs and gets no `task_finished`."""

    def task_started(self, wait_sec: float, queued: int) -> None:
        """A worker took a task off the queue after it waited `wait_sec`; `queued` is the length left."""

    def task_finished(self, duration_sec: float, outcome: TaskOutcome) -> None:
        """A task's run ended after `duration_sec` with `outcome`."""

    def result_stored(self, stored: int) -> None:
        """A finished task's result was stored; `stored` is how many results are held now."""

    def result_removed(self, stored: int) -> None:
        """A result left the store (expired, closed or cancelled); `stored` is how many are left."""


class NoopTaskObserver:
    """TaskObserver that ignores every event."""

    def task_submitted(self, queued: int) -> None:
        """Ignore the event."""

    def task_rejected(self) -> None:
        """Ignore the event."""

    def task_dropped(self, queued: int) -> None:
        """Ignore the event."""

    def task_started(self, wait_sec: float, queued: int) -> None:
        """Ignore the event."""

    def task_finished(self, duration_sec: float, outcome: TaskOutcome) -> None:
        """Ignore the event."""

    def result_stored(self, stored: int) -> None:
        """Ignore the event."""

    def result_removed(self, stored: int) -> None:
        """Ignore the event."""


class TaskExecutor(abc.ABC):
    """Runs tasks in the background and keeps their results for a while for DoGet to read."""

    @abc.abstractmethod
    def submit(self, task: Task) -> None:
        """Queue `task`; raises a FlightError (BACKPRESSURE, SHUTTING_DOWN) when it cannot be taken."""

    @abc.abstractmethod
    def get_task_submitted_timestamp(self, task_id: str) -> float | None:
        """When the task was submitted, in seconds since the epoch; None for unknown or expired ids."""

    @abc.abstractmethod
    def wait_for_result(
        self,
        task_id: str,
        timeout: float | None = None,
        *,
        should_stop: Callable[[], bool] | None = None,
    ) -> TaskExecutionResult | None:
        """The task's outcome once it ends; None for unknown or expired ids.

        Raises TaskWaitTimeoutError when `timeout` passes, or `should_stop()` turns true, first.
        """

    @abc.abstractmethod
    def cancel(self, task_id: str) -> bool:
        """Cancel a queued or running task, or drop a finished one's result; False for unknown ids."""

    @abc.abstractmethod
    def close_result(self, task_id: str) -> bool:
        """Drop and close a finished task's result; False when there is none."""

    @abc.abstractmethod
    def stop(self, cancel_running: bool = True, timeout: float | None = None) -> None:
        """Cancel queued (and by default running) tasks, close all results, and end the threads."""


class GuardedTaskObserver:
    """Wraps a TaskObserver so that a failing hook is logged and never breaks the executor."""

    def __init__(self, inner: TaskObserver, logger: Any) -> None:
        self._inner = inner
        self._logger = logger

    def _failed(self, hook: str) -> None:
        self._logger.warning("task_observer_failed", hook=hook, exc_info=True)

    def task_submitted(self, queued: int) -> None:
        """Forward the event."""
        try:
            self._inner.task_submitted(queued)
        except Exception:
            self._failed("task_submitted")

    def task_rejected(self) -> None:
        """Forward the event."""
        try:
            self._inner.task_rejected()
        except Exception:
            self._failed("task_rejected")

    def task_dropped(self, queued: int) -> None:
        """Forward the event."""
        try:
            self._inner.task_dropped(queued)
        except Exception:
            self._failed("task_dropped")

    def task_started(self, wait_sec: float, queued: int) -> None:
        """Forward the event."""
        try:
            self._inner.task_started(wait_sec, queued)
        except Exception:
            self._failed("task_started")

    def task_finished(self, duration_sec: float, outcome: TaskOutcome) -> None:
        """Forward the event."""
        try:
            self._inner.task_finished(duration_sec, outcome)
        except Exception:
            self._failed("task_finished")

    def result_stored(self, stored: int) -> None:
        """Forward the event."""
        try:
            self._inner.result_stored(stored)
        except Exception:
            self._failed("result_stored")

    def result_removed(self, stored: int) -> None:
        """Forward the event."""
        try:
            self._inner.result_removed(stored)
        except Exception:
            self._failed("result_removed")
