"""Tracing through a real FlightServer, spans caught by an in-memory exporter: calls, tasks, caller's trace."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow.flight
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from tests.shell.service import ShellService, fetch
from tests.shell.support import ServerFactory, bearer, client_for, run_action

pytestmark = pytest.mark.timeout(30)

WAIT_SEC = 10.0
SERVICE = "arrow.flight.protocol.FlightService"
CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"


class RecordingExporter(InMemorySpanExporter):
    """Keeps finished spans and notes that the server shut it down."""

    def __init__(self) -> None:
        super().__init__()
        self.shut_down = False

    def shutdown(self) -> None:
        self.shut_down = True
        super().shutdown()


def _named(spans: Sequence[ReadableSpan], rpc: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == f"{SERVICE}/{rpc}"]


def _hex_ids(span: ReadableSpan) -> tuple[str, str]:
    assert span.context is not None
    return format(span.context.trace_id, "032x"), format(span.context.span_id, "016x")


def _stopped(server: object) -> None:
    server.stop()  # type: ignore[attr-defined]
    assert server.wait_for_stop(WAIT_SEC)  # type: ignore[attr-defined]


def test_every_rpc_gets_a_server_span_and_failures_are_marked(make_server: ServerFactory) -> None:
    exporter = RecordingExporter()
    server = make_server(ShellService, span_exporter=exporter)
    with client_for(server) as client:
        run_action(client, "ok")
        client.list_actions()
        with pytest.raises(pyarrow.flight.FlightServerError):
            run_action(client, "bad")
    _stopped(server)

    spans = exporter.get_finished_spans()
    ok_action, bad_action = _named(spans, "DoAction")
    (listing,) = _named(spans, "ListActions")
    assert {ok_action.kind, listing.kind, bad_action.kind} == {SpanKind.SERVER}
    assert ok_action.attributes is not None
    assert ok_action.attributes["rpc.method"] == "DoAction"
    assert ok_action.attributes["network.peer.address"] == "127.0.0.1"
    assert isinstance(ok_action.attributes["network.peer.port"], int)
    assert listing.attributes is not None
    assert listing.attributes["network.peer.address"] == "127.0.0.1"
    assert ok_action.status.status_code == StatusCode.UNSET
    assert bad_action.status.status_code == StatusCode.ERROR
    assert exporter.shut_down


def test_task_span_is_in_the_trace_of_the_get_flight_info_that_submitted_it(make_server: ServerFactory) -> None:
    exporter = RecordingExporter()
    server = make_server(ShellService, span_exporter=exporter)
    with client_for(server) as client:
        assert fetch(client).num_rows == 3
    _stopped(server)

    spans = exporter.get_finished_spans()
    (info_span,) = _named(spans, "GetFlightInfo")
    (task_span,) = [span for span in spans if span.name == "gfs.task"]
    (get_span,) = _named(spans, "DoGet")
    assert task_span.parent is not None
    assert _hex_ids(task_span)[0] == _hex_ids(info_span)[0]
    assert format(task_span.parent.span_id, "016x") == _hex_ids(info_span)[1]
    assert _hex_ids(get_span)[0] != _hex_ids(info_span)[0]


def test_failed_task_marks_its_span_failed(make_server: ServerFactory) -> None:
    exporter = RecordingExporter()
    server = make_server(ShellService, span_exporter=exporter)
    with client_for(server) as client, pytest.raises(pyarrow.flight.FlightServerError):
        fetch(client, b"fail")
    _stopped(server)

    (task_span,) = [span for span in exporter.get_finished_spans() if span.name == "gfs.task"]
    assert task_span.status.status_code == StatusCode.ERROR
    assert task_span.status.description is not None
    assert "command_failed" in task_span.status.description.lower()


def test_traceparent_header_joins_the_callers_trace(make_server: ServerFactory) -> None:
    exporter = RecordingExporter()
    server = make_server(ShellService, span_exporter=exporter, otel_extract_context=True)
    traceparent = f"00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01".encode()
    options = pyarrow.flight.FlightCallOptions(headers=[(b"traceparent", traceparent)], timeout=10)
    with client_for(server) as client:
        run_action(client, "ok", options)
    _stopped(server)

    (span,) = _named(exporter.get_finished_spans(), "DoAction")
    assert _hex_ids(span)[0] == CALLER_TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == CALLER_SPAN_ID


def test_traceparent_is_ignored_unless_extraction_is_on(make_server: ServerFactory) -> None:
    exporter = RecordingExporter()
    server = make_server(ShellService, span_exporter=exporter)
    traceparent = f"00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01".encode()
    with client_for(server) as client:
        run_action(client, "ok", pyarrow.flight.FlightCallOptions(headers=[(b"traceparent", traceparent)]))
    _stopped(server)

    (span,) = _named(exporter.get_finished_spans(), "DoAction")
    assert span.parent is None
    assert _hex_ids(span)[0] != CALLER_TRACE_ID


def test_handler_runs_with_its_call_span_current(make_server: ServerFactory) -> None:
    exporter = RecordingExporter()
    methods = ShellService()
    server = make_server(methods, span_exporter=exporter)
    with client_for(server) as client:
        run_action(client, "span")
    _stopped(server)

    (span,) = _named(exporter.get_finished_spans(), "DoAction")
    (seen,) = methods.seen_spans
    assert span.context is not None
    assert (seen.trace_id, seen.span_id) == (span.context.trace_id, span.context.span_id)


def test_unauthenticated_call_gets_an_error_span(make_server: ServerFactory, strategy_module: str) -> None:
    exporter = RecordingExporter()
    server = make_server(
        ShellService, span_exporter=exporter, authentication_method="token", token_verification=strategy_module
    )
    with client_for(server) as client, pytest.raises(pyarrow.flight.FlightUnauthenticatedError):
        run_action(client, "ok", bearer("mallory-token"))
    _stopped(server)

    (span,) = _named(exporter.get_finished_spans(), "DoAction")
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "FlightUnauthenticatedError"
