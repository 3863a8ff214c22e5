"""Every RPC the service implements, called through a real FlightClient."""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from typing import Any

import pyarrow
import pyarrow.csv
import pyarrow.flight
import pytest
from gfs_runtime import ErrorCode
from gfs_runtime.testing import error_info_of

from {{ cookiecutter.package_name }}.settings import SECTION

PACKAGE = "{{ cookiecutter.package_name }}"
StartService = Callable[[dict[str, Any]], pyarrow.flight.FlightClient]


def shipped_dataset(name: str) -> pyarrow.Table:
    """A sample dataset read straight from the package, to compare what the service returns against."""
    with resources.files(PACKAGE).joinpath("data", f"{name}.csv").open("rb") as handle:
        return pyarrow.csv.read_csv(handle)


def test_list_flights_lists_every_shipped_dataset(client: pyarrow.flight.FlightClient) -> None:
    flights = {}
    for info in client.list_flights():
        assert info.descriptor.path is not None
        flights[info.descriptor.path[0].decode()] = info

    assert sorted(flights) == ["cities", "daily_orders"]
    assert flights["cities"].total_records == shipped_dataset("cities").num_rows
    assert flights["cities"].schema == shipped_dataset("cities").schema


def test_get_flight_info_returns_one_endpoint_with_a_ticket(client: pyarrow.flight.FlightClient) -> None:
    info = client.get_flight_info(pyarrow.flight.FlightDescriptor.for_path("cities"))

    assert len(info.endpoints) == 1
    assert info.endpoints[0].ticket.ticket
    assert info.schema == shipped_dataset("cities").schema


def test_do_get_streams_the_dataset_rows(client: pyarrow.flight.FlightClient) -> None:
    info = client.get_flight_info(pyarrow.flight.FlightDescriptor.for_path("daily_orders"))

    table = client.do_get(info.endpoints[0].ticket).read_all()

    assert table.equals(shipped_dataset("daily_orders"))


def test_unknown_dataset_is_a_bad_argument(client: pyarrow.flight.FlightClient) -> None:
    with pytest.raises(pyarrow.flight.FlightError) as caught:
        client.get_flight_info(pyarrow.flight.FlightDescriptor.for_path("no-such-dataset"))

    info = error_info_of(caught.value)
    assert info.code == ErrorCode.BAD_ARGUMENT
    assert "cities" in info.msg


def test_unknown_ticket_is_an_invalid_ticket(client: pyarrow.flight.FlightClient) -> None:
    with pytest.raises(pyarrow.flight.FlightError) as caught:
        client.do_get(pyarrow.flight.Ticket(b"not-a-task")).read_all()

    assert error_info_of(caught.value).code == ErrorCode.INVALID_TICKET


def test_row_limit_setting_caps_the_rows(start_service: StartService) -> None:
    row_limit = 3
    client = start_service({SECTION: {"row_limit": row_limit}})
    info = client.get_flight_info(pyarrow.flight.FlightDescriptor.for_path("cities"))

    table = client.do_get(info.endpoints[0].ticket).read_all()

    assert table.num_rows == row_limit
