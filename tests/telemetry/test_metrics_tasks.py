"""TaskMetrics as the TaskObserver of a real ThreadTaskExecutor: gauges, histograms and counters it moves."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pyarrow
import pyarrow.flight
import pytest

from gfs_runtime.tasks import FlightDataTaskResult, Task, TaskObserver, TaskResult, ThreadTaskExecutor
from gfs_runtime.telemetry.metrics import ServerMetrics, TaskMetrics
from tests.telemetry.conftest import Samples, value

pytestmark = pytest.mark.timeout(20)

_WAIT_SEC = 10.0


class _Step(Task):
    """A task that signals `started`, then waits for `gate` checking for cancel, then returns or raises."""

    def __init__(self, *, gate: threading.Event | None = None, fail: bool = False) -> None:
        super().__init__(b"step")
        self.started = threading.Event()
        self._gate = gate
        self._fail = fail

    def run(self) -> TaskResult:
        self.started.set()
        while self._gate is not None and not self._gate.wait(0.005):
            self.check_cancelled()
        if self._fail:
            raise RuntimeError("the step failed")
        return FlightDataTaskResult.for_table(pyarrow.table({"x": [1]}))


@pytest.fixture
def executor(metrics: ServerMetrics) -> Iterator[ThreadTaskExecutor]:
    """A one-worker, one-slot executor reporting to `metrics`."""
    executor = ThreadTaskExecutor(
        task_threads=1, task_close_threads=1, task_queue_size=1, result_ttl_sec=60, observer=metrics.tasks
    )
    executor.start()
    try:
        yield executor
    finally:
        executor.stop(timeout=5)


def _run_to_end(executor: ThreadTaskExecutor, task: Task) -> None:
    executor.submit(task)
    assert executor.wait_for_result(task.task_id, timeout=_WAIT_SEC) is not None


def test_task_metrics_is_a_task_observer(metrics: ServerMetrics) -> None:
    observer: TaskObserver = metrics.tasks

    assert isinstance(observer, TaskMetrics)


def test_running_task_moves_running_gauge_and_wait_histogram(
    executor: ThreadTaskExecutor, scraped: Callable[[], Samples]
) -> None:
    gate = threading.Event()
    task = _Step(gate=gate)
    executor.submit(task)
    assert task.started.wait(_WAIT_SEC)

    running = scraped()
    gate.set()
    assert executor.wait_for_result(task.task_id, timeout=_WAIT_SEC) is not None
    ended = scraped()

    assert value(running, "gfs_task_running") == 1
    assert value(running, "gfs_task_queued") == 0
    assert value(running, "gfs_task_wait_seconds_count") == 1
    assert value(running, "gfs_task_duration_seconds_count") == 0
    assert value(ended, "gfs_task_running") == 0
    assert value(ended, "gfs_task_duration_seconds_count") == 1


def test_full_queue_counts_rejections_and_drops(executor: ThreadTaskExecutor, scraped: Callable[[], Samples]) -> None:
    gate = threading.Event()
    blocker, queued, refused = _Step(gate=gate), _Step(), _Step()
    executor.submit(blocker)
    assert blocker.started.wait(_WAIT_SEC)
    executor.submit(queued)
    with pytest.raises(pyarrow.flight.FlightUnavailableError):
        executor.submit(refused)

    full = scraped()
    assert executor.cancel(queued.task_id)
    after_cancel = scraped()
    gate.set()

    assert value(full, "gfs_task_queued") == 1
    assert value(full, "gfs_task_rejected_total") == 1
    assert value(full, "gfs_task_dropped_total") == 0
    assert value(after_cancel, "gfs_task_queued") == 0
    assert value(after_cancel, "gfs_task_dropped_total") == 1


def test_finished_tasks_are_counted_by_outcome(executor: ThreadTaskExecutor, scraped: Callable[[], Samples]) -> None:
    _run_to_end(executor, _Step())
    _run_to_end(executor, _Step())
    _run_to_end(executor, _Step(fail=True))
    cancelled = _Step(gate=threading.Event())
    executor.submit(cancelled)
    assert cancelled.started.wait(_WAIT_SEC)
    assert executor.cancel(cancelled.task_id)
    assert executor.wait_for_result(cancelled.task_id, timeout=_WAIT_SEC) is not None

    samples = scraped()

    assert value(samples, "gfs_task_finished_total", outcome="ok") == 2
    assert value(samples, "gfs_task_finished_total", outcome="failed") == 1
    assert value(samples, "gfs_task_finished_total", outcome="cancelled") == 1
    assert value(samples, "gfs_task_duration_seconds_count") == 4


def test_results_stored_gauge_follows_store_and_close(
    executor: ThreadTaskExecutor, scraped: Callable[[], Samples]
) -> None:
    first, second = _Step(), _Step()
    _run_to_end(executor, first)
    _run_to_end(executor, second)
    two_stored = scraped()

    assert executor.close_result(first.task_id)
    one_stored = scraped()

    assert value(two_stored, "gfs_task_results_stored") == 2
    assert value(one_stored, "gfs_task_results_stored") == 1


def test_task_hooks_set_gauges_directly(metrics: ServerMetrics, scraped: Callable[[], Samples]) -> None:
    tasks = metrics.tasks
    tasks.task_submitted(queued=4)
    tasks.task_started(wait_sec=0.2, queued=3)
    tasks.task_started(wait_sec=0.4, queued=2)
    tasks.task_finished(duration_sec=1.5, outcome="failed")
    tasks.result_stored(stored=9)
    tasks.result_removed(stored=8)

    samples = scraped()

    assert value(samples, "gfs_task_queued") == 2
    assert value(samples, "gfs_task_running") == 1
    assert value(samples, "gfs_task_wait_seconds_sum") == pytest.approx(0.6)
    assert value(samples, "gfs_task_duration_seconds_sum") == pytest.approx(1.5)
    assert value(samples, "gfs_task_finished_total", outcome="failed") == 1
    assert value(samples, "gfs_task_finished_total", outcome="ok") == 0
    assert value(samples, "gfs_task_results_stored") == 8
