"""Per-call metrics fed from a real Flight server's middleware, scraped over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pyarrow.flight
import pytest

from tests.telemetry.conftest import ActionService, Samples, run_action, value

pytestmark = pytest.mark.timeout(20)

Flight = tuple[ActionService, pyarrow.flight.FlightClient]


def test_real_calls_are_counted_by_method_and_outcome(flight: Flight, scraped: Callable[[], Samples]) -> None:
    _, client = flight
    run_action(client, "ok")
    run_action(client, "ok")
    run_action(client, "bad")
    run_action(client, "broken")
    assert len(client.list_actions()) == 1

    samples = scraped()

    assert value(samples, "gfs_rpc_calls_total", method="do_action", outcome="ok") == 2
    assert value(samples, "gfs_rpc_calls_total", method="do_action", outcome="client_error") == 1
    assert value(samples, "gfs_rpc_calls_total", method="do_action", outcome="server_error") == 1
    assert value(samples, "gfs_rpc_calls_total", method="list_actions", outcome="ok") == 1
    assert value(samples, "gfs_rpc_duration_seconds_count", method="do_action") == 4
    assert value(samples, "gfs_rpc_duration_seconds_count", method="list_actions") == 1


def test_in_flight_gauge_counts_a_call_until_it_ends(flight: Flight, scraped: Callable[[], Samples]) -> None:
    service, client = flight
    caller = threading.Thread(target=run_action, args=(client, "block"))
    caller.start()
    try:
        assert service.blocked.wait(10)
        during = scraped()
    finally:
        service.release.set()
        caller.join(10)
    after = scraped()

    assert value(during, "gfs_rpc_in_flight") == 1
    assert value(during, "gfs_rpc_calls_total", method="do_action", outcome="ok") is None
    assert value(after, "gfs_rpc_in_flight") == 0
    assert value(after, "gfs_rpc_calls_total", method="do_action", outcome="ok") == 1
