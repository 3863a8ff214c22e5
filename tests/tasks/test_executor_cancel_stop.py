"""ThreadTaskExecutor cancellation, waiting and shutdown."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import CancelledError

import pyarrow.flight
import pytest

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.tasks import (
    FlightDataTaskResult,
    Task,
    TaskExecutionResult,
    TaskWaitTimeoutError,
    ThreadTaskExecutor,
    thread_executor,
)
from tests.tasks.doubles import (
    CallableTask,
    CloseCounter,
    ExecutorFactory,
    Gates,
    gated,
    noting,
    small_table,
    table_result,
)


def _started_blocker(executor: ThreadTaskExecutor, gates: Gates, **kwargs: object) -> CallableTask:
    gate, started = gates.new(), threading.Event()
    task = CallableTask(gated(gate, started, **kwargs))  # type: ignore[arg-type]
    executor.submit(task)
    assert started.wait(5)
    return task


class _Waiter:
    """wait_for_result on a thread, keeping what it returned or raised."""

    def __init__(self, executor: ThreadTaskExecutor, task_id: str, **kwargs: object) -> None:
        self.outcome: TaskExecutionResult | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._wait, args=(executor, task_id, kwargs))
        self._thread.start()

    def _wait(self, executor: ThreadTaskExecutor, task_id: str, kwargs: dict[str, object]) -> None:
        try:
            self.outcome = executor.wait_for_result(task_id, **kwargs)  # type: ignore[arg-type]
        except BaseException as exc:
            self.error = exc

    def join(self) -> None:
        self._thread.join(timeout=5)
        assert not self._thread.is_alive()


@pytest.mark.timeout(10)
def test_cancel_queued_task_never_runs_and_ends_cancelled(make_executor: ExecutorFactory, gates: Gates) -> None:
    executor = make_executor(task_threads=1)
    blocker = _started_blocker(executor, gates)
    ran = threading.Event()
    queued = CallableTask(noting(ran.set))
    executor.submit(queued)
    waiter = _Waiter(executor, queued.task_id, timeout=5)
    assert executor.cancel(queued.task_id) is True
    waiter.join()
    assert waiter.outcome is not None
    assert (waiter.outcome.cancelled, waiter.outcome.result, waiter.outcome.error) == (True, None, None)
    assert queued.cancel_hook_calls == 1
    blocker.cancel()
    assert executor.wait_for_result(blocker.task_id, timeout=5) is not None
    assert not ran.is_set()


@pytest.mark.timeout(10)
def test_cancel_running_task_ends_cancelled(make_executor: ExecutorFactory, gates: Gates) -> None:
    executor = make_executor()
    task = _started_blocker(executor, gates)
    assert executor.cancel(task.task_id) is True
    outcome = executor.wait_for_result(task.task_id, timeout=5)
    assert outcome is not None
    assert (outcome.cancelled, outcome.result, outcome.error) == (True, None, None)
    assert task.cancel_hook_calls == 1


@pytest.mark.timeout(10)
def test_cancelled_task_that_returns_anyway_ends_cancelled_and_result_is_closed(
    make_executor: ExecutorFactory, gates: Gates
) -> None:
    executor = make_executor()
    gate, started, counter = gates.new(), threading.Event(), CloseCounter()

    def run(_task: Task) -> FlightDataTaskResult:
        started.set()
        gate.wait(5)
        return FlightDataTaskResult.for_table(small_table(), on_close=counter)

    task = CallableTask(run)
    executor.submit(task)
    assert started.wait(5)
    assert executor.cancel(task.task_id) is True
    gate.set()
    outcome = executor.wait_for_result(task.task_id, timeout=5)
    assert outcome is not None
    assert outcome.cancelled is True
    assert counter.closed.wait(5)


@pytest.mark.timeout(10)
def test_cancel_past_point_of_no_return_fails_and_task_succeeds(make_executor: ExecutorFactory, gates: Gates) -> None:
    executor = make_executor()
    gate, started = gates.new(), threading.Event()

    def run(task: Task) -> FlightDataTaskResult:
        task.switch_non_cancellable()
        started.set()
        gate.wait(5)
        return FlightDataTaskResult.for_table(small_table())

    task = CallableTask(run)
    executor.submit(task)
    assert started.wait(5)
    assert executor.cancel(task.task_id) is False
    gate.set()
    outcome = executor.wait_for_result(task.task_id, timeout=5)
    assert outcome is not None
    assert (outcome.cancelled, outcome.error is None, outcome.result is not None) == (False, True, True)


@pytest.mark.timeout(10)
def test_cancel_finished_task_drops_and_closes_its_result(make_executor: ExecutorFactory) -> None:
    executor = make_executor()
    counter = CloseCounter()
    task = CallableTask(lambda _t: FlightDataTaskResult.for_table(small_table(), on_close=counter))
    executor.submit(task)
    assert executor.wait_for_result(task.task_id, timeout=5) is not None
    assert executor.cancel(task.task_id) is True
    assert counter.closed.wait(5)
    assert executor.wait_for_result(task.task_id, timeout=1) is None
    assert executor.cancel(task.task_id) is False


@pytest.mark.timeout(10)
def test_task_raising_cancelled_error_ends_cancelled(make_executor: ExecutorFactory) -> None:
    def run(_task: Task) -> FlightDataTaskResult:
        raise CancelledError()

    executor = make_executor()
    task = CallableTask(run)
    executor.submit(task)
    outcome = executor.wait_for_result(task.task_id, timeout=5)
    assert outcome is not None
    assert outcome.cancelled is True


@pytest.mark.timeout(10)
def test_wait_timeout_raises_task_wait_timeout_error(make_executor: ExecutorFactory, gates: Gates) -> None:
    executor = make_executor()
    task = _started_blocker(executor, gates)
    with pytest.raises(TaskWaitTimeoutError) as caught:
        executor.wait_for_result(task.task_id, timeout=0.05)
    assert (caught.value.task_id, caught.value.cmd) == (task.task_id, task.cmd)


@pytest.mark.timeout(10)
def test_should_stop_ends_the_wait_early(make_executor: ExecutorFactory, gates: Gates) -> None:
    executor = make_executor()
    task = _started_blocker(executor, gates)
    asked = threading.Event()
    cancelled_by_client = threading.Event()

    def should_stop() -> bool:
        asked.set()
        return cancelled_by_client.is_set()

    waiter = _Waiter(executor, task.task_id, timeout=60, should_stop=should_stop)
    assert asked.wait(5)
    cancelled_by_client.set()
    waiter.join()
    assert isinstance(waiter.error, TaskWaitTimeoutError)


@pytest.mark.timeout(10)
def test_finishing_task_wakes_a_polling_waiter_at_once(
    make_executor: ExecutorFactory, gates: Gates, monkeypatch: pytest.MonkeyPatch
) -> None:
    # with a poll slice far longer than the test's bound, only the completion notify can end the wait
    monkeypatch.setattr(thread_executor, "STOP_CHECK_INTERVAL_SEC", 60.0)
    executor = make_executor()
    gate, started = gates.new(), threading.Event()
    task = CallableTask(gated(gate, started))
    executor.submit(task)
    assert started.wait(5)
    waiter = _Waiter(executor, task.task_id, timeout=60, should_stop=lambda: False)
    gate.set()
    waiter.join()
    assert waiter.outcome is not None
    assert waiter.outcome.result is not None


@pytest.mark.timeout(10)
def test_finished_result_is_returned_without_asking_should_stop(make_executor: ExecutorFactory) -> None:
    executor = make_executor()
    task = CallableTask(lambda _t: FlightDataTaskResult.for_table(small_table()))
    executor.submit(task)
    assert executor.wait_for_result(task.task_id, timeout=5) is not None

    def should_stop() -> bool:
        raise AssertionError("should_stop asked for a finished task")

    assert executor.wait_for_result(task.task_id, timeout=5, should_stop=should_stop) is not None


def _noting_asked(asked: threading.Event) -> Callable[[], bool]:
    def should_stop() -> bool:
        asked.set()
        return False

    return should_stop


def _assert_shutting_down(error: BaseException | None) -> None:
    assert isinstance(error, pyarrow.flight.FlightUnavailableError)
    assert ErrorInfo.from_pyarrow_error(error).code == ErrorCode.SHUTTING_DOWN


@pytest.mark.timeout(10)
def test_stop_wakes_waiters_with_shutting_down(make_executor: ExecutorFactory, gates: Gates) -> None:
    executor = make_executor(task_threads=1)
    running = _started_blocker(executor, gates, cooperative=False)
    queued = CallableTask(gated(gates.new()))
    executor.submit(queued)
    waiting = [threading.Event(), threading.Event()]
    waiters = [
        _Waiter(executor, task.task_id, should_stop=_noting_asked(event))
        for task, event in zip((running, queued), waiting, strict=True)
    ]
    # should_stop is asked between wait slices, so each waiter is known to be inside its wait
    assert all(event.wait(5) for event in waiting)
    stopper = threading.Thread(target=executor.stop, kwargs={"timeout": 5})
    stopper.start()
    for waiter in waiters:
        waiter.join()
        _assert_shutting_down(waiter.error)
    gates.open_all()
    stopper.join(timeout=5)
    assert not stopper.is_alive()


@pytest.mark.timeout(10)
def test_stop_cancels_queued_and_running_tasks(make_executor: ExecutorFactory, gates: Gates) -> None:
    executor = make_executor(task_threads=1)
    running = _started_blocker(executor, gates)
    ran = threading.Event()
    queued = CallableTask(noting(ran.set))
    executor.submit(queued)
    executor.stop(timeout=5)
    assert running.cancelled is True
    assert queued.cancel_hook_calls == 1
    assert not ran.is_set()


@pytest.mark.timeout(10)
def test_stop_without_cancel_running_lets_running_task_finish(make_executor: ExecutorFactory, gates: Gates) -> None:
    executor = make_executor()
    gate, started, counter = gates.new(), threading.Event(), CloseCounter()

    def run(_task: Task) -> FlightDataTaskResult:
        started.set()
        gate.wait(5)
        return FlightDataTaskResult.for_table(small_table(), on_close=counter)

    task = CallableTask(run)
    executor.submit(task)
    assert started.wait(5)
    stopper = threading.Thread(target=executor.stop, kwargs={"cancel_running": False, "timeout": 5})
    stopper.start()
    gate.set()
    stopper.join(timeout=5)
    assert task.cancelled is False
    assert counter.calls == 1


@pytest.mark.timeout(10)
def test_stop_closes_stored_results(make_executor: ExecutorFactory) -> None:
    executor = make_executor()
    counters = [CloseCounter() for _ in range(5)]
    tasks = [CallableTask(table_result(on_close=c)) for c in counters]
    for task in tasks:
        executor.submit(task)
        assert executor.wait_for_result(task.task_id, timeout=5) is not None
    executor.stop(timeout=5)
    assert [counter.calls for counter in counters] == [1] * 5
    assert executor.wait_for_result(tasks[0].task_id) is None


def test_submit_after_stop_gets_shutting_down(make_executor: ExecutorFactory) -> None:
    executor = make_executor()
    executor.stop(timeout=5)
    with pytest.raises(pyarrow.flight.FlightUnavailableError) as caught:
        executor.submit(CallableTask(gated(threading.Event())))
    _assert_shutting_down(caught.value)


def test_stop_before_start_drops_queued_tasks(make_executor: ExecutorFactory) -> None:
    executor = make_executor(start=False)
    task = CallableTask(gated(threading.Event()))
    executor.submit(task)
    executor.stop(timeout=1)
    assert task.cancelled is True
    with pytest.raises(RuntimeError):
        executor.start()
