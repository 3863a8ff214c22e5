"""HTTP endpoint serving one registry's metrics in the Prometheus text format, on a thread of its own."""

from __future__ import annotations

import socket
import threading
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from gfs_runtime.background_http import BackgroundHTTPServer, QuietDisconnects
from gfs_runtime.errors.exceptions import ServerStartError

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

_JOIN_TIMEOUT_SEC = 5.0


class _QuietHandler(WSGIRequestHandler):
    """Request handler that keeps scrapes out of stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: a scrape every few seconds is not news."""


class _ThreadingServer(QuietDisconnects, ThreadingMixIn, WSGIServer):
    """WSGI server answering each scrape on a daemon thread, so a slow scraper never blocks others."""

    daemon_threads = True


class _ThreadingServerV6(_ThreadingServer):
    """The same for IPv6 addresses."""

    address_family = socket.AF_INET6


def _bind(registry: CollectorRegistry, host: str, port: int) -> WSGIServer:
    """A bound, not yet serving, HTTP server for `registry`; OSError when `host`:`port` cannot be bound."""
    # imported on use: importing prometheus_client builds its global default registry and reads /proc
    from prometheus_client import make_wsgi_app  # noqa: PLC0415

    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    server_class = _ThreadingServerV6 if family == socket.AF_INET6 else _ThreadingServer
    return make_server(str(address[0]), port, make_wsgi_app(registry), server_class, handler_class=_QuietHandler)


class MetricsServer:
    """Serves `registry` over HTTP on `host`:`port` (0 picks a free port) from `start()` until `stop()`."""

    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        self._registry = registry
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._serving: BackgroundHTTPServer | None = None
        self._stopped = False

    @property
    def host(self) -> str:
        """The address the endpoint binds to."""
        return self._host

    @property
    def port(self) -> int:
        """The bound port once started (the actual one when 0 was asked for), else the configured port."""
        serving = self._serving
        return serving.port if serving is not None else self._port

    def start(self) -> None:
        """Bind and serve; raises ServerStartError naming host and port when binding fails."""
        with self._lock:
            if self._stopped:
                raise ServerStartError("the metrics server was stopped and cannot be started again")
            if self._serving is not None:
                return
            try:
                httpd = _bind(self._registry, self._host, self._port)
            except OSError as e:
                reason = e.strerror or str(e)
                raise ServerStartError(
                    f"cannot serve metrics on host {self._host!r} port {self._port}: {reason}"
                ) from e
            self._serving = BackgroundHTTPServer(httpd, "gfs-metrics-http")

    def stop(self) -> None:
        """Stop serving and release the port; safe to call any number of times, also before `start()`."""
        with self._lock:
            self._stopped = True
            serving, self._serving = self._serving, None
            if serving is None:
                return
            # keep the bound port so `port` still answers it after stop
            self._port = serving.port
        serving.stop(_JOIN_TIMEOUT_SEC)
