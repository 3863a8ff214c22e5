"""DoPut: complete uploads read cleanly; a client that vanishes mid-upload reaches the method as an error."""

from __future__ import annotations

import subprocess
import sys
import threading

import pyarrow
import pyarrow.flight
import pytest

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.testing import error_info_of
from tests.server.support import ClientFor, StartServer

WAIT_SEC = 20.0

# Uploads one batch, says so, then waits for stdin to close (it never finishes the upload on its own).
UPLOADER = """
import sys
import pyarrow, pyarrow.flight
client = pyarrow.flight.FlightClient(sys.argv[1])
table = pyarrow.table({"n": list(range(100))})
writer, _ = client.do_put(pyarrow.flight.FlightDescriptor.for_command(b"upload"), table.schema)
writer.write_table(table)
print("sent", flush=True)
sys.stdin.read()
"""


class RecordingUpload(FlightServerMethods):
    """Reads uploads chunk by chunk and records how the upload ended."""

    def __init__(self) -> None:
        self.first_chunk = threading.Event()
        self.ended = threading.Event()
        self.rows = 0
        self.error: BaseException | None = None

    def do_put(
        self,
        context: pyarrow.flight.ServerCallContext,
        descriptor: pyarrow.flight.FlightDescriptor,
        reader: pyarrow.flight.MetadataRecordBatchReader,
        writer: pyarrow.flight.FlightMetadataWriter,
    ) -> None:
        try:
            for chunk in reader:
                self.rows += chunk.data.num_rows
                self.first_chunk.set()
        except BaseException as e:
            self.error = e
            raise
        finally:
            self.ended.set()


class ReadAllUpload(FlightServerMethods):
    """Reads uploads with read_all and answers the row count."""

    def do_put(
        self,
        context: pyarrow.flight.ServerCallContext,
        descriptor: pyarrow.flight.FlightDescriptor,
        reader: pyarrow.flight.MetadataRecordBatchReader,
        writer: pyarrow.flight.FlightMetadataWriter,
    ) -> None:
        writer.write(str(reader.read_all().num_rows).encode())


def test_complete_upload_reaches_the_method_as_a_clean_end(start_server: StartServer, client_for: ClientFor) -> None:
    methods = RecordingUpload()
    client = client_for(start_server(methods))
    table = pyarrow.table({"n": list(range(10))})
    writer, _ = client.do_put(pyarrow.flight.FlightDescriptor.for_command(b"upload"), table.schema)
    writer.write_table(table)
    writer.close()
    assert methods.ended.wait(WAIT_SEC)
    assert (methods.rows, methods.error) == (10, None)


def test_upload_read_with_read_all_gets_all_rows(start_server: StartServer, client_for: ClientFor) -> None:
    client = client_for(start_server(ReadAllUpload()))
    table = pyarrow.table({"n": list(range(7))})
    writer, answers = client.do_put(pyarrow.flight.FlightDescriptor.for_command(b"upload"), table.schema)
    writer.write_table(table)
    writer.done_writing()
    answer = answers.read()
    writer.close()
    assert answer is not None
    assert answer.to_pybytes() == b"7"


@pytest.mark.timeout(60)
def test_client_vanishing_mid_upload_reaches_the_method_as_an_error(start_server: StartServer) -> None:
    methods = RecordingUpload()
    server = start_server(methods)
    uploader = subprocess.Popen(
        [sys.executable, "-c", UPLOADER, server.location.uri.decode()],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert uploader.stdout is not None
        assert uploader.stdout.readline() == b"sent\n"
        assert methods.first_chunk.wait(WAIT_SEC)
        uploader.kill()
        uploader.wait(WAIT_SEC)
        assert methods.ended.wait(WAIT_SEC)
    finally:
        uploader.kill()
        uploader.communicate(timeout=WAIT_SEC)
    assert isinstance(methods.error, pyarrow.flight.FlightCancelledError)
    assert error_info_of(methods.error).code == ErrorCode.COMMAND_CANCELLED
    assert methods.rows == 100
