"""FlightServer: start, serve and stop a service's FlightServerMethods; and `create_server`."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import pyarrow.flight

from gfs_runtime.config import LoadedSettings, ServerConfig, read_config
from gfs_runtime.health.monitor import ServerHealthMonitor
from gfs_runtime.server.context import FlightServerMethodsFactory, ServerContext
from gfs_runtime.server.flight_service import FlightService
from gfs_runtime.server.lifecycle import FINAL_STATES, Lifecycle, ServerState
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.server.process_exit import detach_exit_shutdown, end_process_at_exit_if_calls_remain
from gfs_runtime.server.shell import ServerShell
from gfs_runtime.server.signals import RestoreSignals, block_stop_signals_in_this_thread, install_signal_handlers
from gfs_runtime.server.wiring import (
    advertised_location,
    auth_failure_listener,
    bind_flight_service,
    build_authenticator,
    build_middleware,
    build_task_executor,
    check_tls_material,
    create_methods,
    warn_if_open_to_anyone,
)
from gfs_runtime.tasks.executor import TaskExecutor
from gfs_runtime.telemetry.event_logger import get_logger
from gfs_runtime.telemetry.logging import configure_logging
from gfs_runtime.telemetry.metrics import ServerMetrics

if TYPE_CHECKING:
    from dynaconf import Dynaconf
    from opentelemetry.sdk.trace.export import SpanExporter

# after the drain deadline, the least time still shared by cancelled tasks and the Flight shutdown
_MIN_GRACE_SEC: Final = 1.0
_STARTED_STATES: Final = frozenset({ServerState.READY, ServerState.DRAINING, *FINAL_STATES})


class FlightServer:
    """A Flight RPC server for a service's methods: `start`, `stop` (graceful), `abort`, and waits for both."""

    def __init__(
        self,
        settings: Dynaconf | LoadedSettings,  # LoadedSettings: ctx.settings builds its Dynaconf on first read
        config: ServerConfig,
        methods: FlightServerMethods | FlightServerMethodsFactory,
        *,
        span_exporter: SpanExporter | None = None,  # replaces the configured exporter (tests)
    ) -> None:
        check_tls_material(config)
        self._settings = settings
        self._config = config
        self._methods = methods
        self._logger = get_logger("gfs_runtime.server")
        self._lifecycle = Lifecycle()
        self._health = ServerHealthMonitor(trim_interval=config.malloc_trim_interval_sec)
        self._shell = ServerShell(config, self._health, span_exporter=span_exporter)
        self._task_executor = build_task_executor(config, self._shell)
        self._middleware = build_middleware(config, self._shell)
        self._location = advertised_location(config, bound_port=None)
        self._service: FlightService | None = None
        self._thread: threading.Thread | None = None
        self._flight_shutdown: threading.Thread | None = None
        self._guard = threading.Lock()
        self._stop_requested = threading.Event()
        self._abort_requested = False
        self._was_ready = False
        self._exit_guarded = False
        self._finishing = False
        self._restore_signals: RestoreSignals = lambda: False

    @property
    def location(self) -> pyarrow.flight.Location:
        """Where clients reach the server (with the bound port once started on port 0)."""
        return self._location

    @property
    def task_executor(self) -> TaskExecutor:
        """The executor running the service's tasks."""
        return self._task_executor

    @property
    def health(self) -> ServerHealthMonitor:
        """The server's health monitor."""
        return self._health

    @property
    def metrics(self) -> ServerMetrics | None:
        """The server's Prometheus metrics (add your own to it); None without `metrics_host`."""
        return self._shell.metrics

    @property
    def health_check_port(self) -> int | None:
        """The port serving /live and /ready (the bound one once started); None without `health_check_host`."""
        return self._shell.health_check_port

    @property
    def metrics_port(self) -> int | None:
        """The port serving /metrics (the bound one once started); None without `metrics_host`."""
        return self._shell.metrics_port

    @property
    def state(self) -> ServerState:
        """The server's lifecycle state."""
        return self._lifecycle.state

    @property
    def aborted(self) -> bool:
        """True once `abort` was asked for (a second signal, or directly): calls may have been cut."""
        return self._abort_requested

    def start(self, *, handle_signals: bool = True) -> None:
        """Start serving in the background; returns at once (see `wait_for_start`). Callable from any thread.

        With `handle_signals` and on the main thread, SIGINT/SIGTERM stop the server (a second one aborts).
        """
        with self._guard:
            if self._thread is not None:
                raise RuntimeError("the server was already started")
            self._thread = threading.Thread(target=self._run, name="gfs-server", daemon=True)
        if handle_signals:
            self._restore_signals = install_signal_handlers(self.stop, self.abort, self._is_finished)
        self._thread.start()

    def stop(self) -> None:
        """Begin a graceful stop and return: new calls are refused from now on; calls in flight drain.

        Then running tasks are cancelled and the Flight server shuts down (see `wait_for_stop`).
        """
        with self._guard:
            self._stop_requested.set()
            if self._thread is None:
                return
            self._middleware.reject_new_calls()
            draining = self._lifecycle.advance(ServerState.DRAINING)
        if draining:
            self._health.set_server_state(ServerState.DRAINING.value, accepting_traffic=False)
            self._logger.info("server_draining", in_flight=self._middleware.in_flight)

    def abort(self) -> None:
        """Stop at once: refuse calls, cut streams, cancel tasks, and leave the Flight shutdown to the background."""
        self._abort_requested = True
        self._stop_requested.set()
        self._middleware.reject_new_calls()
        self._middleware.cut_streams()
        if self._service is not None:
            self._abort_now()

    def wait_for_start(self, timeout: float | None = None) -> bool:
        """Wait until the server serves; False on timeout. Re-raises the error that made start-up fail."""
        if not self._lifecycle.wait_for(_STARTED_STATES, timeout):
            return False
        self._raise_if_failed()
        return self._was_ready

    def wait_for_stop(self, timeout: float | None = None) -> bool:
        """Wait until the server stopped; False on timeout. Re-raises the error that made start-up fail."""
        if self._thread is None:
            raise RuntimeError("the server was never started")
        stopped = self._lifecycle.wait_for(FINAL_STATES, timeout)
        if stopped:
            self._restore_signals()
        self._raise_if_failed()
        return stopped

    def _raise_if_failed(self) -> None:
        error = self._lifecycle.error
        if self._lifecycle.state is ServerState.FAILED and error is not None:
            self._restore_signals()
            raise error

    def _is_finished(self) -> bool:
        return self._lifecycle.state in FINAL_STATES

    def _run(self) -> None:
        block_stop_signals_in_this_thread()
        try:
            self._start_up()
        except BaseException as exc:  # start-up failures are reported through wait_for_start / wait_for_stop
            self._start_up_failed(exc)
            return
        self._stop_requested.wait()
        try:
            self._shut_down()
        except BaseException:  # the server must still end up stopped
            self._logger.error("server_shutdown_failed", exc_info=True)
            self._abort_now()

    def _start_up(self) -> None:
        self._logger.info("server_starting", config=self._config.without_secrets())
        self._shell.start()
        warn_if_open_to_anyone(self._config)
        self._task_executor.start()
        self._service = service = bind_flight_service(self._config, self._middleware)
        self._location = advertised_location(self._config, bound_port=service.port)
        metrics = self._shell.metrics
        ctx = ServerContext(self._settings, self._config, self._location, self._health, self._task_executor, metrics)
        self._middleware.authenticator = build_authenticator(ctx, auth_failure_listener(metrics))
        service.serve_methods(create_methods(self._methods, ctx, self._shell.tracing))
        with self._guard:
            # atomic with stop(): a server asked to stop during start-up never accepts a call
            if self._stop_requested.is_set():
                return
            self._middleware.accept_calls()
            # readiness and the log line come first: whoever `wait_for_start` wakes sees both
            self._health.set_server_state(ServerState.READY.value, accepting_traffic=True)
            self._logger.info("server_started", location=self._location.uri.decode())
            self._was_ready = self._lifecycle.advance(ServerState.READY)

    def _start_up_failed(self, exc: BaseException) -> None:
        self._logger.error("server_start_failed", exc_info=exc)
        self._middleware.reject_new_calls()
        self._health.set_server_state(ServerState.FAILED.value, accepting_traffic=False)
        try:
            self._task_executor.stop(cancel_running=True, timeout=_MIN_GRACE_SEC)
            if self._service is not None:
                # no call is in flight (all were refused), so this ends quickly
                self._begin_flight_shutdown().join(_MIN_GRACE_SEC)
            self._shell.stop()
        finally:
            self._lifecycle.fail(exc)

    def _shut_down(self) -> None:
        if self._is_finished():
            return
        deadline = time.monotonic() + self._config.shutdown_timeout_sec
        self.stop()
        if not self._middleware.wait_until_idle(self._config.shutdown_timeout_sec) and not self._abort_requested:
            self._logger.warning("server_drain_timed_out", in_flight=self._middleware.in_flight)
        self._middleware.cut_streams()
        # cancelled tasks and the Flight shutdown share what is left of the deadline, but at least a grace
        deadline = max(deadline, time.monotonic() + _MIN_GRACE_SEC)
        self._task_executor.stop(cancel_running=True, timeout=self._time_left(deadline))
        flight_shutdown = self._begin_flight_shutdown()
        flight_shutdown.join(self._time_left(deadline))
        if flight_shutdown.is_alive():
            if not self._abort_requested:
                self._logger.warning("server_flight_shutdown_timed_out", in_flight=self._middleware.in_flight)
            self._abort_now()
            return
        self._finish()

    def _time_left(self, deadline: float) -> float:
        return 0.0 if self._abort_requested else max(deadline - time.monotonic(), 0.0)

    def _begin_flight_shutdown(self) -> threading.Thread:
        """Shut the Flight server down on a background thread, once: pyarrow's shutdown blocks on calls."""
        with self._guard:
            if self._flight_shutdown is None:
                service = self._service
                assert service is not None, "the Flight service exists once start-up passed binding"
                self._flight_shutdown = threading.Thread(
                    target=service.shutdown, name="gfs-flight-shutdown", daemon=True
                )
                self._flight_shutdown.start()
            return self._flight_shutdown

    def _abort_now(self) -> None:
        self._task_executor.stop(cancel_running=True, timeout=0.0)
        self._begin_flight_shutdown()
        with self._guard:
            guard_exit, self._exit_guarded = not self._exit_guarded, True
        if guard_exit and self._service is not None:
            detach_exit_shutdown(self._service)
            end_process_at_exit_if_calls_remain(lambda: self._middleware.in_flight)
        self._finish(aborted=True)

    def _finish(self, *, aborted: bool = False) -> None:
        with self._guard:
            if self._is_finished() or self._finishing:
                return
            self._finishing = True
        # all done before the state changes (waiters on it may end the process); an abort exports no spans
        self._health.set_server_state(ServerState.STOPPED.value, accepting_traffic=False)
        if not aborted:  # the Flight server shut down: no call can still be running
            self._middleware.forget_threads()
        try:
            self._shell.stop(flush_spans=not aborted)
        finally:
            self._logger.info("server_stopped", aborted=aborted)
            self._lifecycle.advance(ServerState.STOPPED)


GoodDataFlightServer = FlightServer
"""The reference's name for FlightServer, for ported code."""


def create_server(
    methods: FlightServerMethods | FlightServerMethodsFactory,
    config_files: Sequence[str | os.PathLike[str]] = (),
    logging_config: str | None = None,
    dev_log: bool = False,
    overrides: Mapping[str, Any] | None = None,
) -> FlightServer:
    """Read the config, set up logging and (global) tracing, and return an unstarted FlightServer for `methods`."""
    settings, config = read_config(config_files, overrides)
    configure_logging(dev_log=dev_log, logging_config=logging_config, event_key=config.log_event_key_name)
    server = FlightServer(settings, config, methods)
    server._shell.tracing.install_global_provider()
    return server
