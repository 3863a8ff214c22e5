"""ThreadTaskExecutor result store: TTL expiry, close_result, closing exactly once, observer events."""

from __future__ import annotations

import threading

import pytest

from gfs_runtime.tasks import FlightDataTaskResult, Task, TaskOutcome
from tests.tasks.doubles import (
    CallableTask,
    CloseCounter,
    ExecutorFactory,
    Gates,
    RecordingObserver,
    gated,
    small_table,
)


def _counted(counter: CloseCounter) -> CallableTask:
    return CallableTask(lambda _t: FlightDataTaskResult.for_table(small_table(), on_close=counter))


@pytest.mark.timeout(10)
def test_result_expires_after_ttl_and_is_closed(make_executor: ExecutorFactory) -> None:
    executor = make_executor(result_ttl_sec=0.2)
    counter = CloseCounter()
    task = _counted(counter)
    executor.submit(task)
    assert executor.wait_for_result(task.task_id, timeout=5) is not None
    assert executor.get_task_submitted_timestamp(task.task_id) is not None
    assert counter.closed.wait(5)
    assert counter.calls == 1
    assert executor.wait_for_result(task.task_id, timeout=5) is None
    assert executor.get_task_submitted_timestamp(task.task_id) is None
    assert executor.cancel(task.task_id) is False
    assert executor.close_result(task.task_id) is False


@pytest.mark.timeout(10)
def test_close_result_closes_once_and_forgets_the_result(make_executor: ExecutorFactory) -> None:
    executor = make_executor()
    counter = CloseCounter()
    task = _counted(counter)
    executor.submit(task)
    assert executor.wait_for_result(task.task_id, timeout=5) is not None
    assert executor.close_result(task.task_id) is True
    assert executor.close_result(task.task_id) is False
    assert counter.closed.wait(5)
    assert executor.wait_for_result(task.task_id, timeout=5) is None
    executor.stop(timeout=5)
    assert counter.calls == 1


@pytest.mark.timeout(20)
def test_ttl_expiry_racing_close_result_closes_each_result_once(make_executor: ExecutorFactory) -> None:
    executor = make_executor(task_threads=4, task_close_threads=2, result_ttl_sec=0.02, task_queue_size=500)
    counters = [CloseCounter() for _ in range(300)]
    tasks = [_counted(counter) for counter in counters]
    for task in tasks:
        executor.submit(task)
    # close_result runs while tasks finish and their results expire: each result leaves by one of the two
    closers = [
        threading.Thread(target=lambda part=part: [executor.close_result(t.task_id) for t in part])
        for part in (tasks[::2], tasks[1::2], tasks[::-1])
    ]
    for thread in closers:
        thread.start()
    for thread in closers:
        thread.join(timeout=10)
    assert all(counter.closed.wait(5) for counter in counters)
    executor.stop(timeout=5)
    assert [counter.calls for counter in counters] == [1] * len(counters)


@pytest.mark.timeout(10)
def test_slow_close_does_not_delay_other_results(make_executor: ExecutorFactory, gates: Gates) -> None:
    executor = make_executor(task_close_threads=2)
    release_slow, slow_closing = gates.new(), threading.Event()

    def slow_close() -> None:
        slow_closing.set()
        release_slow.wait(5)

    slow = CallableTask(lambda _t: FlightDataTaskResult.for_table(small_table(), on_close=slow_close))
    fast_counter = CloseCounter()
    fast = _counted(fast_counter)
    for task in (slow, fast):
        executor.submit(task)
        assert executor.wait_for_result(task.task_id, timeout=5) is not None
    executor.close_result(slow.task_id)
    assert slow_closing.wait(5)
    executor.close_result(fast.task_id)
    assert fast_counter.closed.wait(5)
    release_slow.set()


def _outcomes(observer: RecordingObserver) -> list[TaskOutcome]:
    return [event[2] for event in observer.events if event[0] == "finished"]


@pytest.mark.timeout(10)
def test_observer_sees_task_lifecycle(make_executor: ExecutorFactory) -> None:
    observer = RecordingObserver()
    executor = make_executor(task_threads=1, observer=observer)

    def fail(_task: Task) -> FlightDataTaskResult:
        raise RuntimeError("x")

    tasks = [CallableTask(lambda _t: FlightDataTaskResult.for_table(small_table())), CallableTask(fail)]
    for task in tasks:
        executor.submit(task)
        assert executor.wait_for_result(task.task_id, timeout=5) is not None
    executor.close_result(tasks[0].task_id)
    assert observer.names() == [
        "submitted", "started", "finished", "stored",
        "submitted", "started", "finished", "stored",
        "removed",
    ]  # fmt: skip
    assert _outcomes(observer) == ["ok", "failed"]
    stored = [event[1] for event in observer.events if event[0] in ("stored", "removed")]
    assert stored == [1, 2, 1]
    started = [event for event in observer.events if event[0] == "started"]
    assert all(event[1] >= 0 and event[2] == 0 for event in started)


@pytest.mark.timeout(10)
def test_observer_sees_rejections_drops_and_cancels(make_executor: ExecutorFactory, gates: Gates) -> None:
    observer = RecordingObserver()
    executor = make_executor(task_threads=1, task_queue_size=1, observer=observer)
    gate, started = gates.new(), threading.Event()
    running = CallableTask(gated(gate, started))
    executor.submit(running)
    assert started.wait(5)
    queued = CallableTask(gated(gates.new()))
    executor.submit(queued)
    with pytest.raises(Exception, match="retry later"):
        executor.submit(CallableTask(gated(gates.new())))
    executor.cancel(queued.task_id)
    executor.cancel(running.task_id)
    assert executor.wait_for_result(running.task_id, timeout=5) is not None
    names = observer.names()
    assert names.count("rejected") == 1
    assert ("dropped", 0) in observer.events
    assert _outcomes(observer) == ["cancelled"]


class _BrokenObserver(RecordingObserver):
    def task_started(self, wait_sec: float, queued: int) -> None:
        raise RuntimeError("metrics backend down")

    def result_stored(self, stored: int) -> None:
        raise RuntimeError("metrics backend down")


@pytest.mark.timeout(10)
def test_failing_observer_does_not_break_tasks(make_executor: ExecutorFactory) -> None:
    executor = make_executor(task_threads=1, observer=_BrokenObserver())
    for _ in range(3):
        task = CallableTask(lambda _t: FlightDataTaskResult.for_table(small_table()))
        executor.submit(task)
        outcome = executor.wait_for_result(task.task_id, timeout=5)
        assert outcome is not None
        assert outcome.result is not None
