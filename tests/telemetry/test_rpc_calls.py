"""RpcCallRecord: the exposition equals prometheus_client's own Counter and Histogram fed the same calls."""

from __future__ import annotations

import random
import threading

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from gfs_runtime.telemetry.metrics import RPC_DURATION_BUCKETS
from gfs_runtime.telemetry.rpc_calls import CALLS_HELP, CALLS_METRIC, DURATION_HELP, DURATION_METRIC, RpcCallRecord

pytestmark = pytest.mark.timeout(20)


def _samples(registry: CollectorRegistry) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample but the `_created` timestamps (prometheus_client's own metrics add those)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in registry.collect()
        for sample in family.samples
        if not sample.name.endswith("_created")
    }


def _twins() -> tuple[RpcCallRecord, CollectorRegistry, Counter, Histogram, CollectorRegistry]:
    record = RpcCallRecord(RPC_DURATION_BUCKETS)
    ours = CollectorRegistry()
    ours.register(record)
    theirs = CollectorRegistry()
    calls = Counter(CALLS_METRIC, CALLS_HELP, ["method", "outcome"], registry=theirs)
    durations = Histogram(DURATION_METRIC, DURATION_HELP, ["method"], buckets=RPC_DURATION_BUCKETS, registry=theirs)
    return record, ours, calls, durations, theirs


def test_the_samples_equal_prometheus_clients_for_the_same_calls() -> None:
    record, ours, calls, durations, theirs = _twins()
    rng = random.Random(7)  # noqa: S311  # reproducible test durations, not secrets
    # every bound exactly (a duration equal to a bound is counted in that bucket), then random ones
    durations_sec = [*RPC_DURATION_BUCKETS[:-1], 0.0, 1e9, *(rng.expovariate(20.0) for _ in range(500))]
    for n, duration in enumerate(durations_sec):
        method = ("do_get", "get_flight_info", "do_action")[n % 3]
        outcome = ("ok", "ok", "client_error", "server_error")[n % 4]
        record.record(method, outcome, duration)
        calls.labels(method, outcome).inc()
        durations.labels(method).observe(duration)

    assert _samples(ours) == pytest.approx(_samples(theirs))
    assert len(_samples(ours)) == 3 * 4 + 3 * (len(RPC_DURATION_BUCKETS) + 2) - 3  # each method has 3 of 4 outcomes


def test_the_text_exposition_names_and_types_match_prometheus_clients() -> None:
    record, ours, calls, durations, theirs = _twins()
    record.record("do_get", "ok", 0.25)
    calls.labels("do_get", "ok").inc()
    durations.labels("do_get").observe(0.25)

    def lines(registry: CollectorRegistry) -> set[str]:
        return {line for line in generate_latest(registry).decode().splitlines() if "_created" not in line}

    assert lines(ours) == lines(theirs)


def test_concurrent_records_are_all_counted() -> None:
    record = RpcCallRecord(RPC_DURATION_BUCKETS)
    registry = CollectorRegistry()
    registry.register(record)
    start = threading.Barrier(8)

    def hammer() -> None:
        start.wait(timeout=5)
        for _ in range(2000):
            record.record("do_get", "ok", 0.001)

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert registry.get_sample_value("gfs_rpc_calls_total", {"method": "do_get", "outcome": "ok"}) == 16000
    assert registry.get_sample_value("gfs_rpc_duration_seconds_count", {"method": "do_get"}) == 16000
    assert registry.get_sample_value("gfs_rpc_duration_seconds_sum", {"method": "do_get"}) == pytest.approx(16.0)


def test_a_registry_refuses_a_second_metric_with_the_same_name() -> None:
    registry = CollectorRegistry()
    registry.register(RpcCallRecord(RPC_DURATION_BUCKETS))

    with pytest.raises(ValueError, match="gfs_rpc_calls"):
        Counter(CALLS_METRIC, "again", registry=registry)


def test_buckets_without_infinity_get_it() -> None:
    record = RpcCallRecord((0.1, 1.0))
    registry = CollectorRegistry()
    registry.register(record)
    record.record("do_get", "ok", 5.0)

    assert registry.get_sample_value("gfs_rpc_duration_seconds_bucket", {"method": "do_get", "le": "1.0"}) == 0
    assert registry.get_sample_value("gfs_rpc_duration_seconds_bucket", {"method": "do_get", "le": "+Inf"}) == 1
