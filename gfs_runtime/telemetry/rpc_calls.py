"""Ended RPCs by method and outcome, and their durations: recorded per call with one lock, exposed when scraped.

A prometheus_client Counter and Histogram cost about 1 µs per call together (a lock per value, a Python loop
over the buckets). Every Flight call pays for this record, so it keeps plain counts under one lock and builds
the two metric families, `gfs_rpc_calls` and `gfs_rpc_duration_seconds`, only when the registry collects.
"""

from __future__ import annotations

import bisect
import itertools
import math
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

CALLS_METRIC = "gfs_rpc_calls"
CALLS_HELP = "Flight RPCs that ended."
DURATION_METRIC = "gfs_rpc_duration_seconds"
DURATION_HELP = "Time Flight RPCs took from start to end."


class _MethodRecord:
    """One method's counts: calls per outcome, and durations per histogram bucket (not cumulative) and summed."""

    __slots__ = ("bucket_counts", "duration_sum", "outcomes")

    def __init__(self, buckets: int) -> None:
        self.bucket_counts = [0] * buckets
        self.duration_sum = 0.0
        self.outcomes: dict[str, int] = {}


class RpcCallRecord:
    """The per-RPC counts of one server; register it in a CollectorRegistry as a collector.

    Labels are taken as given: callers keep them to closed sets, so the number of series stays bounded.
    """

    def __init__(self, buckets: Sequence[float]) -> None:
        from prometheus_client.utils import floatToGoString  # noqa: PLC0415  # prometheus_client loads with metrics

        bounds = sorted(buckets)
        if not bounds or bounds[-1] != math.inf:
            bounds.append(math.inf)
        self._finite_bounds = tuple(bounds[:-1])
        bucket_label = cast(Callable[[float], str], floatToGoString)  # the exposition's "le" format; untyped
        self._bucket_labels = tuple(bucket_label(bound) for bound in bounds)
        self._lock = threading.Lock()
        self._methods: dict[str, _MethodRecord] = {}

    def record(self, method: str, outcome: str, duration_sec: float) -> None:
        """Count one ended call of `method` with `outcome` that took `duration_sec`."""
        # a duration equal to a bound belongs to that bound's bucket (Prometheus buckets are "less or equal")
        bucket = bisect.bisect_left(self._finite_bounds, duration_sec)
        with self._lock:
            entry = self._methods.get(method)
            if entry is None:
                entry = self._methods[method] = _MethodRecord(len(self._bucket_labels))
            entry.bucket_counts[bucket] += 1
            entry.duration_sum += duration_sec
            outcomes = entry.outcomes
            outcomes[outcome] = outcomes.get(outcome, 0) + 1

    def describe(self) -> Iterator[Metric]:
        """The two metric families without samples, so a registry can check their names at registration."""
        yield from self._families(())

    def collect(self) -> Iterator[Metric]:
        """The two metric families with every method's current counts."""
        with self._lock:
            snapshot = [
                (method, list(entry.bucket_counts), entry.duration_sum, dict(entry.outcomes))
                for method, entry in self._methods.items()
            ]
        yield from self._families(snapshot)

    def _families(self, snapshot: Sequence[tuple[str, list[int], float, dict[str, int]]]) -> Iterator[Metric]:
        from prometheus_client.metrics_core import (  # noqa: PLC0415  # see the constructor
            CounterMetricFamily,
            HistogramMetricFamily,
        )

        calls = CounterMetricFamily(CALLS_METRIC, CALLS_HELP, labels=("method", "outcome"))
        durations = HistogramMetricFamily(DURATION_METRIC, DURATION_HELP, labels=("method",))
        for method, bucket_counts, duration_sum, outcomes in snapshot:
            for outcome, count in outcomes.items():
                calls.add_metric((method, outcome), count)
            cumulative = itertools.accumulate(bucket_counts)
            buckets = [(label, float(count)) for label, count in zip(self._bucket_labels, cumulative, strict=True)]
            durations.add_metric((method,), buckets, duration_sum)
        yield calls
        yield durations
