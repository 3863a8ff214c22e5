"""Task: one unit of long-running work with cooperative cancellation."""

from __future__ import annotations

import abc
import threading
import uuid
from concurrent.futures import CancelledError
from typing import final

from gfs_runtime.tasks.results import TaskResult
from gfs_runtime.tasks.task_error import TaskError
from gfs_runtime.telemetry.event_logger import get_logger


class Task(abc.ABC):
    """Work for an executor: subclasses implement `run` and call `check_cancelled` between steps."""

    def __init__(self, cmd: bytes, cancellable: bool = True, task_id: str | None = None) -> None:
        self._task_id = task_id or uuid.uuid4().hex
        self._cmd = cmd
        self._cancel_lock = threading.Lock()
        self._cancellable = cancellable
        self._cancelled = False

    @final
    @property
    def task_id(self) -> str:
        """Identifier of this task (a uuid4 hex string unless given)."""
        return self._task_id

    @final
    @property
    def cmd(self) -> bytes:
        """The command the task was created for."""
        return self._cmd

    @final
    @property
    def cancelled(self) -> bool:
        """True once `cancel` succeeded."""
        return self._cancelled

    def check_cancelled(self) -> None:
        """Raise `concurrent.futures.CancelledError` when the task was cancelled; call it between steps."""
        if self._cancelled:
            raise CancelledError()

    @final
    def switch_non_cancellable(self) -> None:
        """Enter a point of no return: later cancels fail; raises CancelledError if already cancelled."""
        with self._cancel_lock:
            if self._cancelled:
                raise CancelledError()
            self._cancellable = False

    @final
    def cancel(self) -> bool:
        """Mark the task cancelled (running `on_task_cancel` the first time); False when not cancellable."""
        with self._cancel_lock:
            if not self._cancellable:
                return False
            first_cancel = not self._cancelled
            self._cancelled = True
        if first_cancel:
            # outside the lock, so the hook may read `cancelled` or cancel sub-tasks freely
            try:
                self.on_task_cancel()
            except Exception:
                get_logger("gfs_runtime.tasks").warning("task_cancel_hook_failed", task_id=self._task_id, exc_info=True)
        return True

    def on_task_cancel(self) -> None:
        """Hook run once on the first successful cancel, e.g. to cascade it; must not block."""
        return

    def on_task_error(self, error: TaskError) -> TaskError | None:
        """Hook to inspect or replace the TaskError of a failed run; None keeps `error`."""
        return error

    @abc.abstractmethod
    def run(self) -> TaskResult | TaskError:
        """Do the work; return a result or TaskError, or raise (the executor turns it into a TaskError)."""
