"""The single per-call middleware: call info, finalizers, caller identity and in-flight counting."""

from __future__ import annotations

import concurrent.futures
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow
import pyarrow.flight
import pytest

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.server.call_admission import CallMiddlewareFactory
from gfs_runtime.server.methods import FlightServerMethods
from gfs_runtime.server.middleware import (
    CallFinalizer,
    CallInfo,
    CallMiddleware,
    TokenAuthMiddleware,
)
from gfs_runtime.server.observing import ObservedCallMiddlewareFactory
from gfs_runtime.telemetry.log_capture import capture_log_events
from gfs_runtime.testing import error_info_of
from tests.server.support import ClientFor, EndRecorder, StartServer

WAIT_SEC = 10.0


class InspectingMethods(FlightServerMethods):
    """Records the per-call objects and what the finalizers saw."""

    def __init__(self) -> None:
        self.seen: list[Any] = []
        self.ended = EndRecorder()

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        info = self.call_info_middleware(context)
        finalizer = self.call_finalizer_middleware(context)
        self.seen.append((info, finalizer, info.info.method, dict(info.headers)))
        finalizer.register_on_end(self.ended)
        return pyarrow.flight.RecordBatchStream(pyarrow.table({"n": [1]}))

    def do_action(self, context: pyarrow.flight.ServerCallContext, action: pyarrow.flight.Action) -> Iterator[bytes]:
        token = self.call_info_middleware(context)
        assert isinstance(token, TokenAuthMiddleware)
        yield repr(token.token_data).encode()


def test_call_info_and_finalizer_are_one_object_with_the_call_details(
    start_server: StartServer, client_for: ClientFor
) -> None:
    methods = InspectingMethods()
    client = client_for(start_server(methods))
    options = pyarrow.flight.FlightCallOptions(headers=[(b"x-request-tag", b"abc")])
    client.do_get(pyarrow.flight.Ticket(b"t"), options).read_all()
    ((info, finalizer, method, headers),) = methods.seen
    assert info is finalizer
    assert isinstance(info, CallInfo | CallFinalizer | TokenAuthMiddleware)
    assert method == pyarrow.flight.FlightMethod.DO_GET
    assert headers["x-request-tag"] == ["abc"]


def test_finalizer_runs_when_the_stream_ends(start_server: StartServer, client_for: ClientFor) -> None:
    methods = InspectingMethods()
    client = client_for(start_server(methods))
    client.do_get(pyarrow.flight.Ticket(b"t")).read_all()
    assert methods.ended.called.wait(WAIT_SEC)
    assert methods.ended.errors == [None]


def test_every_finalizer_runs_even_when_one_raises() -> None:
    finalizer = CallFinalizer()
    ran: list[str] = []

    def failing(_: pyarrow.ArrowException | None) -> None:
        ran.append("failing")
        raise RuntimeError("finalizer broke")

    finalizer.register_on_end(lambda _: ran.append("first"))
    finalizer.register_on_end(failing)
    finalizer.register_on_end(lambda _: ran.append("last"))
    with capture_log_events() as logs:
        finalizer.call_completed(None)
    assert ran == ["first", "failing", "last"]
    assert [entry["event"] for entry in logs] == ["call_finalizer_failed"]


def test_finalizers_run_only_once() -> None:
    finalizer = CallFinalizer()
    ran: list[object] = []
    finalizer.register_on_end(ran.append)
    finalizer.call_completed(None)
    finalizer.call_completed(None)
    assert ran == [None]


def _attaching_factory(authenticator: Any = None) -> CallMiddlewareFactory:
    """The observing factory with nothing to observe: it hands pyarrow the call objects of DoGet and DoAction."""
    factory = ObservedCallMiddlewareFactory(metrics=None, tracing=None)
    factory.authenticator = authenticator
    return factory


def _start_call(factory: CallMiddlewareFactory) -> CallMiddleware:
    call = factory.start_call(pyarrow.flight.CallInfo(pyarrow.flight.FlightMethod.DO_GET), {})
    assert call is not None
    return call


def test_plain_factory_hands_pyarrow_no_call_object() -> None:
    factory = CallMiddlewareFactory()
    factory.accept_calls()
    assert factory.start_call(pyarrow.flight.CallInfo(pyarrow.flight.FlightMethod.DO_GET), {}) is None
    assert factory.in_flight == 0  # counted by the handler wrapper, from the handler's start


def test_calls_are_counted_in_flight_until_completed() -> None:
    factory = _attaching_factory()
    factory.accept_calls()
    first, second = _start_call(factory), _start_call(factory)
    assert factory.in_flight == 2
    assert first.call_id != second.call_id
    first.call_completed(None)
    assert not factory.wait_until_idle(0.01)
    second.call_completed(None)
    assert factory.wait_until_idle(0.01)


def test_new_calls_are_refused_while_draining_and_in_flight_ones_finish() -> None:
    factory = _attaching_factory()
    factory.accept_calls()
    running = _start_call(factory)
    factory.reject_new_calls()
    with pytest.raises(pyarrow.flight.FlightUnavailableError) as caught:
        _start_call(factory)
    assert error_info_of(caught.value).code == ErrorCode.SHUTTING_DOWN
    running.call_completed(None)
    assert factory.in_flight == 0


def test_cutting_streams_ends_the_drain_wait() -> None:
    factory = _attaching_factory()
    factory.accept_calls()
    call = _start_call(factory)
    factory.cut_streams()
    assert factory.wait_until_idle(WAIT_SEC) is False
    assert call.streams_cut


def test_failed_authentication_is_typed_and_not_counted() -> None:
    def deny(info: pyarrow.flight.CallInfo, headers: Any) -> Any:
        raise PermissionError("no entry")

    factory = _attaching_factory(authenticator=deny)
    factory.accept_calls()
    with pytest.raises(pyarrow.flight.FlightInternalError) as caught:
        _start_call(factory)
    assert "no entry" not in str(caught.value)
    assert factory.in_flight == 0


@pytest.fixture
def strategy_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    name = f"gfs_test_strategy_{id(tmp_path)}"
    source = """
    from gfs_runtime.auth.strategy import TokenVerificationStrategy
    from gfs_runtime.errors.info import ErrorInfo

    class UserTokens(TokenVerificationStrategy):
        def verify(self, call_info, token):
            if token != "alice-token":
                raise ErrorInfo.for_reason(0, "unknown token").to_unauthenticated_error()
            return {"user": "alice"}
    """
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    sys.modules.pop(name, None)


def test_token_auth_refuses_calls_without_a_valid_token(
    strategy_module: str, start_server: StartServer, client_for: ClientFor
) -> None:
    methods = InspectingMethods()
    server = start_server(methods, authentication_method="token", token_verification=strategy_module)
    client = client_for(server)
    with pytest.raises(pyarrow.flight.FlightUnauthenticatedError):
        list(client.do_action(pyarrow.flight.Action("whoami", b"")))
    wrong = pyarrow.flight.FlightCallOptions(headers=[(b"authorization", b"Bearer mallory-token")])
    with pytest.raises(pyarrow.flight.FlightUnauthenticatedError):
        list(client.do_action(pyarrow.flight.Action("whoami", b""), wrong))
    assert methods.seen == []


def test_token_auth_gives_methods_the_caller_identity(
    strategy_module: str, start_server: StartServer, client_for: ClientFor
) -> None:
    server = start_server(InspectingMethods(), authentication_method="token", token_verification=strategy_module)
    options = pyarrow.flight.FlightCallOptions(headers=[(b"authorization", b"bearer alice-token")])
    results = list(client_for(server).do_action(pyarrow.flight.Action("whoami", b""), options))
    assert results[0].body.to_pybytes() == b"{'user': 'alice'}"


class WorkerThreadMethods(FlightServerMethods):
    """Hands `context` to a worker thread that reads the call's headers and registers an end-of-call function."""

    def __init__(self) -> None:
        self.headers: list[dict[str, list[str]]] = []
        self.ended = EndRecorder()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def _in_worker(self, context: pyarrow.flight.ServerCallContext) -> None:
        def work(ctx: pyarrow.flight.ServerCallContext) -> None:
            # thread ids are reused: make this worker look like a gRPC thread whose call (of another server) ended
            former = CallMiddlewareFactory()
            former.accept_calls()
            former.start_call(pyarrow.flight.CallInfo(pyarrow.flight.FlightMethod.DO_ACTION), {})
            former.end_call(former.begin_call(), None)
            try:
                self.headers.append(dict(self.call_info_middleware(ctx).headers))
                self.call_finalizer_middleware(ctx).register_on_end(self.ended)
            finally:
                former.forget_threads()

        self._pool.submit(work, context).result(timeout=WAIT_SEC)

    def get_flight_info(
        self, context: pyarrow.flight.ServerCallContext, descriptor: pyarrow.flight.FlightDescriptor
    ) -> pyarrow.flight.FlightInfo:
        self._in_worker(context)
        return pyarrow.flight.FlightInfo(pyarrow.schema([]), descriptor, [], -1, -1)

    def do_get(
        self, context: pyarrow.flight.ServerCallContext, ticket: pyarrow.flight.Ticket
    ) -> pyarrow.flight.FlightDataStream:
        self._in_worker(context)
        return pyarrow.flight.RecordBatchStream(pyarrow.table({"n": [1]}))

    def close(self) -> None:
        self._pool.shutdown(wait=True)


@pytest.mark.parametrize("tracked", [False, True], ids=["plain", "with-metrics"])
def test_a_worker_thread_given_the_context_reaches_the_call(
    start_server: StartServer, client_for: ClientFor, tracked: bool
) -> None:
    methods = WorkerThreadMethods()
    settings = {"metrics_host": "127.0.0.1", "metrics_port": 0} if tracked else {}
    client = client_for(start_server(methods, **settings))
    options = pyarrow.flight.FlightCallOptions(headers=[(b"x-tenant", b"acme")])
    try:
        client.get_flight_info(pyarrow.flight.FlightDescriptor.for_command(b"q"), options)
        client.do_get(pyarrow.flight.Ticket(b"t"), options).read_all()
        assert [h["x-tenant"] for h in methods.headers] == [["acme"], ["acme"]]
        assert methods.ended.called.wait(WAIT_SEC)
        deadline = time.monotonic() + WAIT_SEC
        while len(methods.ended.errors) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert methods.ended.errors == [None, None]
    finally:
        methods.close()
