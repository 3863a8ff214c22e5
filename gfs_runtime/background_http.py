"""What the health and metrics HTTP endpoints share: serving from a daemon thread, quiet about clients that left."""

from __future__ import annotations

import sys
import threading
from typing import TYPE_CHECKING, Any, Final

from gfs_runtime.telemetry.event_logger import get_logger

if TYPE_CHECKING:
    from http.server import HTTPServer

# serve_forever notices a stop request only between polls: a short poll keeps every stop quick
_POLL_INTERVAL_SEC: Final = 0.05


class QuietDisconnects:
    """Mixin for a socketserver server: a client that went away is no error; other request errors are logged.

    socketserver's own `handle_error` prints a traceback to stderr, outside the service's log format.
    """

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore a closed or reset connection; log anything else as one warning with its traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        get_logger("gfs_runtime.http").warning("http_request_failed", exc_info=True)


class BackgroundHTTPServer:
    """Serves `httpd` (already bound) on a daemon thread from construction until `stop()`."""

    def __init__(self, httpd: HTTPServer, thread_name: str) -> None:
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": _POLL_INTERVAL_SEC}, name=thread_name, daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        """The port the server is bound to."""
        return self._httpd.server_port

    def stop(self, join_timeout_sec: float | None = None) -> None:
        """Stop serving, close the socket and wait (up to `join_timeout_sec`) for the thread to end."""
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(join_timeout_sec)
