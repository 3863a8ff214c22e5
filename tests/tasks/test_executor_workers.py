"""ThreadTaskExecutor's workers: started as tasks need them, never more than task_threads, reused when idle."""

from __future__ import annotations

import threading

import pytest

from tests.tasks.doubles import CallableTask, ExecutorFactory, Gates, gated, table_result


def _workers() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("gfs-task-worker-")]


@pytest.mark.timeout(10)
def test_a_started_executor_without_tasks_runs_no_workers(make_executor: ExecutorFactory) -> None:
    make_executor(task_threads=8)
    assert _workers() == []


@pytest.mark.timeout(10)
def test_concurrent_tasks_each_get_a_worker_up_to_task_threads(make_executor: ExecutorFactory, gates: Gates) -> None:
    executor = make_executor(task_threads=3)
    gate = gates.new()
    started = [threading.Event() for _ in range(4)]
    tasks = [CallableTask(gated(gate, event)) for event in started]
    for task in tasks:
        executor.submit(task)
    assert all(event.wait(5) for event in started[:3])
    assert len(_workers()) == 3
    assert not started[3].is_set()  # the fourth waits for a free worker
    gate.set()
    assert started[3].wait(5)
    assert len(_workers()) == 3


@pytest.mark.timeout(10)
def test_an_idle_worker_is_reused_for_the_next_task(make_executor: ExecutorFactory) -> None:
    executor = make_executor(task_threads=4)
    for _ in range(5):
        task = CallableTask(table_result())
        executor.submit(task)
        assert executor.wait_for_result(task.task_id, timeout=5) is not None
    assert len(_workers()) == 1


@pytest.mark.timeout(10)
def test_tasks_submitted_before_start_run_once_started(make_executor: ExecutorFactory) -> None:
    executor = make_executor(task_threads=2, start=False)
    tasks = [CallableTask(table_result()) for _ in range(3)]
    for task in tasks:
        executor.submit(task)
    assert _workers() == []
    executor.start()
    for task in tasks:
        assert executor.wait_for_result(task.task_id, timeout=5) is not None
    assert len(_workers()) <= 2
