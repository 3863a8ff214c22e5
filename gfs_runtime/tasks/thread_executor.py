"""ThreadTaskExecutor: a bounded FIFO queue, a fixed pool of worker threads and a TTL result store."""

from __future__ import annotations

import contextvars
import queue
import threading
import time
from collections.abc import Callable

import pyarrow.flight

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.tasks.executor import GuardedTaskObserver, NoopTaskObserver, TaskExecutor, TaskObserver
from gfs_runtime.tasks.hooks import SubmitHook, TaskSpanFactory
from gfs_runtime.tasks.outcomes import RunOutcome, outcome_of_exception, outcome_of_return, task_error_for
from gfs_runtime.tasks.result_store import ResultStore
from gfs_runtime.tasks.results import FlightDataTaskResult, TaskExecutionResult
from gfs_runtime.tasks.task import Task
from gfs_runtime.tasks.task_error import TaskWaitTimeoutError
from gfs_runtime.telemetry.event_logger import get_logger

# the longest a waiter with `should_stop` goes without asking it (pyarrow's is_cancelled can only be polled)
STOP_CHECK_INTERVAL_SEC = 0.05

_QUEUED, _RUNNING, _DONE, _ABANDONED = range(4)


class _Execution:
    __slots__ = ("context", "queued_at", "result", "state", "submitted_at", "task", "waiters")

    def __init__(self, task: Task) -> None:
        self.task = task
        # the task runs in a copy of its submitter's context: structlog and OpenTelemetry context follow it
        self.context = contextvars.copy_context()
        self.submitted_at = time.time()
        self.queued_at = time.monotonic()
        self.state = _QUEUED
        self.result: TaskExecutionResult | None = None
        self.waiters: threading.Condition | None = None


def _shutting_down_error() -> pyarrow.flight.FlightUnavailableError:
    return ErrorInfo.for_reason(ErrorCode.SHUTTING_DOWN, "The server is shutting down.").to_unavailable_error()


class ThreadTaskExecutor(TaskExecutor):
    """TaskExecutor on a fixed pool of threads, with backpressure, result TTL and cooperative cancel.

    Waits on tasks that had not finished when `stop` began raise a FlightUnavailableError (SHUTTING_DOWN);
    after `stop`, unknown and finished ids give None.
    """

    def __init__(
        self,
        *,
        task_threads: int,
        task_close_threads: int,
        task_queue_size: int,
        result_ttl_sec: float,
        observer: TaskObserver | None = None,
        error_tracebacks: bool = False,
        task_span: TaskSpanFactory | None = None,
        on_submit: SubmitHook | None = None,
    ) -> None:
        if task_threads < 1 or task_close_threads < 1 or task_queue_size < 1:
            raise ValueError("task_threads, task_close_threads and task_queue_size must each be at least 1")
        if result_ttl_sec <= 0:
            raise ValueError(f"result_ttl_sec must be positive, got {result_ttl_sec}")
        self._logger = get_logger("gfs_runtime.tasks")
        self._observer: TaskObserver = (
            NoopTaskObserver() if observer is None else GuardedTaskObserver(observer, self._logger)
        )
        self._task_threads = task_threads
        self._queue_size = task_queue_size
        self._error_tracebacks = error_tracebacks
        self._task_span = task_span
        self._on_submit = on_submit
        self._lock = threading.Lock()
        self._work: queue.SimpleQueue[_Execution | None] = queue.SimpleQueue()
        self._pending: dict[str, _Execution] = {}
        self._queued = 0
        self._store = ResultStore(self._lock, result_ttl_sec, task_close_threads, self._observer, self._logger)
        self._workers: list[threading.Thread] = []
        self._idle_workers = 0  # workers started and not running a task (guarded by _lock)
        self._started = False
        self._stopping = False

    def start(self) -> None:
        """Start the closer threads and let tasks run; workers start as tasks need them, up to `task_threads`."""
        with self._lock:
            if self._started or self._stopping:
                raise RuntimeError("a ThreadTaskExecutor can be started once, before stop()")
            self._started = True
            self._store.start()
            self._add_workers_locked()

    def _add_workers_locked(self) -> None:
        """Start workers until each queued task has an idle one, or `task_threads` run (called with _lock held).

        Starting them on demand keeps server start-up fast (no pool of idle threads to create first).
        """
        while self._queued > self._idle_workers and len(self._workers) < self._task_threads:
            number = len(self._workers)
            thread = threading.Thread(target=self._work_loop, name=f"gfs-task-worker-{number}", daemon=True)
            self._workers.append(thread)
            self._idle_workers += 1
            thread.start()

    def submit(self, task: Task) -> None:
        """Queue `task`; FlightUnavailableError with BACKPRESSURE when the queue is full."""
        execution = _Execution(task)
        if self._on_submit is not None:
            self._run_submit_hook(self._on_submit, execution)
        with self._lock:
            if self._stopping:
                raise _shutting_down_error()
            if self._queued >= self._queue_size:
                self._observer.task_rejected()
                raise ErrorInfo.for_reason(
                    ErrorCode.BACKPRESSURE, f"Too many tasks are waiting ({self._queued}); retry later."
                ).to_unavailable_error()
            if task.task_id in self._pending or task.task_id in self._store:
                raise ValueError(f"a task with id {task.task_id!r} is already known to this executor")
            self._pending[task.task_id] = execution
            self._queued += 1
            self._observer.task_submitted(self._queued)
            self._work.put(execution)
            if self._started:
                self._add_workers_locked()

    def _run_submit_hook(self, hook: SubmitHook, execution: _Execution) -> None:
        try:
            execution.context.run(hook, execution.task)
        except Exception:  # a hook (log fields) must never stop a task from being submitted
            self._logger.warning("task_submit_hook_failed", task_id=execution.task.task_id, exc_info=True)

    def get_task_submitted_timestamp(self, task_id: str) -> float | None:
        """When the task was submitted (epoch seconds); None for unknown or expired ids."""
        with self._lock:
            execution = self._pending.get(task_id)
            if execution is not None:
                return execution.submitted_at
            stored = self._store.get_live_locked(task_id)
            return None if stored is None else stored.submitted_at

    def wait_for_result(
        self,
        task_id: str,
        timeout: float | None = None,
        *,
        should_stop: Callable[[], bool] | None = None,
    ) -> TaskExecutionResult | None:
        """The task's outcome once it ends; None for unknown or expired ids.

        Raises TaskWaitTimeoutError when `timeout` passes or `should_stop()` turns true first (it is asked
        at least every 50 ms), and a FlightUnavailableError (SHUTTING_DOWN) when `stop` ends the wait.
        """
        with self._lock:
            stored = self._store.get_live_locked(task_id)
            if stored is not None:
                return stored.result
            execution = self._pending.get(task_id)
        if execution is None:
            return None
        return self._wait(execution, timeout, should_stop)

    def _wait(
        self, execution: _Execution, timeout: float | None, should_stop: Callable[[], bool] | None
    ) -> TaskExecutionResult | None:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                if execution.state == _DONE:
                    return execution.result
                if self._stopping:
                    raise _shutting_down_error()
                wait_sec = None if deadline is None else deadline - time.monotonic()
                if wait_sec is not None and wait_sec <= 0:
                    raise TaskWaitTimeoutError(execution.task.task_id, execution.task.cmd)
                if should_stop is not None:
                    wait_sec = STOP_CHECK_INTERVAL_SEC if wait_sec is None else min(wait_sec, STOP_CHECK_INTERVAL_SEC)
                if execution.waiters is None:
                    execution.waiters = threading.Condition(self._lock)
                execution.waiters.wait(wait_sec)
                if execution.state == _DONE:
                    return execution.result
            # asked outside the lock: it is the caller's code
            if should_stop is not None and should_stop():
                raise TaskWaitTimeoutError(execution.task.task_id, execution.task.cmd)

    def cancel(self, task_id: str) -> bool:
        """Cancel a queued task (it never runs) or a running one (if still cancellable), or drop a result."""
        with self._lock:
            execution = self._pending.get(task_id)
            if execution is None:
                return self._store.pop_live_locked(task_id) is not None
            dropped = execution.state == _QUEUED
            if dropped:
                self._queued -= 1
                queued = self._queued
                cancelled = TaskExecutionResult(task_id, execution.task.cmd, None, True, None)
                self._finish_locked(execution, cancelled)
        if not dropped:
            return execution.task.cancel()
        self._observer.task_dropped(queued)
        execution.task.cancel()
        return True

    def close_result(self, task_id: str) -> bool:
        """Drop a finished task's result and close it in the background; False when there is none."""
        with self._lock:
            return self._store.pop_live_locked(task_id) is not None

    def stop(self, cancel_running: bool = True, timeout: float | None = None) -> None:
        """Drop queued tasks, cancel running ones (unless told not to), wake all waiters, close all results.

        Worker and closer threads are joined within `timeout` seconds overall; a task that ignores
        cancellation keeps its (daemon) thread, and its result is closed when it ends.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            first_stop = not self._stopping
            self._stopping = True
            unfinished = list(self._pending.values())
            for execution in unfinished:
                if execution.waiters is not None:
                    execution.waiters.notify_all()
            dropped = [execution for execution in unfinished if execution.state == _QUEUED]
            for execution in dropped:
                execution.state = _ABANDONED
                del self._pending[execution.task.task_id]
            self._queued = 0
            if first_stop:
                for _ in self._workers:
                    self._work.put(None)
        for position, execution in enumerate(dropped):
            self._observer.task_dropped(len(dropped) - position - 1)
            execution.task.cancel()
        if cancel_running:
            for execution in unfinished:
                if execution.state == _RUNNING:
                    execution.task.cancel()
        for thread in self._workers:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._store.shut_down(deadline)

    def _finish_locked(self, execution: _Execution, result: TaskExecutionResult) -> None:
        task_id = execution.task.task_id
        del self._pending[task_id]
        execution.state = _DONE
        execution.result = result
        self._store.add_locked(task_id, result, execution.submitted_at)
        if execution.waiters is not None:
            execution.waiters.notify_all()

    def _work_loop(self) -> None:
        while (execution := self._work.get()) is not None:
            with self._lock:
                if execution.state != _QUEUED:
                    continue
                execution.state = _RUNNING
                self._queued -= 1
                self._idle_workers -= 1
                queued = self._queued
            started = time.monotonic()
            self._observer.task_started(started - execution.queued_at, queued)
            execution.context.run(self._execute, execution, started)

    def _execute(self, execution: _Execution, started: float) -> None:
        try:
            if self._task_span is None:
                outcome = self._run(execution.task)
            else:
                outcome = self._run_in_span(execution.task, self._task_span)
        except BaseException as exc:  # the outcome handling itself failed (a hook or a log call raised)
            error = task_error_for(exc, include_traceback=self._error_tracebacks)
            task = execution.task
            outcome = RunOutcome(TaskExecutionResult(task.task_id, task.cmd, None, False, error), "failed")
        self._observer.task_finished(time.monotonic() - started, outcome.outcome)
        self._complete(execution, outcome)

    def _run_in_span(self, task: Task, task_span: TaskSpanFactory) -> RunOutcome:
        with task_span(task.task_id) as span:
            outcome = self._run(task)
            error = outcome.result.error
            if error is not None:
                span.fail(ErrorCode.name(error.error_info.code))
        return outcome

    def _run(self, task: Task) -> RunOutcome:
        try:
            returned = task.run()
        except BaseException as exc:  # anything a task raises, even SystemExit, ends as its outcome
            return outcome_of_exception(task, exc, self._logger, include_traceback=self._error_tracebacks)
        return outcome_of_return(task, returned, self._logger)

    def _complete(self, execution: _Execution, outcome: RunOutcome) -> None:
        unwanted = outcome.discarded
        with self._lock:
            # idle again before the result is visible: a caller that read it and submits again reuses this worker
            self._idle_workers += 1
            if self._stopping:
                # nobody may read it any more: waiters were told the server is shutting down
                self._pending.pop(execution.task.task_id, None)
                execution.state = _ABANDONED
                data = outcome.result.result
                unwanted = data if isinstance(data, FlightDataTaskResult) else unwanted
            else:
                self._finish_locked(execution, outcome.result)
        if unwanted is not None:
            self._store.discard(unwanted)
