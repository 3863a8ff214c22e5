"""Tracing exporters: batching flushed at shutdown, console output, optional packages, lazy SDK import."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gfs_runtime.config.server_config import OtelConfig, OtelExporterType
from gfs_runtime.errors.exceptions import ConfigError
from gfs_runtime.telemetry.tracing import build_tracing

pytestmark = pytest.mark.timeout(30)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _config(exporter_type: OtelExporterType | None) -> OtelConfig:
    return OtelConfig(
        exporter_type=exporter_type,
        service_name="orders-service",
        service_namespace=None,
        service_instance_id=None,
        extract_context_from_headers=False,
    )


def _run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=25,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_shutdown_flushes_spans_held_by_the_batch_processor(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "600000")  # nothing is exported until a flush
    exporter = InMemorySpanExporter()
    tracing = build_tracing(_config(None), span_exporter=exporter, batch=True)

    tracing.end_call_span(tracing.start_call_span("DoGet", {}), None)
    before_shutdown = exporter.get_finished_spans()
    tracing.shutdown()

    assert before_shutdown == ()
    assert [span.name for span in exporter.get_finished_spans()] == ["arrow.flight.protocol.FlightService/DoGet"]


def test_console_exporter_writes_finished_spans_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    tracing = build_tracing(_config(OtelExporterType.Console))
    tracing.end_call_span(tracing.start_call_span("DoPut", {}), None)
    tracing.shutdown()

    exported = json.loads(capsys.readouterr().out)
    assert exported["name"] == "arrow.flight.protocol.FlightService/DoPut"
    assert exported["resource"]["attributes"]["service.name"] == "orders-service"


@pytest.mark.parametrize(
    ("exporter_type", "module", "extra"),
    [
        (OtelExporterType.OtlpGrpc, "opentelemetry.exporter.otlp.proto.grpc.trace_exporter", "otlp-grpc"),
        (OtelExporterType.OtlpHttp, "opentelemetry.exporter.otlp.proto.http.trace_exporter", "otlp-http"),
        (OtelExporterType.Zipkin, "opentelemetry.exporter.zipkin.json", "zipkin"),
    ],
)
def test_missing_exporter_package_is_a_config_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch, exporter_type: OtelExporterType, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail even where the package is installed

    with pytest.raises(ConfigError) as raised:
        build_tracing(_config(exporter_type))

    assert raised.value.key == "server.otel_exporter_type"
    assert f"pip install 'gfs-flight[{extra}]'" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_disabled_tracing_imports_no_opentelemetry_sdk() -> None:
    out = _run_python(
        """
        import sys
        from gfs_runtime.config.server_config import OtelConfig
        from gfs_runtime.telemetry.tracing import build_tracing

        tracing = build_tracing(OtelConfig(None, "svc", None, None, True))
        handle = tracing.start_call_span("DoGet", {"traceparent": ["00-" + "1" * 32 + "-" + "2" * 16 + "-01"]})
        with tracing.use_call_span(handle), tracing.start_task_span("t", tracing.capture_context()):
            tracing.current_trace_ids()
        tracing.end_call_span(handle, None)
        tracing.shutdown()
        print(sorted(name for name in sys.modules if name.startswith("opentelemetry.sdk")))
        """
    )
    assert out.strip() == "[]"


def test_installed_global_provider_exports_users_own_spans_under_the_call() -> None:
    out = _run_python(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        from gfs_runtime.config.server_config import OtelConfig
        from gfs_runtime.telemetry.tracing import build_tracing

        exporter = InMemorySpanExporter()
        tracing = build_tracing(OtelConfig(None, "svc", None, None, False), span_exporter=exporter)
        installed = tracing.install_global_provider()
        handle = tracing.start_call_span("DoGet", {})
        with tracing.use_call_span(handle):
            trace.get_tracer("user-code").start_span("user-work").end()
        tracing.end_call_span(handle, None)
        again = tracing.install_global_provider()
        tracing.shutdown()
        user, call = exporter.get_finished_spans()
        print(installed, again, user.name, user.parent.span_id == call.context.span_id)
        """
    )
    assert out.split() == ["True", "False", "user-work", "True"]
