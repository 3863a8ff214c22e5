"""FlightDataTaskResult: re-readable tables, single-use readers, leases and closing exactly once."""

from __future__ import annotations

import threading
from typing import cast

import pyarrow
import pyarrow.flight
import pytest

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.tasks import FlightDataTaskResult, ListFlightsTaskResult
from tests.tasks.doubles import CloseCounter, small_table


def _reader(table: pyarrow.Table) -> pyarrow.RecordBatchReader:
    return pyarrow.RecordBatchReader.from_batches(table.schema, table.to_batches())


def _assert_consumed(result: FlightDataTaskResult) -> None:
    with pytest.raises(pyarrow.flight.FlightServerError) as caught:
        result.acquire_data()
    assert ErrorInfo.from_pyarrow_error(caught.value).code == ErrorCode.COMMAND_RESULT_CONSUMED


def test_table_result_is_rereadable() -> None:
    table = small_table(7)
    result = FlightDataTaskResult.for_table(table)
    assert result.single_use_data is False
    for _ in range(3):
        lease, data = result.acquire_data()
        assert isinstance(data, pyarrow.Table)
        assert data.equals(table)
        lease.release()


def test_reader_result_second_read_gets_command_result_consumed() -> None:
    table = small_table(3)
    result = FlightDataTaskResult.for_reader(_reader(table))
    assert result.single_use_data is True
    lease, data = result.acquire_data()
    assert isinstance(data, pyarrow.RecordBatchReader)
    assert data.read_all().equals(table)
    _assert_consumed(result)
    lease.release()
    _assert_consumed(result)


def test_closed_table_result_gets_command_result_consumed() -> None:
    counter = CloseCounter()
    result = FlightDataTaskResult.for_table(small_table(), on_close=counter)
    result.close()
    assert counter.calls == 1
    _assert_consumed(result)


def test_schema_survives_close() -> None:
    result = FlightDataTaskResult.for_reader(_reader(small_table()))
    result.close()
    assert result.get_schema() == small_table().schema


def test_concurrent_closes_call_on_close_exactly_once() -> None:
    counter = CloseCounter()
    result = FlightDataTaskResult.for_table(small_table(), on_close=counter)
    barrier = threading.Barrier(8)

    def close() -> None:
        barrier.wait(timeout=5)
        result.close()

    threads = [threading.Thread(target=close) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert counter.calls == 1


@pytest.mark.timeout(10)
def test_close_waits_for_active_reader_to_release() -> None:
    counter = CloseCounter()
    result = FlightDataTaskResult.for_table(small_table(), on_close=counter)
    lease, _ = result.acquire_data()
    closer = threading.Thread(target=result.close)
    closer.start()
    # new readers are refused at once, while the close still waits for the lease
    _assert_consumed_eventually(result)
    assert counter.calls == 0
    assert closer.is_alive()
    lease.release()
    closer.join(timeout=5)
    assert counter.calls == 1


def _assert_consumed_eventually(result: FlightDataTaskResult) -> None:
    deadline_checks = 1000
    for _ in range(deadline_checks):
        try:
            lease, _ = result.acquire_data()
        except pyarrow.flight.FlightServerError:
            return
        lease.release()
        threading.Event().wait(0.002)
    pytest.fail("result kept accepting readers while closing")


def test_releasing_a_lease_twice_counts_once() -> None:
    counter = CloseCounter()
    result = FlightDataTaskResult.for_table(small_table(), on_close=counter)
    first, _ = result.acquire_data()
    second, _ = result.acquire_data()
    first.release()
    first.release()
    closer = threading.Thread(target=result.close)
    closer.start()
    closer.join(timeout=0.1)
    assert closer.is_alive()
    second.release()
    closer.join(timeout=5)
    assert counter.calls == 1


class _FakeReader:
    """Stands in for a RecordBatchReader (whose close pyarrow may make a no-op) to count closes."""

    def __init__(self) -> None:
        self.schema = small_table().schema
        self.closes = 0

    def close(self) -> None:
        self.closes += 1


def test_reader_result_closes_its_reader_and_calls_on_close_once() -> None:
    counter = CloseCounter()
    reader = _FakeReader()
    result = FlightDataTaskResult.for_reader(cast(pyarrow.RecordBatchReader, reader), on_close=counter)
    result.close()
    result.close()
    assert (reader.closes, counter.calls) == (1, 1)


def test_failing_on_close_does_not_escape_close() -> None:
    def on_close() -> None:
        raise RuntimeError("cleanup failed")

    FlightDataTaskResult.for_table(small_table(), on_close=on_close).close()


def test_for_data_picks_reusable_or_single_use() -> None:
    table = small_table()
    assert FlightDataTaskResult.for_data(table).single_use_data is False
    assert FlightDataTaskResult.for_data(table.to_batches()[0]).single_use_data is False
    assert FlightDataTaskResult.for_data(_reader(table)).single_use_data is True
    with pytest.raises(ValueError, match="list"):
        FlightDataTaskResult.for_data([table])  # type: ignore[arg-type]


def test_list_flights_result_yields_its_infos() -> None:
    descriptor = pyarrow.flight.FlightDescriptor.for_command(b"x")
    info = pyarrow.flight.FlightInfo(small_table().schema, descriptor, [], -1, -1)
    assert list(ListFlightsTaskResult((info, info)).as_generator()) == [info, info]
