"""HTTP liveness and readiness probes for Kubernetes, served on their own port and threads.

Endpoints (GET and HEAD; the query string is ignored; HEAD sends the same status and headers, no body):

- ``/live``:  200 ``{"status":"ok"}`` unless a module is NOT_OK, then
  503 ``{"status":"not_live","failing":[...]}``.
- ``/ready``: 200 ``{"status":"ok"}`` when the server accepts traffic and every module is OK, else
  503 ``{"status":"not_ready","failing":[...]}`` (the server's own state shows as ``server:<state>``).

Every other answer:

- 404 ``{"error":"not_found"}`` for any other path.
- 405 ``{"error":"method_not_allowed"}`` with ``Allow: GET, HEAD`` for POST, PUT, PATCH, DELETE, OPTIONS,
  TRACE and CONNECT.
- 400 (malformed request line), 414 (request line over 64 KiB), 431 (over 100 headers or an overlong
  header) and 501 (a method HTTP does not define) come from the stdlib parser, answered with a JSON body
  ``{"error":...}`` too.

Each request runs on its own short-lived thread and reads the monitor's verdict, which holds a lock for
microseconds only, so the probes keep answering while the Flight port is saturated.
"""

from __future__ import annotations

import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final, cast
from urllib.parse import urlsplit

import orjson

from gfs_runtime.background_http import BackgroundHTTPServer, QuietDisconnects
from gfs_runtime.errors.exceptions import ServerStartError
from gfs_runtime.health.monitor import HealthReport, ServerHealthMonitor
from gfs_runtime.telemetry.event_logger import get_logger

LIVENESS_PATH: Final = "/live"
READINESS_PATH: Final = "/ready"
_ALLOWED_METHODS: Final = "GET, HEAD"
_REQUEST_TIMEOUT_SEC: Final = 5.0


class _ProbeHTTPServer(QuietDisconnects, ThreadingHTTPServer):
    """A threading HTTP server that carries the monitor and skips the stdlib's FQDN lookup."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], monitor: ServerHealthMonitor) -> None:
        self.monitor = monitor
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _ProbeHandler)

    def server_bind(self) -> None:
        """Bind without `HTTPServer.server_bind`, whose `getfqdn` may block on reverse DNS."""
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(self.server_address)
        self.server_address = self.socket.getsockname()
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])


class _ProbeHandler(BaseHTTPRequestHandler):
    """Answers /live and /ready from the monitor; everything else gets a JSON error."""

    server_version = "gfs-health"
    timeout = _REQUEST_TIMEOUT_SEC

    def version_string(self) -> str:
        """Name the server without the Python version the stdlib would add."""
        return self.server_version

    def do_GET(self) -> None:
        """Answer a probe with its JSON body."""
        self._answer()

    def do_HEAD(self) -> None:
        """Answer a probe with status and headers only."""
        self._answer()

    def _method_not_allowed(self) -> None:
        self._reply(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "method_not_allowed"}, allow=_ALLOWED_METHODS)

    # names fixed by BaseHTTPRequestHandler, which dispatches to do_<METHOD>
    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_TRACE = do_CONNECT = _method_not_allowed  # noqa: N815

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """Answer the stdlib parser's errors with JSON instead of HTML."""
        self.close_connection = True
        # the stdlib leaves the version at HTTP/0.9 (no status line) when the request line is unparsable
        self.request_version = self.protocol_version
        try:
            status = HTTPStatus(code)
        except ValueError:
            status = HTTPStatus.BAD_REQUEST
        self._reply(status, {"error": status.phrase.lower().replace(" ", "_")})

    def log_message(self, format: str, *args: object) -> None:
        """Stay silent: probes arrive every few seconds and must not flood stderr."""

    def _answer(self) -> None:
        path = urlsplit(self.path).path
        monitor = cast(_ProbeHTTPServer, self.server).monitor
        if path == LIVENESS_PATH:
            status, body = _probe_reply(monitor.liveness(), "not_live")
        elif path == READINESS_PATH:
            status, body = _probe_reply(monitor.readiness(), "not_ready")
        else:
            status, body = HTTPStatus.NOT_FOUND, {"error": "not_found"}
        self._reply(status, body)

    def _reply(self, status: HTTPStatus, body: dict[str, object], *, allow: str | None = None) -> None:
        payload = orjson.dumps(body)
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        if allow is not None:
            self.send_header("Allow", allow)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)


def _probe_reply(report: HealthReport, failed_status: str) -> tuple[HTTPStatus, dict[str, object]]:
    if report.healthy:
        return HTTPStatus.OK, {"status": "ok"}
    return HTTPStatus.SERVICE_UNAVAILABLE, {"status": failed_status, "failing": list(report.failing)}


class HealthCheckServer:
    """Serves the /live and /ready probes of one `ServerHealthMonitor` on a separate HTTP port."""

    def __init__(self, monitor: ServerHealthMonitor, host: str, port: int) -> None:
        self._monitor = monitor
        self._host = host
        self._requested_port = port
        self._bound_port: int | None = None
        self._lock = threading.Lock()
        self._serving: BackgroundHTTPServer | None = None

    @property
    def host(self) -> str:
        """The address the probes are served on."""
        return self._host

    @property
    def port(self) -> int:
        """The bound port once started (the real one when 0 was asked for), else the requested one."""
        return self._bound_port if self._bound_port is not None else self._requested_port

    def start(self) -> None:
        """Bind the port and start serving on a daemon thread; raises ServerStartError if binding fails."""
        with self._lock:
            if self._serving is not None:
                return
            try:
                httpd = _ProbeHTTPServer((self._host, self._requested_port), self._monitor)
            except OSError as err:
                reason = err.strerror or str(err)
                raise ServerStartError(
                    f"health check server cannot listen on {self._host}:{self._requested_port}: {reason}"
                ) from err
            self._serving = BackgroundHTTPServer(httpd, "gfs-health-http")
            self._bound_port = self._serving.port
        get_logger("gfs_runtime.health").info("health_check_started", host=self._host, port=self.port)

    def stop(self) -> None:
        """Stop serving, close the socket and join the thread; calling it again does nothing."""
        with self._lock:
            serving, self._serving = self._serving, None
            if serving is None:
                return
            serving.stop()
        get_logger("gfs_runtime.health").info("health_check_stopped", host=self._host)
