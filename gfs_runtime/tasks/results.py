"""What a task produces: Arrow data to stream out, listed flights, and the execution outcome."""

from __future__ import annotations

import abc
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeAlias, final

import pyarrow
import pyarrow.flight

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.errors.info import ErrorInfo
from gfs_runtime.tasks.task_error import TaskError
from gfs_runtime.telemetry.event_logger import get_logger

ArrowData: TypeAlias = pyarrow.Table | pyarrow.RecordBatch | pyarrow.RecordBatchReader
OnCloseCallback: TypeAlias = Callable[[], None]


class DataLease:
    """A reader's hold on a result's data; the result cannot close until every lease is released."""

    __slots__ = ("_owner", "_released")

    def __init__(self, owner: FlightDataTaskResult) -> None:
        self._owner = owner
        self._released = False

    def release(self) -> None:
        """Give the hold back; calling it again does nothing."""
        self._owner._release_lease(self)

    def __enter__(self) -> DataLease:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


class FlightDataTaskResult(abc.ABC):
    """Arrow data made by a task, read by DoGet once (single-use) or many times, then closed once."""

    def __init__(self, single_use_data: bool = False) -> None:
        self._single_use_data = single_use_data
        self._state_lock = threading.Lock()
        # made by a close that must wait for readers (rare): building a Condition per result costs more
        self._readers_gone: threading.Condition | None = None
        self._readers = 0
        self._claimed = False
        self._closing = False

    @property
    def single_use_data(self) -> bool:
        """True when only the first `acquire_data` call may read the data."""
        return self._single_use_data

    @abc.abstractmethod
    def get_schema(self) -> pyarrow.Schema:
        """Schema of the data."""

    @abc.abstractmethod
    def _get_data(self) -> Iterable[ArrowData] | ArrowData:
        """The data: a Table, RecordBatch, RecordBatchReader or an iterable of them."""

    @abc.abstractmethod
    def _close(self) -> None:
        """Free whatever the data holds; called exactly once, after every reader released its lease."""

    @final
    def acquire_data(self) -> tuple[DataLease, Iterable[ArrowData] | ArrowData]:
        """Lease and return the data; COMMAND_RESULT_CONSUMED when already consumed or closed."""
        with self._state_lock:
            if self._closing or (self._single_use_data and self._claimed):
                raise ErrorInfo.for_reason(
                    ErrorCode.COMMAND_RESULT_CONSUMED, "The result's data was already consumed or closed."
                ).to_server_error()
            self._claimed = True
            self._readers += 1
        lease = DataLease(self)
        try:
            return lease, self._get_data()
        except BaseException:
            lease.release()
            raise

    def _release_lease(self, lease: DataLease) -> None:
        with self._state_lock:
            if lease._released:
                return
            lease._released = True
            self._readers -= 1
            if self._readers == 0 and self._readers_gone is not None:
                self._readers_gone.notify_all()

    @final
    def close(self) -> None:
        """Refuse new readers, wait for current readers to release, then free the data exactly once."""
        with self._state_lock:
            if self._closing:
                return
            self._closing = True
            if self._readers:
                self._readers_gone = threading.Condition(self._state_lock)
                self._readers_gone.wait_for(lambda: self._readers == 0)
        # outside the lock: _close may call back into code that closes this result again
        self._close()

    @staticmethod
    def for_table(table: pyarrow.Table, on_close: OnCloseCallback | None = None) -> FlightDataTaskResult:
        """Result over a Table; it can be read any number of times until it is closed."""
        return _TableTaskResult(table, on_close)

    @staticmethod
    def for_reader(reader: pyarrow.RecordBatchReader, on_close: OnCloseCallback | None = None) -> FlightDataTaskResult:
        """Result over a RecordBatchReader; it can be read once."""
        return _ReaderTaskResult(reader, on_close)

    @staticmethod
    def for_data(data: ArrowData, on_close: OnCloseCallback | None = None) -> FlightDataTaskResult:
        """Result over a Table or RecordBatch (re-readable) or a RecordBatchReader (single-use)."""
        if isinstance(data, pyarrow.Table):
            return _TableTaskResult(data, on_close)
        if isinstance(data, pyarrow.RecordBatch):
            return _TableTaskResult(pyarrow.Table.from_batches([data]), on_close)
        if isinstance(data, pyarrow.RecordBatchReader):
            return _ReaderTaskResult(data, on_close)
        raise ValueError(
            f"cannot make a result from {type(data).__name__}: expected a Table, RecordBatch or RecordBatchReader"
        )


def _call_on_close(on_close: OnCloseCallback | None) -> None:
    if on_close is None:
        return
    try:
        on_close()
    except Exception:
        get_logger("gfs_runtime.tasks").warning("result_on_close_failed", exc_info=True)


class _TableTaskResult(FlightDataTaskResult):
    def __init__(self, table: pyarrow.Table, on_close: OnCloseCallback | None) -> None:
        super().__init__(single_use_data=False)
        self._schema = table.schema
        self._table: pyarrow.Table | None = table
        self._on_close = on_close

    def get_schema(self) -> pyarrow.Schema:
        return self._schema

    def _get_data(self) -> ArrowData:
        if self._table is None:
            raise RuntimeError("result data read after close")
        return self._table

    def _close(self) -> None:
        self._table = None
        _call_on_close(self._on_close)


class _ReaderTaskResult(FlightDataTaskResult):
    def __init__(self, reader: pyarrow.RecordBatchReader, on_close: OnCloseCallback | None) -> None:
        super().__init__(single_use_data=True)
        self._schema = reader.schema
        self._reader: pyarrow.RecordBatchReader | None = reader
        self._on_close = on_close

    def get_schema(self) -> pyarrow.Schema:
        return self._schema

    def _get_data(self) -> ArrowData:
        if self._reader is None:
            raise RuntimeError("result data read after close")
        return self._reader

    def _close(self) -> None:
        reader, self._reader = self._reader, None
        try:
            if reader is not None:
                reader.close()
        except Exception:
            get_logger("gfs_runtime.tasks").warning("result_reader_close_failed", exc_info=True)
        _call_on_close(self._on_close)


@dataclass(frozen=True)
class ListFlightsTaskResult:
    """Flights listed by a task, fully materialized."""

    flight_infos: tuple[pyarrow.flight.FlightInfo, ...]

    def as_generator(self) -> Iterator[pyarrow.flight.FlightInfo]:
        """Yield the flight infos, as ListFlights expects."""
        yield from self.flight_infos


TaskResult: TypeAlias = FlightDataTaskResult | ListFlightsTaskResult


@dataclass(frozen=True, slots=True)
class TaskExecutionResult:
    """How a task ended: its result on success, its error on failure, or cancelled."""

    task_id: str
    cmd: bytes
    result: TaskResult | None
    cancelled: bool
    error: TaskError | None
