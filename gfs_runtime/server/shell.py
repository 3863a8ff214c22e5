"""The production shell around the Flight server: health probes, Prometheus metrics, tracing and malloc_trim.

Each part exists only when configured: without `metrics_host` nothing of prometheus_client is imported, and
without an exporter nothing of the OpenTelemetry SDK. The health probes start first and stop last, so
Kubernetes sees the server as not ready from the start of start-up to the very end of shutdown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from gfs_runtime.config import ServerConfig
from gfs_runtime.health.maintenance import MallocTrimmer
from gfs_runtime.health.monitor import ServerHealthMonitor
from gfs_runtime.telemetry.metrics import ServerMetrics
from gfs_runtime.telemetry.tracing import Tracing, build_tracing

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    from gfs_runtime.health.http_server import HealthCheckServer
    from gfs_runtime.telemetry.metrics_server import MetricsServer

_SPAN_FLUSH_TIMEOUT_SEC = 10.0


class ServerShell:
    """Builds the configured health, metrics and tracing parts of one server, and starts and stops them."""

    def __init__(
        self, config: ServerConfig, health: ServerHealthMonitor, *, span_exporter: SpanExporter | None = None
    ) -> None:
        self.tracing: Tracing = build_tracing(config.otel_config, span_exporter=span_exporter)
        self.metrics: ServerMetrics | None = None
        self._metrics_server: MetricsServer | None = None
        if config.metrics_host:
            from gfs_runtime.telemetry.metrics_server import MetricsServer  # noqa: PLC0415  # only when configured

            self.metrics = ServerMetrics()
            self._metrics_server = MetricsServer(self.metrics.registry, config.metrics_host, config.metrics_port)
        self._health_server: HealthCheckServer | None = None
        if config.health_check_host:
            from gfs_runtime.health.http_server import HealthCheckServer  # noqa: PLC0415  # only when configured

            self._health_server = HealthCheckServer(health, config.health_check_host, config.health_check_port)
        self._trimmer = MallocTrimmer(config.malloc_trim_interval_sec, on_trim=self._trimmed)

    @property
    def health_check_port(self) -> int | None:
        """The port of the health probes (the bound one once started); None without `health_check_host`."""
        return None if self._health_server is None else self._health_server.port

    @property
    def metrics_port(self) -> int | None:
        """The port of the metrics endpoint (the bound one once started); None without `metrics_host`."""
        return None if self._metrics_server is None else self._metrics_server.port

    def start(self) -> None:
        """Start the health probes, the metrics endpoint and malloc trimming; ServerStartError if a port is taken."""
        if self._health_server is not None:
            self._health_server.start()
        if self._metrics_server is not None:
            self._metrics_server.start()
        self._trimmer.start()

    def stop(self, *, flush_spans: bool = True) -> None:
        """Stop trimming, flush spans (unless aborting), stop the metrics endpoint and, last, the health probes."""
        self._trimmer.stop()
        if flush_spans:
            self.tracing.shutdown(_SPAN_FLUSH_TIMEOUT_SEC)
        if self._metrics_server is not None:
            self._metrics_server.stop()
        if self._health_server is not None:
            self._health_server.stop()

    def _trimmed(self, duration_sec: float, ok: bool) -> None:
        metrics = self.metrics
        if metrics is None:
            return
        if ok:
            metrics.malloc_trimmed(duration_sec)
        else:
            metrics.malloc_trim_failed()
