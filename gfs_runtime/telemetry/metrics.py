"""Prometheus metrics of one server: RPC calls, auth failures, tasks, malloc trim, and the user's own metrics.

Each `ServerMetrics` owns its own `CollectorRegistry`, so two servers in one process never clash and nothing
is registered in prometheus_client's process-global default registry.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final, get_args

import pyarrow.flight

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.tasks.executor import TaskOutcome
from gfs_runtime.telemetry.rpc_calls import RpcCallRecord

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary

# module note: prometheus_client is imported where it is used, not here: importing it builds its
# process-global default registry and reads /proc, and importing gfs_runtime must do neither

RPC_METHODS: Final = (
    "list_flights",
    "get_flight_info",
    "poll_flight_info",
    "get_schema",
    "do_get",
    "do_put",
    "do_exchange",
    "list_actions",
    "do_action",
    "handshake",
)
"""Values of the `method` label; any other method name is counted as ``other``."""

RPC_OUTCOMES: Final = (
    "ok",
    "client_error",
    "server_error",
    "unauthenticated",
    "unauthorized",
    "cancelled",
    "timeout",
    "unavailable",
    "shutting_down",
)
"""Values of the `outcome` label; any other outcome is counted as ``other``."""

AUTH_FAILURE_REASONS: Final = ("missing_token", "invalid_token", "unauthorized", "verifier_error")
"""Values of the `reason` label of auth failures; any other reason is counted as ``other``."""

OTHER_LABEL: Final = "other"
"""Label value standing for anything outside a closed label set."""

_KNOWN_METHODS: Final = frozenset(RPC_METHODS)
_KNOWN_OUTCOMES: Final = frozenset(RPC_OUTCOMES)

RPC_DURATION_BUCKETS: Final = (
    *(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5),
    *(1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, math.inf),
)
"""Histogram buckets (seconds) for RPCs: from sub-millisecond metadata calls to streams of minutes."""

TASK_DURATION_BUCKETS: Final = (
    *(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    *(10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, math.inf),
)
"""Histogram buckets (seconds) for task queue waits and task runs."""

_CLIENT_CODES = (
    ErrorCode.BAD_ARGUMENT,
    ErrorCode.BAD_REQUEST,
    ErrorCode.UNSUPPORTED_SERVICE,
    ErrorCode.INVALID_TICKET,
    ErrorCode.COMMAND_CANCEL_NOT_POSSIBLE,
    ErrorCode.COMMAND_RESULT_CONSUMED,
    ErrorCode.NOT_IMPLEMENTED,
)
_OUTCOME_BY_CODE: Final[dict[int, str]] = {
    **{code & 0xFFFF: "client_error" for code in _CLIENT_CODES},
    ErrorCode.COMMAND_FAILED & 0xFFFF: "server_error",
    ErrorCode.INTERNAL_ERROR & 0xFFFF: "server_error",
    ErrorCode.COMMAND_CANCELLED & 0xFFFF: "cancelled",
    ErrorCode.TIMEOUT & 0xFFFF: "timeout",
    ErrorCode.POLL & 0xFFFF: "timeout",
    ErrorCode.BACKPRESSURE & 0xFFFF: "unavailable",
    ErrorCode.NOT_READY & 0xFFFF: "unavailable",
    ErrorCode.SHUTTING_DOWN & 0xFFFF: "shutting_down",
}
_AUTH_OUTCOME_BY_TYPE: Final[tuple[tuple[type[pyarrow.flight.FlightError], str], ...]] = (
    (pyarrow.flight.FlightUnauthenticatedError, "unauthenticated"),
    (pyarrow.flight.FlightUnauthorizedError, "unauthorized"),
)
_OUTCOME_BY_TYPE: Final[tuple[tuple[type[pyarrow.flight.FlightError], str], ...]] = (
    (pyarrow.flight.FlightCancelledError, "cancelled"),
    (pyarrow.flight.FlightTimedOutError, "timeout"),
    (pyarrow.flight.FlightUnavailableError, "unavailable"),
)


def _outcome_by_type(exception: BaseException, table: tuple[tuple[type[BaseException], str], ...]) -> str | None:
    return next((outcome for kind, outcome in table if isinstance(exception, kind)), None)


def call_outcome(exception: BaseException | None) -> str:
    """The `outcome` label for a call that ended with `exception` (None: it succeeded).

    Auth errors go by their type; other Flight errors by their ErrorInfo code when it has a known meaning,
    else by their type; anything else is a server error.
    """
    if exception is None:
        return "ok"
    outcome = _outcome_by_type(exception, _AUTH_OUTCOME_BY_TYPE)
    if outcome is None and isinstance(exception, pyarrow.flight.FlightError):
        info = ErrorInfo.maybe_from_pyarrow_error(exception)
        outcome = None if info is None else _OUTCOME_BY_CODE.get(info.code & 0xFFFF)
        outcome = outcome or _outcome_by_type(exception, _OUTCOME_BY_TYPE)
    return outcome or "server_error"


class TaskMetrics:
    """TaskObserver that keeps the task executor's metrics: queue, running, waits, durations, outcomes, results."""

    def __init__(self, registry: CollectorRegistry) -> None:
        from prometheus_client import Counter, Gauge, Histogram  # noqa: PLC0415  # see the module note

        # queue length and stored results are kept as plain ints the events set (one store each) and read by
        # their gauges when scraped; a Gauge.set per event takes a lock and costs several times more
        self._queued_now = 0
        self._stored_now = 0
        queued = Gauge("gfs_task_queued", "Tasks waiting in the queue.", registry=registry)
        queued.set_function(lambda: self._queued_now)
        stored = Gauge("gfs_task_results_stored", "Task results held for clients to read.", registry=registry)
        stored.set_function(lambda: self._stored_now)
        self._running = Gauge("gfs_task_running", "Tasks running now.", registry=registry)
        self._wait = Histogram(
            "gfs_task_wait_seconds",
            "Time tasks waited in the queue before a worker took them.",
            buckets=TASK_DURATION_BUCKETS,
            registry=registry,
        )
        self._duration = Histogram(
            "gfs_task_duration_seconds",
            "Time task runs took, whatever their outcome.",
            buckets=TASK_DURATION_BUCKETS,
            registry=registry,
        )
        finished = Counter("gfs_task_finished", "Task runs that ended, by outcome.", ["outcome"], registry=registry)
        self._finished = {outcome: finished.labels(outcome) for outcome in get_args(TaskOutcome)}
        self._rejected = Counter("gfs_task_rejected", "Tasks refused because the queue was full.", registry=registry)
        self._dropped = Counter("gfs_task_dropped", "Queued tasks cancelled before they started.", registry=registry)

    def task_submitted(self, queued: int) -> None:
        """A task joined the queue."""
        self._queued_now = queued

    def task_rejected(self) -> None:
        """A task was refused for a full queue."""
        self._rejected.inc()

    def task_dropped(self, queued: int) -> None:
        """A queued task was cancelled before it started."""
        self._dropped.inc()
        self._queued_now = queued

    def task_started(self, wait_sec: float, queued: int) -> None:
        """A worker took a task off the queue."""
        self._queued_now = queued
        self._running.inc()
        self._wait.observe(wait_sec)

    def task_finished(self, duration_sec: float, outcome: TaskOutcome) -> None:
        """A task's run ended."""
        self._running.dec()
        self._duration.observe(duration_sec)
        self._finished[outcome].inc()

    def result_stored(self, stored: int) -> None:
        """A task result was stored."""
        self._stored_now = stored

    def result_removed(self, stored: int) -> None:
        """A task result left the store."""
        self._stored_now = stored


class ServerMetrics:
    """The metrics of one server, in a registry of its own that users may add their metrics to."""

    def __init__(self, *, process_metrics: bool = True) -> None:
        from prometheus_client import (  # noqa: PLC0415  # see the module note
            CollectorRegistry,
            Counter,
            Gauge,
            GCCollector,
            PlatformCollector,
            ProcessCollector,
            Summary,
        )

        self._registry = CollectorRegistry(auto_describe=True)
        if process_metrics:
            ProcessCollector(registry=self._registry)
            PlatformCollector(registry=self._registry)
            GCCollector(registry=self._registry)
        reg = self._registry
        self._calls = RpcCallRecord(RPC_DURATION_BUCKETS)
        reg.register(self._calls)
        self._in_flight = Gauge("gfs_rpc_in_flight", "Flight RPCs running now.", registry=reg)
        self._auth_failures = Counter("gfs_auth_failures", "Calls refused by auth.", ["reason"], registry=reg)
        self._trim = Summary("gfs_malloc_trim_duration_seconds", "Time malloc_trim calls took.", registry=reg)
        self._trim_errors = Counter("gfs_malloc_trim_errors", "malloc_trim calls that failed.", registry=reg)
        self._tasks = TaskMetrics(reg)

    @property
    def registry(self) -> CollectorRegistry:
        """The registry the metrics endpoint serves; register your own metrics here (or use `counter` & co)."""
        return self._registry

    @property
    def tasks(self) -> TaskMetrics:
        """The TaskObserver to give the task executor."""
        return self._tasks

    def observe_call(self, method: str, outcome: str, duration_sec: float) -> None:
        """Count one ended RPC and its duration; called by the per-call middleware at call end."""
        self._calls.record(
            method if method in _KNOWN_METHODS else OTHER_LABEL,
            outcome if outcome in _KNOWN_OUTCOMES else OTHER_LABEL,
            duration_sec,
        )

    def track_in_flight(self, count: Callable[[], float]) -> None:
        """Make `gfs_rpc_in_flight` read `count()` at scrape time, so tracking it costs nothing per call."""
        self._in_flight.set_function(count)

    def auth_failed(self, reason: str) -> None:
        """Count a call refused by auth; `reason` is one of AUTH_FAILURE_REASONS."""
        self._auth_failures.labels(reason if reason in AUTH_FAILURE_REASONS else OTHER_LABEL).inc()

    def malloc_trimmed(self, duration_sec: float) -> None:
        """Record a malloc_trim call that took `duration_sec`."""
        self._trim.observe(duration_sec)

    def malloc_trim_failed(self) -> None:
        """Count a malloc_trim call that failed."""
        self._trim_errors.inc()

    def counter(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Counter:
        """Register a user counter in this server's registry; ValueError if the name is taken."""
        from prometheus_client import Counter  # noqa: PLC0415  # see the module note

        return Counter(name, documentation, labelnames, registry=self._registry)

    def gauge(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Gauge:
        """Register a user gauge in this server's registry; ValueError if the name is taken."""
        from prometheus_client import Gauge  # noqa: PLC0415  # see the module note

        return Gauge(name, documentation, labelnames, registry=self._registry)

    def histogram(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = RPC_DURATION_BUCKETS,
    ) -> Histogram:
        """Register a user histogram in this server's registry; ValueError if the name is taken."""
        from prometheus_client import Histogram  # noqa: PLC0415  # see the module note

        return Histogram(name, documentation, labelnames, buckets=buckets, registry=self._registry)

    def summary(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> Summary:
        """Register a user summary in this server's registry; ValueError if the name is taken."""
        from prometheus_client import Summary  # noqa: PLC0415  # see the module note

        return Summary(name, documentation, labelnames, registry=self._registry)
