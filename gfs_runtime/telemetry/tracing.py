"""OpenTelemetry tracing: one span per Flight call and per task, from a provider owned by a `Tracing` object.

The SDK is imported only when tracing is enabled. Task spans are children of the context captured at submit
(usually the call's span), so they join the caller's trace even when they end after the call; a parent is used,
not a span link, because Zipkin and most trace viewers do not show links. `build_tracing(config, span_exporter=)`
replaces the configured exporter (tests); `batch` defaults to a BatchSpanProcessor only for configured ones.
Optional exporters come from extras and read their endpoint from the standard ``OTEL_EXPORTER_*`` variables.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Final

from gfs_runtime.errors.exceptions import ConfigError

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span

    from gfs_runtime.config.server_config import OtelConfig

__all__ = ["TaskSpan", "Tracing", "build_tracing"]

_EXPORTER_TYPE_KEY: Final = "server.otel_exporter_type"
_RPC_SERVICE: Final = "arrow.flight.protocol.FlightService"


# exporter type (also the name of the gfs-flight extra) -> (package, module, class) of an optional exporter
_OPTIONAL_EXPORTERS: Final = {
    "otlp-grpc": ("opentelemetry-exporter-otlp-proto-grpc", "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"),
    "otlp-http": ("opentelemetry-exporter-otlp-proto-http", "opentelemetry.exporter.otlp.proto.http.trace_exporter"),
    "zipkin": ("opentelemetry-exporter-zipkin-json", "opentelemetry.exporter.zipkin.json"),
}
_EXPORTER_CLASSES: Final = {"zipkin": "ZipkinExporter"}  # the OTLP modules both name theirs OTLPSpanExporter


class TaskSpan:
    """A running task's span; the executor calls `fail` when the task returns an error instead of raising."""

    __slots__ = ("_span",)

    def __init__(self, span: Span | None) -> None:
        self._span = span

    def fail(self, reason: str) -> None:
        """Mark the task's span as failed with a short reason (no-op when tracing is off)."""
        if self._span is not None:
            _mark_failed(self._span, reason)


class Tracing:
    """Tracing switched off: every method is a constant-time no-op; `build_tracing` returns the live kind."""

    enabled: bool = False

    def __init__(self) -> None:
        self._no_context: AbstractContextManager[None] = contextlib.nullcontext()
        self._no_task_span: AbstractContextManager[TaskSpan] = contextlib.nullcontext(TaskSpan(None))

    def start_call_span(self, method: str, headers: Mapping[str, Sequence[str]]) -> Span | None:
        """Start the SERVER span of one Flight call (`method` is the RPC name, e.g. ``DoGet`` or ``DO_GET``)."""
        return None

    def end_call_span(self, handle: Span | None, exception: BaseException | None) -> None:
        """End a call's span; a failed call gets status ERROR naming the exception type."""

    def set_call_peer(self, handle: Span | None, peer: str | bytes | None) -> None:
        """Add the caller's address (gRPC's peer string) to a call's span, once the handler knows it."""

    def use_call_span(self, handle: Span | None) -> AbstractContextManager[None]:
        """Make the call's span current in this thread while the handler runs (for logs and task submits)."""
        return self._no_context

    def capture_context(self) -> Context | None:
        """The current trace context, to hand to the thread that will run a submitted task."""
        return None

    def start_task_span(self, task_id: str, parent_context: Context | None) -> AbstractContextManager[TaskSpan]:
        """Context manager running a task inside its span, a child of `parent_context` (see module docstring)."""
        return self._no_task_span

    def current_trace_ids(self) -> tuple[str, str] | None:
        """The (trace_id, span_id) hex pair of the current span, for log records; None when there is none."""
        return None

    def install_global_provider(self) -> bool:
        """Make this provider OpenTelemetry's global one so users' own spans are exported; False if not done."""
        return False

    def shutdown(self, timeout_sec: float = 10.0) -> None:
        """Flush pending spans and stop exporting; safe to call more than once."""


class _AttachedContext:
    """Cheap context manager making an OpenTelemetry context current in this thread."""

    __slots__ = ("_context", "_token", "_tracing")
    _token: Token[Context]

    def __init__(self, tracing: _SdkTracing, context: Context) -> None:
        self._tracing, self._context = tracing, context

    def __enter__(self) -> None:
        self._token = self._tracing._attach(self._context)

    def __exit__(self, *exc_info: object) -> None:
        self._tracing._detach(self._token)


class _SdkTracing(Tracing):
    """Tracing through an OpenTelemetry SDK TracerProvider owned by this object."""

    enabled = True

    def __init__(self, provider: TracerProvider, *, extract_context: bool) -> None:
        super().__init__()
        from opentelemetry import context as otel_context  # noqa: PLC0415  # the SDK path loads OTel lazily
        from opentelemetry import trace as otel_trace  # noqa: PLC0415
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator  # noqa: PLC0415

        self._provider = provider
        self._tracer = provider.get_tracer("gfs_runtime")
        self._extract = TraceContextTextMapPropagator().extract if extract_context else None
        self._empty_context = otel_context.Context()
        self._attach = otel_context.attach
        self._detach = otel_context.detach
        self._get_current = otel_context.get_current
        self._get_current_span = otel_trace.get_current_span
        self._set_span_in_context = otel_trace.set_span_in_context
        self._kinds = otel_trace.SpanKind
        self._rpc_names: dict[str, tuple[str, str]] = {}
        self._shutdown_lock, self._is_shut_down = threading.Lock(), False

    def start_call_span(self, method: str, headers: Mapping[str, Sequence[str]]) -> Span | None:
        """Start the SERVER span of one Flight call, joining the caller's trace if extraction is on."""
        names = self._rpc_names.get(method) or self._remember_rpc_names(method)
        parent = self._empty_context if self._extract is None else self._extract(headers, self._empty_context)
        attributes: dict[str, str | int] = {
            "rpc.system": "apache_arrow_flight",
            "rpc.service": _RPC_SERVICE,
            "rpc.method": names[1],
        }
        return self._tracer.start_span(names[0], context=parent, kind=self._kinds.SERVER, attributes=attributes)

    def end_call_span(self, handle: Span | None, exception: BaseException | None) -> None:
        """End a call's span; a failed call gets status ERROR naming the exception type."""
        if handle is None:
            return
        if exception is not None:
            _mark_exception(handle, exception)
        handle.end()

    def set_call_peer(self, handle: Span | None, peer: str | bytes | None) -> None:
        """Add the caller's address (gRPC's peer string) to a call's span, once the handler knows it."""
        if handle is None or not peer:
            return
        attributes: dict[str, str | int] = {}
        _add_peer_attributes(attributes, peer.decode(errors="replace") if isinstance(peer, bytes) else peer)
        handle.set_attributes(attributes)

    def use_call_span(self, handle: Span | None) -> AbstractContextManager[None]:
        """Make the call's span current in this thread while the handler runs."""
        if handle is None:
            return self._no_context
        return _AttachedContext(self, self._set_span_in_context(handle, self._empty_context))

    def capture_context(self) -> Context | None:
        """The current trace context, to hand to the thread that will run a submitted task."""
        return self._get_current()

    @contextlib.contextmanager
    def start_task_span(self, task_id: str, parent_context: Context | None) -> Iterator[TaskSpan]:
        """Run a task inside an INTERNAL span, child of `parent_context`, current in this thread."""
        parent = self._empty_context if parent_context is None else parent_context
        span = self._tracer.start_span("gfs.task", context=parent, kind=self._kinds.INTERNAL)
        span.set_attribute("gfs.task.id", task_id)
        token = self._attach(self._set_span_in_context(span, parent))
        try:
            yield TaskSpan(span)
        except BaseException as exc:
            _mark_exception(span, exc)
            raise
        finally:
            self._detach(token)
            span.end()

    def current_trace_ids(self) -> tuple[str, str] | None:
        """The (trace_id, span_id) hex pair of the current span, for log records; None when there is none."""
        span_context = self._get_current_span().get_span_context()
        if not span_context.is_valid:
            return None
        return format(span_context.trace_id, "032x"), format(span_context.span_id, "016x")

    def install_global_provider(self) -> bool:
        """Make this provider OpenTelemetry's global one so users' own spans are exported; False if not done."""
        from opentelemetry import trace as otel_trace  # noqa: PLC0415  # OTel is loaded lazily

        if not isinstance(otel_trace.get_tracer_provider(), otel_trace.ProxyTracerProvider):
            return False
        otel_trace.set_tracer_provider(self._provider)
        return otel_trace.get_tracer_provider() is self._provider

    def shutdown(self, timeout_sec: float = 10.0) -> None:
        """Flush pending spans, then shut the provider and its exporter down; later calls do nothing."""
        with self._shutdown_lock:
            if self._is_shut_down:
                return
            self._is_shut_down = True
        self._provider.force_flush(int(timeout_sec * 1000))
        self._provider.shutdown()

    def _remember_rpc_names(self, method: str) -> tuple[str, str]:
        rpc_method = method.title().replace("_", "") if "_" in method or method.isupper() else method
        names = (f"{_RPC_SERVICE}/{rpc_method}", rpc_method)
        if len(self._rpc_names) < 64:  # pyarrow's method names are a closed set; this is only a backstop
            self._rpc_names[method] = names
        return names


def _add_peer_attributes(attributes: dict[str, str | int], peer: str) -> None:
    """Split a gRPC peer string (``ipv4:1.2.3.4:5``, ``ipv6:[::1]:5``) into network.peer.* attributes."""
    family, _, address = peer.partition(":")
    host, sep, port = address.rpartition(":")
    if family in ("ipv4", "ipv6") and sep and port.isdigit():
        attributes["network.peer.address"] = host.strip("[]")
        attributes["network.peer.port"] = int(port)
    else:
        attributes["network.peer.address"] = peer


def _mark_exception(span: Span, exception: BaseException) -> None:
    """Set status ERROR and error.type from an exception, and record it as a span event."""
    type_name = type(exception).__qualname__
    span.set_attribute("error.type", f"{type(exception).__module__}.{type_name}")
    span.record_exception(exception)
    _mark_failed(span, type_name)


def _mark_failed(span: Span, reason: str) -> None:
    from opentelemetry.trace import StatusCode  # noqa: PLC0415  # failure path only; OTel is already loaded

    span.set_status(StatusCode.ERROR, reason)


def build_tracing(
    otel_config: OtelConfig, *, span_exporter: SpanExporter | None = None, batch: bool | None = None
) -> Tracing:
    """Build tracing from settings: off without an exporter, else an SDK provider owned by the returned object."""
    use_batch = span_exporter is None if batch is None else batch
    if span_exporter is None:
        if otel_config.exporter_type is None:
            return Tracing()
        span_exporter = _create_exporter(otel_config.exporter_type.value)
    from opentelemetry.sdk.trace import TracerProvider  # noqa: PLC0415  # the SDK is loaded only when tracing is on
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor  # noqa: PLC0415

    provider = TracerProvider(resource=_build_resource(otel_config))
    provider.add_span_processor(BatchSpanProcessor(span_exporter) if use_batch else SimpleSpanProcessor(span_exporter))
    return _SdkTracing(provider, extract_context=otel_config.extract_context_from_headers)


def _create_exporter(exporter_type: str) -> SpanExporter:
    """The span exporter for a configured type; a missing optional package is a ConfigError naming its extra."""
    if exporter_type == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter  # noqa: PLC0415  # SDK loaded lazily

        # sys.stdout is read now, not at SDK import, so redirected or captured stdout is honoured
        return ConsoleSpanExporter(out=sys.stdout)
    if exporter_type not in _OPTIONAL_EXPORTERS:
        raise ConfigError("unknown span exporter type", key=_EXPORTER_TYPE_KEY, value=exporter_type)
    package, module_name = _OPTIONAL_EXPORTERS[exporter_type]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"the {exporter_type} span exporter needs the optional package {package}, which could not be imported"
            f" ({exc}); install it with: pip install 'gfs-flight[{exporter_type}]'",
            key=_EXPORTER_TYPE_KEY,
            value=exporter_type,
        ) from exc
    exporter: SpanExporter = getattr(module, _EXPORTER_CLASSES.get(exporter_type, "OTLPSpanExporter"))()
    return exporter


def _build_resource(otel_config: OtelConfig) -> Resource:
    """Resource naming the service (the SDK adds a per-process UUID when no instance id is configured)."""
    from opentelemetry.sdk.resources import Resource  # noqa: PLC0415  # SDK loaded lazily

    attributes = {"service.name": otel_config.service_name}
    if otel_config.service_namespace:
        attributes["service.namespace"] = otel_config.service_namespace
    if otel_config.service_instance_id:
        attributes["service.instance.id"] = otel_config.service_instance_id
    return Resource.create(attributes)
