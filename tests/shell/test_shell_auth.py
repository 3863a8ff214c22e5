"""Token authentication end to end through a FlightClient, and the warning for an open unauthenticated server."""

from __future__ import annotations

from collections.abc import Iterator

import pyarrow.flight
import pytest

from gfs_runtime.errors.codes import ErrorCode
from gfs_runtime.telemetry.log_capture import capture_log_events
from gfs_runtime.testing import error_info_of
from tests.shell.service import ShellService
from tests.shell.support import ServerFactory, bearer, client_for, run_action

pytestmark = pytest.mark.timeout(30)

TOKENS = {"authentication_method": "token"}


def _options(*headers: tuple[bytes, bytes]) -> pyarrow.flight.FlightCallOptions:
    return pyarrow.flight.FlightCallOptions(headers=list(headers), timeout=10)


@pytest.fixture
def enumerated(make_server: ServerFactory) -> Iterator[pyarrow.flight.FlightClient]:
    """A client of a server accepting the enumerated tokens `good-token` and `other-token`."""
    server = make_server(
        ShellService(), sections={"enumerated_tokens": {"tokens": ["good-token", "other-token"]}}, **TOKENS
    )
    with client_for(server) as client:
        yield client


@pytest.mark.parametrize("scheme", [b"Bearer", b"bearer", b"BEARER"])
def test_enumerated_token_is_accepted_with_the_bearer_scheme_in_any_case(
    enumerated: pyarrow.flight.FlightClient, scheme: bytes
) -> None:
    assert run_action(enumerated, "ok", _options((b"authorization", scheme + b" good-token"))) == [b"done"]


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param((), id="missing"),
        pytest.param(((b"authorization", b"Bearer good-token"), (b"authorization", b"Bearer good-token")), id="twice"),
        pytest.param(((b"authorization", b"Basic Z29vZC10b2tlbg=="),), id="malformed"),
        pytest.param(((b"authorization", b"Bearer"),), id="empty"),
        pytest.param(((b"authorization", b"Bearer wrong-token"),), id="wrong"),
    ],
)
def test_bad_credentials_get_unauthenticated_with_error_info(
    enumerated: pyarrow.flight.FlightClient, headers: tuple[tuple[bytes, bytes], ...]
) -> None:
    with pytest.raises(pyarrow.flight.FlightUnauthenticatedError) as caught:
        run_action(enumerated, "ok", _options(*headers))
    info = error_info_of(caught.value)
    assert info.msg.startswith("Authenticat")
    assert "wrong-token" not in info.msg


def test_custom_header_carries_the_bare_token(make_server: ServerFactory, strategy_module: str) -> None:
    server = make_server(ShellService, token_header_name="X-Api-Key", token_verification=strategy_module, **TOKENS)
    with client_for(server) as client:
        assert run_action(client, "whoami", _options((b"x-api-key", b"alice-token")))[0] == b"{'user': 'alice'}"
        with pytest.raises(pyarrow.flight.FlightUnauthenticatedError):
            run_action(client, "whoami", bearer("alice-token"))


def test_crashing_strategy_gets_a_typed_error_and_the_server_stays_up(
    make_server: ServerFactory, strategy_module: str
) -> None:
    server = make_server(ShellService, token_verification=strategy_module, **TOKENS)
    with client_for(server) as client:
        with pytest.raises(pyarrow.flight.FlightInternalError) as caught:
            run_action(client, "whoami", bearer("boom-token"))
        after = run_action(client, "whoami", bearer("alice-token"))

    info = error_info_of(caught.value)
    assert info.code == ErrorCode.INTERNAL_ERROR
    assert "boom-token" not in info.msg
    assert after[0] == b"{'user': 'alice'}"


def test_unauthorized_from_the_strategy_reaches_the_client_typed(
    make_server: ServerFactory, strategy_module: str
) -> None:
    server = make_server(ShellService, token_verification=strategy_module, **TOKENS)
    with client_for(server) as client, pytest.raises(pyarrow.flight.FlightUnauthorizedError) as caught:
        run_action(client, "whoami", bearer("forbidden-token"))
    assert error_info_of(caught.value).msg == "alice may not do this"


def test_no_auth_on_an_address_others_can_reach_logs_a_loud_warning(make_server: ServerFactory) -> None:
    with capture_log_events() as logs:
        make_server(ShellService, listen_host="0.0.0.0", advertise_host="127.0.0.1")
    warnings = [entry for entry in logs if entry["event"] == "server_unauthenticated"]
    assert [(entry["level"], entry["listen_host"]) for entry in warnings] == [("warning", "0.0.0.0")]


@pytest.mark.parametrize("settings", [{"listen_host": "127.0.0.1"}, {"listen_host": "localhost"}, TOKENS])
def test_loopback_or_authenticated_servers_do_not_warn(
    make_server: ServerFactory, strategy_module: str, settings: dict[str, str]
) -> None:
    extra = {"token_verification": strategy_module} if settings is TOKENS else {"advertise_host": "127.0.0.1"}
    with capture_log_events() as logs:
        make_server(ShellService, **settings, **extra)
    assert [entry for entry in logs if entry["event"] == "server_unauthenticated"] == []
