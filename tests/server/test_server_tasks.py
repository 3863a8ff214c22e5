"""The task path end to end: GetFlightInfo submits a Task, DoGet streams its result with do_get_task_result."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable

import pyarrow
import pyarrow.flight
import pytest

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.server.context import ServerContext
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.tasks.results import ArrowData, FlightDataTaskResult, TaskResult
from gfs_runtime.tasks.task import Task
from gfs_runtime.tasks.task_error import TaskError
from gfs_runtime.testing import error_info_of
from tests.server.support import ClientFor, StartServer

TABLE = pyarrow.table({"n": [1, 2, 3]})
WAIT_SEC = 10.0


class _BatchesResult(FlightDataTaskResult):
    """Data produced by a generator of record batches."""

    def __init__(self) -> None:
        super().__init__(single_use_data=True)

    def get_schema(self) -> pyarrow.Schema:
        return TABLE.schema

    def _get_data(self) -> Iterable[ArrowData]:
        return iter(TABLE.to_batches(max_chunksize=1))

    def _close(self) -> None:
        return


class ScriptedTask(Task):
    """Does what its command says; `gated` tasks wait until released or cancelled."""

    def __init__(self, cmd: bytes, reader_closed: threading.Event) -> None:
        super().__init__(cmd)
        self.gate = threading.Event()
        self._reader_closed = reader_closed

    def on_task_cancel(self) -> None:
        self.gate.set()

    def run(self) -> TaskResult | TaskError:
        kind = self.cmd.decode()
        if kind == "gated":
            self.gate.wait()
            self.check_cancelled()
        if kind == "reader":
            return FlightDataTaskResult.for_reader(TABLE.to_reader(), on_close=self._reader_closed.set)
        if kind == "batches":
            return _BatchesResult()
        if kind == "bad_argument":
            raise ErrorInfo.bad_argument("the command is not supported")
        if kind == "crash":
            raise ValueError("secret detail of the crash")
        return FlightDataTaskResult.for_table(TABLE)


class TaskMethods(FlightServerMethods):
    """GetFlightInfo submits a ScriptedTask; DoGet streams the task's result."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.tasks: dict[str, ScriptedTask] = {}
        self.reader_closed = threading.Event()
        self.do_get_ended = threading.Event()

    def get_flight_info(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.FlightInfo:
        task = ScriptedTask(descriptor.command, self.reader_closed)
        self.tasks[task.task_id] = task
        self.ctx.task_executor.submit(task)
        endpoint = pyarrow.flight.FlightEndpoint(task.task_id.encode(), [self.ctx.location])
        return pyarrow.flight.FlightInfo(TABLE.schema, descriptor, [endpoint], -1, -1)

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        try:
            return self.do_get_task_result(context, self.ctx.task_executor, ticket.ticket.decode())
        finally:
            self.do_get_ended.set()


@pytest.fixture
def captured() -> dict[str, TaskMethods]:
    return {}


@pytest.fixture
def factory(captured: dict[str, TaskMethods]) -> Callable[[ServerContext], FlightServerMethods]:
    def make(ctx: ServerContext) -> FlightServerMethods:
        captured["methods"] = TaskMethods(ctx)
        return captured["methods"]

    return make


@pytest.fixture
def client(
    factory: Callable[[ServerContext], FlightServerMethods], start_server: StartServer, client_for: ClientFor
) -> pyarrow.flight.FlightClient:
    return client_for(start_server(factory))


def _ticket(client: pyarrow.flight.FlightClient, command: bytes) -> pyarrow.flight.Ticket:
    info = client.get_flight_info(pyarrow.flight.FlightDescriptor.for_command(command))
    return info.endpoints[0].ticket


def test_task_result_table_is_streamed_by_do_get(client: pyarrow.flight.FlightClient) -> None:
    assert client.do_get(_ticket(client, b"table")).read_all() == TABLE


def test_table_result_can_be_read_again(client: pyarrow.flight.FlightClient) -> None:
    ticket = _ticket(client, b"table")
    client.do_get(ticket).read_all()
    assert client.do_get(ticket).read_all() == TABLE


def test_generated_batches_result_is_streamed(client: pyarrow.flight.FlightClient) -> None:
    assert client.do_get(_ticket(client, b"batches")).read_all() == TABLE


def test_reader_result_read_twice_gets_command_result_consumed(client: pyarrow.flight.FlightClient) -> None:
    ticket = _ticket(client, b"reader")
    assert client.do_get(ticket).read_all() == TABLE
    with pytest.raises(pyarrow.flight.FlightServerError) as caught:
        client.do_get(ticket).read_all()
    assert error_info_of(caught.value).code == ErrorCode.COMMAND_RESULT_CONSUMED


def test_reader_result_is_closed_once_its_stream_ends(
    client: pyarrow.flight.FlightClient, captured: dict[str, TaskMethods]
) -> None:
    client.do_get(_ticket(client, b"reader")).read_all()
    assert captured["methods"].reader_closed.wait(WAIT_SEC)


def test_unknown_ticket_gets_invalid_ticket(client: pyarrow.flight.FlightClient) -> None:
    with pytest.raises(pyarrow.flight.FlightServerError) as caught:
        client.do_get(pyarrow.flight.Ticket(b"no-such-task")).read_all()
    assert error_info_of(caught.value).code == ErrorCode.INVALID_TICKET


def test_dropped_result_gets_the_same_answer_as_an_unknown_ticket(
    client: pyarrow.flight.FlightClient, captured: dict[str, TaskMethods]
) -> None:
    ticket = _ticket(client, b"table")
    client.do_get(ticket).read_all()
    assert captured["methods"].ctx.task_executor.close_result(ticket.ticket.decode())
    with pytest.raises(pyarrow.flight.FlightServerError) as dropped:
        client.do_get(ticket).read_all()
    with pytest.raises(pyarrow.flight.FlightServerError) as unknown:
        client.do_get(pyarrow.flight.Ticket(b"no-such-task")).read_all()
    assert error_info_of(dropped.value).msg == error_info_of(unknown.value).msg
    assert error_info_of(dropped.value).code == ErrorCode.INVALID_TICKET


def test_task_error_reaches_the_client_typed(client: pyarrow.flight.FlightClient) -> None:
    with pytest.raises(pyarrow.flight.FlightServerError) as caught:
        client.do_get(_ticket(client, b"bad_argument")).read_all()
    info = error_info_of(caught.value)
    assert (info.code, info.msg) == (ErrorCode.BAD_ARGUMENT, "the command is not supported")


def test_task_crash_is_command_failed_without_its_text(client: pyarrow.flight.FlightClient) -> None:
    with pytest.raises(pyarrow.flight.FlightError) as caught:
        client.do_get(_ticket(client, b"crash")).read_all()
    assert error_info_of(caught.value).code == ErrorCode.COMMAND_FAILED
    assert "secret detail" not in str(caught.value)


def test_cancelled_task_gets_command_cancelled(
    client: pyarrow.flight.FlightClient, captured: dict[str, TaskMethods]
) -> None:
    ticket = _ticket(client, b"gated")
    assert captured["methods"].ctx.task_executor.cancel(ticket.ticket.decode())
    with pytest.raises(pyarrow.flight.FlightServerError) as caught:
        client.do_get(ticket).read_all()
    assert error_info_of(caught.value).code == ErrorCode.COMMAND_CANCELLED


def test_wait_for_a_slow_task_is_bounded_by_task_wait_timeout(
    factory: Callable[[ServerContext], FlightServerMethods], start_server: StartServer, client_for: ClientFor
) -> None:
    client = client_for(start_server(factory, task_wait_timeout_sec=0.2))
    with pytest.raises(pyarrow.flight.FlightTimedOutError) as caught:
        client.do_get(_ticket(client, b"gated")).read_all()
    assert error_info_of(caught.value).code == ErrorCode.TIMEOUT


def test_client_cancel_stops_the_wait_for_the_task(
    client: pyarrow.flight.FlightClient, captured: dict[str, TaskMethods]
) -> None:
    # the server would wait 60 s (task_wait_timeout_sec); the client gives up after 0.2 s
    ticket = _ticket(client, b"gated")
    with pytest.raises(pyarrow.flight.FlightTimedOutError):
        client.do_get(ticket, pyarrow.flight.FlightCallOptions(timeout=0.2)).read_all()
    assert captured["methods"].do_get_ended.wait(WAIT_SEC)
