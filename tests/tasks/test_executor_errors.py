"""ThreadTaskExecutor failures: whatever a task raises or returns ends as a typed TaskError."""

from __future__ import annotations

import pyarrow.flight
import pytest

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.tasks import FlightDataTaskResult, Task, TaskError, TaskExecutionResult, ThreadTaskExecutor
from tests.tasks.doubles import CallableTask, ExecutorFactory, RunFn, table_result

_SECRET = "client-secret-input"


def _raising(exc: BaseException) -> RunFn:
    def run(_task: Task) -> FlightDataTaskResult:
        raise exc

    return run


def _outcome(executor: ThreadTaskExecutor, run: RunFn) -> TaskExecutionResult:
    task = CallableTask(run)
    executor.submit(task)
    outcome = executor.wait_for_result(task.task_id, timeout=5)
    assert outcome is not None
    return outcome


def _client_view(outcome: TaskExecutionResult) -> tuple[type[pyarrow.flight.FlightError], ErrorInfo]:
    assert outcome.error is not None
    assert (outcome.result, outcome.cancelled) == (None, False)
    error = outcome.error.as_flight_error()
    return type(error), ErrorInfo.from_pyarrow_error(error)


@pytest.mark.timeout(10)
def test_exception_in_run_gets_command_failed_without_text_or_traceback(make_executor: ExecutorFactory) -> None:
    kind, info = _client_view(_outcome(make_executor(), _raising(RuntimeError(_SECRET))))
    assert kind is pyarrow.flight.FlightServerError
    assert info.code == ErrorCode.COMMAND_FAILED
    assert _SECRET not in info.msg
    assert "RuntimeError" in info.msg
    assert info.detail is None


@pytest.mark.timeout(10)
def test_error_tracebacks_option_puts_traceback_in_detail(make_executor: ExecutorFactory) -> None:
    _, info = _client_view(_outcome(make_executor(error_tracebacks=True), _raising(RuntimeError("boom"))))
    assert info.code == ErrorCode.COMMAND_FAILED
    assert info.detail is not None
    assert "Traceback" in info.detail


@pytest.mark.timeout(10)
@pytest.mark.parametrize("exc", [KeyboardInterrupt(), SystemExit(3), GeneratorExit()])
def test_base_exception_in_run_gets_internal_error_and_worker_survives(
    make_executor: ExecutorFactory, exc: BaseException
) -> None:
    executor = make_executor(task_threads=1)
    kind, info = _client_view(_outcome(executor, _raising(exc)))
    assert kind is pyarrow.flight.FlightInternalError
    assert info.code == ErrorCode.INTERNAL_ERROR
    after = _outcome(executor, table_result())
    assert after.error is None
    assert after.result is not None


@pytest.mark.timeout(10)
def test_value_error_gets_command_failed_without_its_text(make_executor: ExecutorFactory) -> None:
    _, info = _client_view(_outcome(make_executor(), _raising(ValueError("limit 'DROP TABLE' must be positive"))))
    assert info.code == ErrorCode.COMMAND_FAILED
    assert "DROP TABLE" not in info.msg
    assert "ValueError" in info.msg


@pytest.mark.timeout(10)
def test_not_implemented_gets_not_implemented(make_executor: ExecutorFactory) -> None:
    _, info = _client_view(_outcome(make_executor(), _raising(NotImplementedError())))
    assert info.code == ErrorCode.NOT_IMPLEMENTED


@pytest.mark.timeout(10)
def test_raised_flight_error_keeps_its_type_and_code(make_executor: ExecutorFactory) -> None:
    raised = ErrorInfo.for_reason(ErrorCode.TIMEOUT, "upstream too slow").to_timeout_error()
    kind, info = _client_view(_outcome(make_executor(), _raising(raised)))
    assert kind is pyarrow.flight.FlightTimedOutError
    assert (info.code, info.msg) == (ErrorCode.TIMEOUT, "upstream too slow")


@pytest.mark.timeout(10)
def test_returned_task_error_keeps_its_code(make_executor: ExecutorFactory) -> None:
    custom = ErrorCode.CUSTOM_CODES_START + 7
    error = TaskError(ErrorInfo.for_reason(custom, "no such dataset"), pyarrow.flight.FlightServerError)
    kind, info = _client_view(_outcome(make_executor(), lambda _t: error))
    assert kind is pyarrow.flight.FlightServerError
    assert (info.code, info.msg) == (custom, "no such dataset")


@pytest.mark.timeout(10)
def test_on_task_error_may_replace_the_error(make_executor: ExecutorFactory) -> None:
    replacement = TaskError(ErrorInfo.for_reason(ErrorCode.BAD_REQUEST, "bad query"), pyarrow.flight.FlightServerError)

    class Classifying(CallableTask):
        def on_task_error(self, error: TaskError) -> TaskError | None:
            return replacement.to_client_error()

    task = Classifying(_raising(RuntimeError("x")))
    executor = make_executor()
    executor.submit(task)
    outcome = executor.wait_for_result(task.task_id, timeout=5)
    assert outcome is not None
    assert outcome.error is not None
    assert outcome.error.client_error is True
    assert outcome.error.error_info.code == ErrorCode.BAD_REQUEST


@pytest.mark.timeout(10)
def test_failing_on_task_error_keeps_the_original_error(make_executor: ExecutorFactory) -> None:
    class BrokenHook(CallableTask):
        def on_task_error(self, error: TaskError) -> TaskError | None:
            raise RuntimeError("hook broke")

    task = BrokenHook(_raising(RuntimeError("x")))
    executor = make_executor()
    executor.submit(task)
    outcome = executor.wait_for_result(task.task_id, timeout=5)
    assert outcome is not None
    assert outcome.error is not None
    assert outcome.error.error_info.code == ErrorCode.COMMAND_FAILED


@pytest.mark.timeout(10)
def test_run_returning_a_non_result_gets_internal_error(make_executor: ExecutorFactory) -> None:
    _, info = _client_view(_outcome(make_executor(), lambda _t: None))  # type: ignore[arg-type,return-value]
    assert info.code == ErrorCode.INTERNAL_ERROR
    assert "NoneType" in info.msg
