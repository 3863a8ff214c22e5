"""ThreadTaskExecutor running tasks: order, backpressure, results, timestamps and context."""

from __future__ import annotations

import contextvars
import functools
import threading
import time

import pyarrow
import pyarrow.flight
import pytest
import structlog

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.tasks import FlightDataTaskResult, ListFlightsTaskResult, Task, ThreadTaskExecutor
from tests.tasks.doubles import CallableTask, ExecutorFactory, Gates, gated, noting, small_table, table_result

_REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")


@pytest.mark.timeout(10)
def test_tasks_start_in_submission_order(make_executor: ExecutorFactory, gates: Gates) -> None:
    executor = make_executor(task_threads=1)
    gate, blocker_started = gates.new(), threading.Event()
    executor.submit(CallableTask(gated(gate, blocker_started)))
    assert blocker_started.wait(5)
    order: list[int] = []
    tasks = [CallableTask(noting(functools.partial(order.append, n))) for n in range(10)]
    for task in tasks:
        executor.submit(task)
    gate.set()
    for task in tasks:
        assert executor.wait_for_result(task.task_id, timeout=5) is not None
    assert order == list(range(10))


@pytest.mark.timeout(10)
def test_submit_past_queue_size_gets_backpressure(make_executor: ExecutorFactory, gates: Gates) -> None:
    executor = make_executor(task_threads=1, task_queue_size=2)
    gate, started = gates.new(), threading.Event()
    executor.submit(CallableTask(gated(gate, started)))
    assert started.wait(5)
    executor.submit(CallableTask(table_result()))
    executor.submit(CallableTask(table_result()))
    with pytest.raises(pyarrow.flight.FlightUnavailableError) as caught:
        executor.submit(CallableTask(table_result()))
    assert ErrorInfo.from_pyarrow_error(caught.value).code == ErrorCode.BACKPRESSURE


@pytest.mark.timeout(10)
def test_queue_frees_up_once_tasks_start(make_executor: ExecutorFactory) -> None:
    executor = make_executor(task_threads=1, task_queue_size=1)
    for _ in range(5):
        task = CallableTask(table_result())
        executor.submit(task)
        assert executor.wait_for_result(task.task_id, timeout=5) is not None


@pytest.mark.timeout(10)
def test_successful_task_result_is_readable_repeatedly(make_executor: ExecutorFactory) -> None:
    executor = make_executor()
    task = CallableTask(table_result(5), cmd=b"select 5")
    executor.submit(task)
    for _ in range(2):
        outcome = executor.wait_for_result(task.task_id, timeout=5)
        assert outcome is not None
        assert (outcome.task_id, outcome.cmd, outcome.cancelled, outcome.error) == (
            task.task_id,
            b"select 5",
            False,
            None,
        )
        assert isinstance(outcome.result, FlightDataTaskResult)
        lease, data = outcome.result.acquire_data()
        assert isinstance(data, pyarrow.Table)
        assert data.equals(small_table(5))
        lease.release()


@pytest.mark.timeout(10)
def test_list_flights_result_is_returned(make_executor: ExecutorFactory) -> None:
    executor = make_executor()
    listed = ListFlightsTaskResult(())
    task = CallableTask(lambda _t: listed)
    executor.submit(task)
    outcome = executor.wait_for_result(task.task_id, timeout=5)
    assert outcome is not None
    assert outcome.result is listed


def test_unknown_task_has_no_result_timestamp_or_cancel(make_executor: ExecutorFactory) -> None:
    executor = make_executor()
    assert executor.wait_for_result("nope", timeout=1) is None
    assert executor.get_task_submitted_timestamp("nope") is None
    assert executor.cancel("nope") is False
    assert executor.close_result("nope") is False


@pytest.mark.timeout(10)
def test_submitted_timestamp_is_wall_clock_time_of_submit(make_executor: ExecutorFactory, gates: Gates) -> None:
    executor = make_executor()
    gate = gates.new()
    task = CallableTask(gated(gate))
    before = time.time()
    executor.submit(task)
    after = time.time()
    pending_stamp = executor.get_task_submitted_timestamp(task.task_id)
    assert pending_stamp is not None
    assert before <= pending_stamp <= after
    gate.set()
    executor.wait_for_result(task.task_id, timeout=5)
    assert executor.get_task_submitted_timestamp(task.task_id) == pending_stamp


def test_duplicate_task_id_is_refused(make_executor: ExecutorFactory) -> None:
    executor = make_executor()
    executor.submit(CallableTask(table_result(), task_id="same"))
    with pytest.raises(ValueError, match="same"):
        executor.submit(CallableTask(table_result(), task_id="same"))


@pytest.mark.timeout(10)
def test_task_runs_in_submitters_context(make_executor: ExecutorFactory) -> None:
    executor = make_executor()
    seen: dict[str, object] = {}

    def run(_task: Task) -> FlightDataTaskResult:
        seen["request_id"] = _REQUEST_ID.get()
        seen["log_context"] = structlog.contextvars.get_contextvars()
        seen["thread"] = threading.current_thread().name
        return FlightDataTaskResult.for_table(small_table())

    token = _REQUEST_ID.set("req-42")
    structlog.contextvars.bind_contextvars(call_id="call-7")
    try:
        task = CallableTask(run)
        executor.submit(task)
    finally:
        _REQUEST_ID.reset(token)
        structlog.contextvars.unbind_contextvars("call_id")
    assert executor.wait_for_result(task.task_id, timeout=5) is not None
    assert seen["request_id"] == "req-42"
    assert seen["log_context"] == {"call_id": "call-7"}
    assert str(seen["thread"]).startswith("gfs-task-worker-")


@pytest.mark.timeout(10)
def test_tasks_do_not_leak_context_into_each_other(make_executor: ExecutorFactory) -> None:
    executor = make_executor(task_threads=1)
    seen: list[str] = []

    def run(_task: Task) -> FlightDataTaskResult:
        seen.append(_REQUEST_ID.get())
        _REQUEST_ID.set("changed-by-task")
        return FlightDataTaskResult.for_table(small_table())

    first, second = CallableTask(run), CallableTask(run)
    executor.submit(first)
    assert executor.wait_for_result(first.task_id, timeout=5) is not None
    executor.submit(second)
    assert executor.wait_for_result(second.task_id, timeout=5) is not None
    assert seen == ["none", "none"]
    assert _REQUEST_ID.get() == "none"


def test_invalid_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ThreadTaskExecutor(task_threads=0, task_close_threads=1, task_queue_size=1, result_ttl_sec=1)
    with pytest.raises(ValueError, match="result_ttl_sec"):
        ThreadTaskExecutor(task_threads=1, task_close_threads=1, task_queue_size=1, result_ttl_sec=0)


def test_constructor_starts_no_threads() -> None:
    before = set(threading.enumerate())
    executor = ThreadTaskExecutor(task_threads=2, task_close_threads=1, task_queue_size=4, result_ttl_sec=1)
    assert set(threading.enumerate()) - before == set()
    executor.stop(timeout=1)


def test_start_twice_is_refused(make_executor: ExecutorFactory) -> None:
    executor = make_executor()
    with pytest.raises(RuntimeError, match="once"):
        executor.start()
