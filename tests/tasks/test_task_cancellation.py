"""Task: ids, cooperative cancellation, the point of no return and the hooks."""

from __future__ import annotations

import uuid
from concurrent.futures import CancelledError

import pytest

from tests.tasks.doubles import CallableTask, table_result


def test_task_id_defaults_to_uuid4_hex() -> None:
    task = CallableTask(table_result())
    assert uuid.UUID(hex=task.task_id).version == 4
    assert task.task_id == uuid.UUID(hex=task.task_id).hex


def test_given_task_id_and_cmd_are_kept() -> None:
    task = CallableTask(table_result(), cmd=b"payload", task_id="t-1")
    assert (task.task_id, task.cmd) == ("t-1", b"payload")


def test_check_cancelled_raises_only_after_cancel() -> None:
    task = CallableTask(table_result())
    task.check_cancelled()
    assert task.cancel() is True
    assert task.cancelled is True
    with pytest.raises(CancelledError):
        task.check_cancelled()


def test_cancel_hook_runs_once_for_repeated_cancels() -> None:
    task = CallableTask(table_result())
    assert task.cancel() is True
    assert task.cancel() is True
    assert task.cancel_hook_calls == 1


def test_non_cancellable_task_refuses_cancel_without_hook() -> None:
    task = CallableTask(table_result(), cancellable=False)
    assert task.cancel() is False
    assert task.cancelled is False
    assert task.cancel_hook_calls == 0


def test_cancel_after_switch_non_cancellable_fails() -> None:
    task = CallableTask(table_result())
    task.switch_non_cancellable()
    assert task.cancel() is False
    task.check_cancelled()


def test_switch_non_cancellable_after_cancel_raises_cancelled() -> None:
    task = CallableTask(table_result())
    task.cancel()
    with pytest.raises(CancelledError):
        task.switch_non_cancellable()


def test_cancel_hook_may_read_cancelled_and_raise_without_breaking_cancel() -> None:
    seen: list[bool] = []

    class Hooked(CallableTask):
        def on_task_cancel(self) -> None:
            seen.append(self.cancelled)
            raise RuntimeError("hook failed")

    task = Hooked(table_result())
    assert task.cancel() is True
    assert seen == [True]
