"""Tracing: call and task spans, W3C context extraction, trace ids for logs, and the disabled mode."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pyarrow.flight
import pytest
from opentelemetry import trace as otel_trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from gfs_runtime.config.server_config import OtelConfig
from gfs_runtime.telemetry.tracing import Tracing, build_tracing

pytestmark = pytest.mark.timeout(20)

CALLER_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01"


def _config(*, extract: bool = True, namespace: str | None = None, instance_id: str | None = None) -> OtelConfig:
    return OtelConfig(
        exporter_type=None,
        service_name="orders-service",
        service_namespace=namespace,
        service_instance_id=instance_id,
        extract_context_from_headers=extract,
    )


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def tracing(exporter: InMemorySpanExporter) -> Iterator[Tracing]:
    built = build_tracing(_config(), span_exporter=exporter)
    yield built
    built.shutdown()


def _one_span(exporter: InMemorySpanExporter) -> ReadableSpan:
    spans = exporter.get_finished_spans()
    assert len(spans) == 1
    return spans[0]


def _ids(span: ReadableSpan) -> tuple[str, str]:
    assert span.context is not None
    return format(span.context.trace_id, "032x"), format(span.context.span_id, "016x")


def test_call_span_is_a_server_span_with_rpc_attributes(tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    handle = tracing.start_call_span("DoGet", {})
    tracing.set_call_peer(handle, "ipv4:127.0.0.1:50123")
    tracing.end_call_span(handle, None)

    span = _one_span(exporter)
    assert span.name == "arrow.flight.protocol.FlightService/DoGet"
    assert span.kind == SpanKind.SERVER
    assert span.attributes is not None
    assert span.attributes["rpc.system"] == "apache_arrow_flight"
    assert span.attributes["rpc.method"] == "DoGet"
    assert span.attributes["network.peer.address"] == "127.0.0.1"
    assert span.attributes["network.peer.port"] == 50123
    assert span.status.status_code == StatusCode.UNSET


def test_pyarrow_method_names_become_grpc_method_names(tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    tracing.end_call_span(tracing.start_call_span("GET_FLIGHT_INFO", {}), None)

    span = _one_span(exporter)
    assert span.attributes is not None
    assert span.attributes["rpc.method"] == "GetFlightInfo"
    assert "network.peer.address" not in span.attributes


def test_ipv6_peer_is_split_into_address_and_port(tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    handle = tracing.start_call_span("DoAction", {})
    tracing.set_call_peer(handle, b"ipv6:[::1]:4242")
    tracing.end_call_span(handle, None)

    attributes = _one_span(exporter).attributes
    assert attributes is not None
    assert attributes["network.peer.address"] == "::1"
    assert attributes["network.peer.port"] == 4242


def test_failed_call_span_has_error_status_naming_the_exception_type(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    handle = tracing.start_call_span("DoGet", {})
    tracing.end_call_span(handle, pyarrow.flight.FlightUnavailableError("shutting down"))

    span = _one_span(exporter)
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "FlightUnavailableError"
    assert span.attributes is not None
    assert str(span.attributes["error.type"]).endswith(".FlightUnavailableError")
    assert [event.name for event in span.events] == ["exception"]


def test_traceparent_header_joins_the_callers_trace(tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    headers = {"traceparent": [TRACEPARENT], "tracestate": ["vendor=abc"]}
    tracing.end_call_span(tracing.start_call_span("DoGet", headers), None)

    span = _one_span(exporter)
    assert _ids(span)[0] == CALLER_TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == CALLER_SPAN_ID
    assert span.parent.is_remote
    assert span.context is not None
    assert span.context.trace_state.get("vendor") == "abc"


def test_traceparent_header_is_ignored_when_extraction_is_off(exporter: InMemorySpanExporter) -> None:
    tracing = build_tracing(_config(extract=False), span_exporter=exporter)
    try:
        tracing.end_call_span(tracing.start_call_span("DoGet", {"traceparent": [TRACEPARENT]}), None)
    finally:
        tracing.shutdown()

    span = _one_span(exporter)
    assert span.parent is None
    assert _ids(span)[0] != CALLER_TRACE_ID


def test_malformed_traceparent_starts_a_new_trace(tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    tracing.end_call_span(tracing.start_call_span("DoGet", {"traceparent": ["00-not-a-trace-01"]}), None)

    assert _one_span(exporter).parent is None


def test_resource_names_the_service(exporter: InMemorySpanExporter) -> None:
    tracing = build_tracing(_config(namespace="sales", instance_id="pod-7"), span_exporter=exporter)
    try:
        tracing.end_call_span(tracing.start_call_span("DoGet", {}), None)
    finally:
        tracing.shutdown()

    attributes = _one_span(exporter).resource.attributes
    assert attributes["service.name"] == "orders-service"
    assert attributes["service.namespace"] == "sales"
    assert attributes["service.instance.id"] == "pod-7"


def test_resource_without_namespace_and_instance_id_gets_a_generated_instance_id(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    tracing.end_call_span(tracing.start_call_span("DoGet", {}), None)

    attributes = _one_span(exporter).resource.attributes
    assert attributes["service.name"] == "orders-service"
    assert "service.namespace" not in attributes
    assert uuid.UUID(str(attributes["service.instance.id"])).version == 4


def test_current_trace_ids_are_the_active_call_spans(tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    handle = tracing.start_call_span("DoGet", {"traceparent": [TRACEPARENT]})
    with tracing.use_call_span(handle):
        inside = tracing.current_trace_ids()
    outside = tracing.current_trace_ids()
    tracing.end_call_span(handle, None)

    assert inside == _ids(_one_span(exporter))
    assert inside[0] == CALLER_TRACE_ID
    assert outside is None


def test_task_span_in_another_thread_is_a_child_of_the_call_span(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    handle = tracing.start_call_span("DoAction", {})
    with tracing.use_call_span(handle):
        submitted_context = tracing.capture_context()
    tracing.end_call_span(handle, None)
    seen_in_task: list[tuple[str, str] | None] = []

    def run_task() -> None:
        with tracing.start_task_span("task-1", submitted_context):
            seen_in_task.append(tracing.current_trace_ids())

    worker = threading.Thread(target=run_task)
    worker.start()
    worker.join(timeout=10)

    call_span, task_span = exporter.get_finished_spans()
    assert task_span.name == "gfs.task"
    assert task_span.attributes is not None
    assert task_span.attributes["gfs.task.id"] == "task-1"
    assert task_span.parent is not None
    assert _ids(task_span)[0] == _ids(call_span)[0]
    assert format(task_span.parent.span_id, "016x") == _ids(call_span)[1]
    assert seen_in_task == [_ids(task_span)]


def test_task_span_without_parent_context_starts_its_own_trace(
    tracing: Tracing, exporter: InMemorySpanExporter
) -> None:
    with tracing.start_task_span("task-2", None):
        pass

    assert _one_span(exporter).parent is None


def test_exception_escaping_a_task_marks_its_span_failed(tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    with pytest.raises(ValueError, match="bad input"), tracing.start_task_span("task-3", Context()):
        raise ValueError("bad input")

    span = _one_span(exporter)
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "ValueError"
    assert tracing.current_trace_ids() is None


def test_task_reported_failure_marks_its_span_failed(tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    with tracing.start_task_span("task-4", None) as task_span:
        task_span.fail("COMMAND_FAILED")

    span = _one_span(exporter)
    assert span.status.status_code == StatusCode.ERROR
    assert span.status.description == "COMMAND_FAILED"


def test_provider_is_not_installed_globally(tracing: Tracing, exporter: InMemorySpanExporter) -> None:
    otel_trace.get_tracer("someone-else").start_span("not-ours").end()
    tracing.end_call_span(tracing.start_call_span("DoGet", {}), None)

    assert [span.name for span in exporter.get_finished_spans()] == ["arrow.flight.protocol.FlightService/DoGet"]


def test_shutdown_twice_is_harmless_and_later_spans_are_dropped(exporter: InMemorySpanExporter) -> None:
    tracing = build_tracing(_config(), span_exporter=exporter)
    tracing.shutdown()
    tracing.shutdown()

    tracing.end_call_span(tracing.start_call_span("DoGet", {}), None)
    assert exporter.get_finished_spans() == ()


def test_disabled_tracing_does_nothing_per_call() -> None:
    tracing = build_tracing(_config())

    handle = tracing.start_call_span("DoGet", {"traceparent": [TRACEPARENT]})
    tracing.set_call_peer(handle, "ipv4:127.0.0.1:1")
    with tracing.use_call_span(handle):
        assert tracing.current_trace_ids() is None
        assert tracing.capture_context() is None
    with tracing.start_task_span("task-5", None) as task_span:
        task_span.fail("ignored")
    tracing.end_call_span(handle, RuntimeError("x"))
    tracing.shutdown()

    assert handle is None
    assert not tracing.enabled
