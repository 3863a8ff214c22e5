"""Start, stop, drain and abort: the server's lifecycle as seen by its owner and by clients."""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow
import pyarrow.flight
import pytest

from gfs_runtime.config import read_config
from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.exceptions import ServerStartError
from gfs_runtime.server.context import ServerContext
from gfs_runtime.server.lifecycle import Lifecycle, ServerState
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.server.server import FlightServer
from gfs_runtime.tasks.results import FlightDataTaskResult, TaskResult
from gfs_runtime.tasks.task import Task
from gfs_runtime.tasks.task_error import TaskError
from gfs_runtime.telemetry.log_fields import THREAD_LOG_FIELDS
from gfs_runtime.testing import connect, error_info_of
from tests.server.support import gated_stream

WAIT_SEC = 10.0
MakeServer = Callable[..., FlightServer]
SCHEMA = pyarrow.schema([("n", pyarrow.int64())])


@pytest.fixture
def make_server() -> Iterator[MakeServer]:
    """Unstarted servers on 127.0.0.1 port 0; any still running at teardown are aborted."""
    servers: list[FlightServer] = []

    def make(methods: Any, **server_settings: Any) -> FlightServer:
        settings = {"listen_port": 0, "task_threads": 2, "task_close_threads": 1, **server_settings}
        server = FlightServer(*read_config(overrides={"server": settings, "service": {"name": "demo"}}), methods)
        servers.append(server)
        return server

    yield make
    for server in servers:
        if server.state not in (ServerState.STOPPED, ServerState.FAILED):
            server.abort()


def _started(server: FlightServer) -> FlightServer:
    server.start(handle_signals=False)
    assert server.wait_for_start(WAIT_SEC)
    return server


def _ping(server: FlightServer) -> list[Any]:
    with connect(server) as client:
        return list(client.list_actions())


class GatedMethods(FlightServerMethods):
    """DoGet streams one batch, then waits for `release` before the second; ListActions answers at once."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.streaming = threading.Event()

    def list_actions(self, context: pyarrow.flight.ServerCallContext) -> list[tuple[str, str]]:
        return [("ping", "answers")]

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        return gated_stream(self.streaming, self.release, WAIT_SEC)


def test_server_started_from_another_thread_serves_and_leaves_signals_alone(make_server: MakeServer) -> None:
    before = signal.getsignal(signal.SIGTERM)
    server = make_server(GatedMethods())
    starter = threading.Thread(target=server.start)
    starter.start()
    starter.join(WAIT_SEC)
    assert server.wait_for_start(WAIT_SEC)
    assert _ping(server) == [pyarrow.flight.ActionType("ping", "answers")]
    assert signal.getsignal(signal.SIGTERM) is before
    server.stop()
    assert server.wait_for_stop(WAIT_SEC)


def test_location_reports_the_bound_port(make_server: MakeServer) -> None:
    server = _started(make_server(GatedMethods()))
    assert server.location.uri.decode().startswith("grpc://127.0.0.1:")
    assert not server.location.uri.decode().endswith(":0")


def test_factory_gets_the_server_context(make_server: MakeServer) -> None:
    seen: list[ServerContext] = []

    def factory(ctx: ServerContext) -> FlightServerMethods:
        seen.append(ctx)
        return GatedMethods()

    server = _started(make_server(factory))
    (ctx,) = seen
    assert ctx.location == server.location
    assert ctx.health is server.health
    assert ctx.task_executor is server.task_executor
    assert ctx.config.listen_port == 0
    assert ctx.settings.service.name == "demo"


def test_port_in_use_fails_start_and_wait_for_start_reraises_it(make_server: MakeServer) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = make_server(GatedMethods(), listen_port=port)
        server.start(handle_signals=False)
        with pytest.raises(ServerStartError, match=f"127.0.0.1:{port}"):
            server.wait_for_start(WAIT_SEC)
    assert server.state is ServerState.FAILED
    with pytest.raises(ServerStartError):
        server.wait_for_stop(WAIT_SEC)


def test_factory_raising_fails_start_with_the_cause(make_server: MakeServer) -> None:
    def factory(ctx: ServerContext) -> FlightServerMethods:
        raise ConnectionError("warehouse is down")

    server = make_server(factory)
    server.start(handle_signals=False)
    with pytest.raises(ServerStartError, match="methods factory failed: ConnectionError: warehouse is down") as caught:
        server.wait_for_start(WAIT_SEC)
    assert isinstance(caught.value.__cause__, ConnectionError)
    assert not server.health.is_ready()


def test_factory_returning_something_else_fails_start(make_server: MakeServer) -> None:
    server = make_server(lambda ctx: object())
    server.start(handle_signals=False)
    with pytest.raises(ServerStartError, match="returned object; it must return a FlightServerMethods"):
        server.wait_for_start(WAIT_SEC)


def test_calls_during_start_up_get_not_ready(make_server: MakeServer) -> None:
    entered, release = threading.Event(), threading.Event()

    def factory(ctx: ServerContext) -> FlightServerMethods:
        entered.set()
        release.wait(WAIT_SEC)
        return GatedMethods()

    server = make_server(factory)
    server.start(handle_signals=False)
    try:
        assert entered.wait(WAIT_SEC)
        with pytest.raises(pyarrow.flight.FlightUnavailableError) as caught:
            _ping(server)
        assert error_info_of(caught.value).code == ErrorCode.NOT_READY
        assert not server.health.is_ready()
    finally:
        release.set()
    assert server.wait_for_start(WAIT_SEC)
    assert server.health.is_ready()
    assert _ping(server)


def test_stop_requested_during_start_up_never_serves(make_server: MakeServer) -> None:
    entered, release = threading.Event(), threading.Event()

    def factory(ctx: ServerContext) -> FlightServerMethods:
        entered.set()
        release.wait(WAIT_SEC)
        return GatedMethods()

    server = make_server(factory)
    server.start(handle_signals=False)
    assert entered.wait(WAIT_SEC)
    server.stop()
    release.set()
    assert server.wait_for_start(WAIT_SEC) is False
    assert server.wait_for_stop(WAIT_SEC)


def test_stop_drains_the_stream_in_flight_and_refuses_new_calls(make_server: MakeServer) -> None:
    methods = GatedMethods()
    server = _started(make_server(methods))
    with connect(server) as client:
        reader = client.do_get(pyarrow.flight.Ticket(b"t"))
        first = reader.read_chunk()
        assert methods.streaming.wait(WAIT_SEC)
        server.stop()
        assert server.state is ServerState.DRAINING
        assert not server.health.is_ready()
        with pytest.raises(pyarrow.flight.FlightUnavailableError) as caught:
            _ping(server)
        assert error_info_of(caught.value).code == ErrorCode.SHUTTING_DOWN
        methods.release.set()
        rest = reader.read_all()
    assert first.data.column(0).to_pylist() + rest.column(0).to_pylist() == [1, 2]
    assert server.wait_for_stop(WAIT_SEC)
    assert server.state is ServerState.STOPPED


class BlockingTask(Task):
    """Runs until cancelled."""

    def __init__(self, started: threading.Event, cancelled: threading.Event) -> None:
        super().__init__(b"block")
        self.started_event = started
        self.cancelled_event = cancelled

    def on_task_cancel(self) -> None:
        self.cancelled_event.set()

    def run(self) -> TaskResult | TaskError:
        self.started_event.set()
        self.cancelled_event.wait()
        self.check_cancelled()
        return FlightDataTaskResult.for_table(pyarrow.table({"n": [1]}))


class TaskWaitMethods(FlightServerMethods):
    """DoGet starts a BlockingTask and streams its result."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.task_started = threading.Event()
        self.task_cancelled = threading.Event()

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        task = BlockingTask(self.task_started, self.task_cancelled)
        self.ctx.task_executor.submit(task)
        return self.do_get_task_result(context, self.ctx.task_executor, task.task_id)


def test_drain_timeout_cancels_running_tasks_and_fails_the_waiting_stream(make_server: MakeServer) -> None:
    created: list[TaskWaitMethods] = []

    def factory(ctx: ServerContext) -> FlightServerMethods:
        created.append(TaskWaitMethods(ctx))
        return created[-1]

    server = _started(make_server(factory, shutdown_timeout_sec=0.3))
    failure: list[BaseException] = []

    def fetch() -> None:
        with connect(server) as client:
            try:
                client.do_get(pyarrow.flight.Ticket(b"t")).read_all()
            except pyarrow.flight.FlightError as e:
                failure.append(e)

    fetcher = threading.Thread(target=fetch)
    fetcher.start()
    assert created[0].task_started.wait(WAIT_SEC)
    server.stop()
    assert server.wait_for_stop(WAIT_SEC)
    fetcher.join(WAIT_SEC)
    assert created[0].task_cancelled.is_set()
    assert len(failure) == 1
    assert isinstance(failure[0], pyarrow.flight.FlightUnavailableError)
    assert error_info_of(failure[0]).code == ErrorCode.SHUTTING_DOWN


class _GatedBatches(FlightDataTaskResult):
    """Task data whose second batch waits for a gate."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__(single_use_data=True)
        self._gate = gate

    def get_schema(self) -> pyarrow.Schema:
        return SCHEMA

    def _get_data(self) -> Iterator[pyarrow.RecordBatch]:
        yield pyarrow.record_batch({"n": [1]})
        self._gate.wait(WAIT_SEC)
        yield pyarrow.record_batch({"n": [2]})

    def _close(self) -> None:
        return


class _GatedBatchesTask(Task):
    def __init__(self, gate: threading.Event) -> None:
        super().__init__(b"batches")
        self._gate = gate

    def run(self) -> TaskResult | TaskError:
        return _GatedBatches(self._gate)


class StreamingTaskMethods(FlightServerMethods):
    """DoGet streams the generated data of a task."""

    def __init__(self, ctx: ServerContext) -> None:
        self.ctx = ctx
        self.gate = threading.Event()

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        task = _GatedBatchesTask(self.gate)
        self.ctx.task_executor.submit(task)
        return self.do_get_task_result(context, self.ctx.task_executor, task.task_id)


def test_task_stream_still_running_after_the_drain_deadline_fails_with_shutting_down(
    make_server: MakeServer,
) -> None:
    created: list[StreamingTaskMethods] = []

    def factory(ctx: ServerContext) -> FlightServerMethods:
        created.append(StreamingTaskMethods(ctx))
        return created[-1]

    server = _started(make_server(factory, shutdown_timeout_sec=0.1))
    with connect(server) as client:
        reader = client.do_get(pyarrow.flight.Ticket(b"t"))
        assert reader.read_chunk().data.num_rows == 1
        server.stop()
        assert server.wait_for_stop(WAIT_SEC)
        created[0].gate.set()
        with pytest.raises(pyarrow.flight.FlightUnavailableError) as caught:
            reader.read_all()
    assert error_info_of(caught.value).code == ErrorCode.SHUTTING_DOWN


def test_abort_stops_at_once_while_a_call_is_stuck(make_server: MakeServer) -> None:
    methods = GatedMethods()
    server = _started(make_server(methods, shutdown_timeout_sec=60))
    with connect(server) as client:
        reader = client.do_get(pyarrow.flight.Ticket(b"t"))
        reader.read_chunk()
        assert methods.streaming.wait(WAIT_SEC)
        assert not server.aborted
        server.abort()
        assert server.wait_for_stop(WAIT_SEC)
        assert server.state is ServerState.STOPPED
        assert server.aborted
        methods.release.set()


def test_start_twice_is_an_error(make_server: MakeServer) -> None:
    server = _started(make_server(GatedMethods()))
    with pytest.raises(RuntimeError, match="already started"):
        server.start(handle_signals=False)


def test_wait_for_stop_before_start_is_an_error(make_server: MakeServer) -> None:
    with pytest.raises(RuntimeError, match="never started"):
        make_server(GatedMethods()).wait_for_stop(0)


def test_stop_is_idempotent(make_server: MakeServer) -> None:
    server = _started(make_server(GatedMethods()))
    server.stop()
    server.stop()
    assert server.wait_for_stop(WAIT_SEC)
    server.stop()
    server.abort()
    assert server.state is ServerState.STOPPED


def test_lifecycle_moves_only_along_valid_transitions() -> None:
    lifecycle = Lifecycle()
    assert not lifecycle.advance(ServerState.STARTING)
    assert lifecycle.advance(ServerState.READY)
    assert not lifecycle.advance(ServerState.STARTING)
    assert lifecycle.advance(ServerState.DRAINING)
    assert lifecycle.advance(ServerState.STOPPED)
    assert not lifecycle.advance(ServerState.READY)
    assert not lifecycle.fail(RuntimeError("late"))
    assert lifecycle.state is ServerState.STOPPED


def test_lifecycle_failure_keeps_its_error_and_wakes_waiters() -> None:
    lifecycle = Lifecycle()
    error = RuntimeError("boom")
    waiter = threading.Thread(target=lifecycle.wait_for, args=({ServerState.FAILED}, WAIT_SEC))
    waiter.start()
    assert lifecycle.fail(error)
    waiter.join(WAIT_SEC)
    assert not waiter.is_alive()
    assert (lifecycle.state, lifecycle.error) == (ServerState.FAILED, error)


def test_lifecycle_wait_times_out() -> None:
    assert Lifecycle().wait_for({ServerState.READY}, 0.01) is False


class _HoldingHandler(logging.Handler):
    """Holds the thread that logs `event` until released (a log line that takes its time to write)."""

    def __init__(self, event: str) -> None:
        super().__init__()
        self._event = event
        self.entered = threading.Event()
        self.let_go = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if f'"event":"{self._event}"' in record.getMessage():
            self.entered.set()
            self.let_go.wait(WAIT_SEC)


@pytest.mark.timeout(30)
def test_wait_for_start_returns_after_readiness_and_the_started_line(make_server: MakeServer) -> None:
    server = make_server(FlightServerMethods())
    holding = _HoldingHandler("server_started")
    logger = logging.getLogger("gfs_runtime.server")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(holding)
    try:
        server.start(handle_signals=False)
        assert holding.entered.wait(WAIT_SEC)
        assert server.health.readiness().healthy  # ready before the line is written
        assert not server.wait_for_start(0.2)  # and nobody is told "started" before it is written
        holding.let_go.set()
        assert server.wait_for_start(WAIT_SEC)
    finally:
        holding.let_go.set()
        logger.removeHandler(holding)
        logger.setLevel(level)


@pytest.mark.timeout(30)
def test_a_stopped_server_leaves_no_per_thread_entries(make_server: MakeServer) -> None:
    # thread ids are reused: an entry left behind would make a later thread look like one serving a call
    before = dict(THREAD_LOG_FIELDS)
    server = make_server(FlightServerMethods())
    server.start(handle_signals=False)
    assert server.wait_for_start(WAIT_SEC)
    with connect(server) as client:
        for _ in range(3):
            with pytest.raises(pyarrow.flight.FlightServerError):
                client.list_actions()  # not implemented: a typed error, still a served call
    assert len(THREAD_LOG_FIELDS) > len(before)
    server.stop()
    assert server.wait_for_stop(WAIT_SEC)

    # every entry left is one that was there before (one this server's threads overwrote may be gone)
    assert [thread_id for thread_id, source in THREAD_LOG_FIELDS.items() if before.get(thread_id) is not source] == []
