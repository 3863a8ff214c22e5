"""A small service exercising the shell: actions, a task per GetFlightInfo, log lines, identity, own metrics."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pyarrow
import pyarrow.flight
import structlog
from opentelemetry import trace as otel_trace

from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.server.context import ServerContext
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.tasks.results import FlightDataTaskResult, TaskResult
from gfs_runtime.tasks.task import Task
from gfs_runtime.tasks.task_error import TaskError

WAIT_SEC = 10.0
TABLE = pyarrow.table({"n": [1, 2, 3]})


class TableTask(Task):
    """Logs a line, then returns the small table (or fails when its command is b"fail")."""

    def run(self) -> TaskResult | TaskError:
        structlog.get_logger("shell_test").info("task_ran")
        if self.cmd == b"fail":
            raise RuntimeError("the task failed")
        return FlightDataTaskResult.for_table(TABLE)


class ShellService(FlightServerMethods):
    """Actions ok, bad, crash, slow (waits for `release`), log, whoami, span, count; GetFlightInfo submits a task."""

    def __init__(self, ctx: ServerContext | None = None) -> None:
        self.ctx = ctx
        self.entered = threading.Event()
        self.release = threading.Event()
        self.seen_spans: list[Any] = []
        metrics = None if ctx is None else ctx.metrics
        self.counter = None if metrics is None else metrics.counter("shell_orders", "Orders served.", ["kind"])
        self.logger = structlog.get_logger("shell_test")

    def do_action(self, context: pyarrow.flight.ServerCallContext, action: pyarrow.flight.Action) -> Iterator[bytes]:
        kind = action.type
        if kind == "bad":
            raise ErrorInfo.bad_argument("that is not an order")
        if kind == "crash":
            headers = self.call_info_middleware(context).headers  # a local holding the token when it fails
            raise RuntimeError(f"crashed with {len(headers)} headers")
        if kind == "slow":
            self.entered.set()
            assert self.release.wait(WAIT_SEC)
        if kind == "log":
            info = self.call_info_middleware(context)
            self.logger.info("order_logged", headers=info.headers, note=f"got {info.headers.get('authorization')}")
        if kind == "whoami":
            yield repr(self.call_info_middleware(context).token_data).encode()
        if kind == "span":
            self.seen_spans.append(otel_trace.get_current_span().get_span_context())
        if kind == "count" and self.counter is not None:
            self.counter.labels("retail").inc()
        yield b"done"

    def list_actions(self, context: pyarrow.flight.ServerCallContext) -> list[tuple[str, str]]:
        return [("ok", "Succeeds.")]

    def get_flight_info(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.FlightInfo:
        assert self.ctx is not None
        task = TableTask(descriptor.command)
        self.ctx.task_executor.submit(task)
        endpoint = pyarrow.flight.FlightEndpoint(task.task_id.encode(), [self.ctx.location])
        return pyarrow.flight.FlightInfo(TABLE.schema, descriptor, [endpoint], TABLE.num_rows, -1)

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        assert self.ctx is not None
        return self.do_get_task_result(context, self.ctx.task_executor, ticket.ticket.decode())


def fetch(client: pyarrow.flight.FlightClient, command: bytes = b"orders", options: Any = None) -> pyarrow.Table:
    """GetFlightInfo (which submits a task) then DoGet of its ticket."""
    info = client.get_flight_info(pyarrow.flight.FlightDescriptor.for_command(command), options)
    return client.do_get(info.endpoints[0].ticket, options).read_all()
