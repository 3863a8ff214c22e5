"""The HTTP endpoints' shared serving: a real server on a daemon thread, quiet about clients that left."""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from gfs_runtime.background_http import BackgroundHTTPServer, QuietDisconnects
from gfs_runtime.telemetry.log_capture import capture_log_events

pytestmark = pytest.mark.timeout(10)


class _Handler(BaseHTTPRequestHandler):
    """GET /gone raises as if the client had closed its connection; /bug raises a plain error; else 200."""

    def do_GET(self) -> None:
        if self.path == "/gone":
            raise BrokenPipeError(32, "Broken pipe")
        if self.path == "/bug":
            raise ValueError("a bug in the handler")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output clean."""


class _QuietServer(QuietDisconnects, HTTPServer):
    pass


def _get(port: int, path: str) -> int | None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        return connection.getresponse().status
    except (http.client.RemoteDisconnected, ConnectionError):
        return None
    finally:
        connection.close()


def test_a_request_error_is_logged_once_and_a_vanished_client_not_at_all(capsys: pytest.CaptureFixture[str]) -> None:
    serving = BackgroundHTTPServer(_QuietServer(("127.0.0.1", 0), _Handler), "test-http")
    try:
        with capture_log_events() as events:
            assert _get(serving.port, "/gone") is None
            assert _get(serving.port, "/bug") is None
            assert _get(serving.port, "/ok") == 200  # still serving after both
    finally:
        serving.stop(5)

    assert capsys.readouterr().err == ""  # socketserver would print both tracebacks here
    (failure,) = [event for event in events if event["event"] == "http_request_failed"]
    assert failure["level"] == "warning"
    assert "a bug in the handler" in failure["exception"]


def test_stop_ends_the_thread_and_frees_the_port() -> None:
    serving = BackgroundHTTPServer(_QuietServer(("127.0.0.1", 0), _Handler), "test-http-stop")
    port = serving.port
    assert _get(port, "/ok") == 200
    serving.stop(5)

    assert not [thread for thread in threading.enumerate() if thread.name == "test-http-stop"]
    assert _get(port, "/ok") is None
