"""Fixtures for task tests: gates that open at teardown and started executors that stop at teardown."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from gfs_runtime.tasks import ThreadTaskExecutor
from tests.tasks.doubles import ExecutorFactory, Gates


@pytest.fixture
def gates() -> Gates:
    """A source of gate events, opened at teardown."""
    return Gates()


@pytest.fixture
def make_executor(gates: Gates) -> Iterator[ExecutorFactory]:
    """Build started executors (small pools, long TTL unless overridden); stop them all afterwards."""
    created: list[ThreadTaskExecutor] = []

    def factory(**overrides: Any) -> ThreadTaskExecutor:
        options: dict[str, Any] = {
            "task_threads": 2,
            "task_close_threads": 1,
            "task_queue_size": 16,
            "result_ttl_sec": 30.0,
        }
        options.update(overrides)
        start = options.pop("start", True)
        executor = ThreadTaskExecutor(**options)
        created.append(executor)
        if start:
            executor.start()
        return executor

    yield factory
    gates.open_all()
    for executor in created:
        executor.stop(timeout=5)
    leftover = [t.name for t in threading.enumerate() if t.name.startswith("gfs-") and t.is_alive()]
    assert leftover == []
