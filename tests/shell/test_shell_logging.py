"""Log lines of a real FlightServer: call fields bound per call and per task, trace ids, event key, quiet calls."""

from __future__ import annotations

from typing import Any

import pyarrow.flight
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gfs_runtime.server.server import create_server
from gfs_runtime.telemetry.logging import configure_logging
from gfs_runtime.telemetry.redaction import REDACTED, redact_secrets
from tests.shell.service import ShellService, fetch
from tests.shell.support import ServerFactory, bearer, client_for, json_lines, run_action

pytestmark = pytest.mark.timeout(30)

WAIT_SEC = 10.0


def _events(err: str, event: str, key: str = "event") -> list[dict[str, Any]]:
    return [line for line in json_lines(err) if line.get(key) == event]


def test_lines_logged_by_a_handler_carry_request_id_method_peer_and_caller(
    make_server: ServerFactory, strategy_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(dev_log=False, logging_config=None)
    server = make_server(ShellService, authentication_method="token", token_verification=strategy_module)
    with client_for(server) as client:
        run_action(client, "log", bearer("alice-token"))
        run_action(client, "log", bearer("alice-token"))

    first, second = _events(capsys.readouterr().err, "order_logged")
    assert first["rpc_method"] == "do_action"
    assert first["caller"] == {"user": "alice"}
    assert first["peer"].startswith("ipv4:127.0.0.1:")
    assert isinstance(first["request_id"], int)
    assert second["request_id"] != first["request_id"]
    assert first["headers"]["authorization"] == REDACTED


def test_lines_logged_by_a_task_carry_its_id_and_the_submitting_calls_fields(
    make_server: ServerFactory, strategy_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(dev_log=False, logging_config=None)
    server = make_server(ShellService, authentication_method="token", token_verification=strategy_module)
    with client_for(server) as client:
        fetch(client, options=bearer("alice-token"))

    (line,) = _events(capsys.readouterr().err, "task_ran")
    assert line["rpc_method"] == "get_flight_info"
    assert line["caller"] == {"user": "alice"}
    assert line["peer"].startswith("ipv4:127.0.0.1:")
    assert isinstance(line["task_id"], str)
    assert line["task_id"]


def test_lines_outside_any_call_carry_no_call_fields(
    make_server: ServerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(dev_log=False, logging_config=None)
    make_server(ShellService)

    (started,) = _events(capsys.readouterr().err, "server_started")
    assert "request_id" not in started
    assert "rpc_method" not in started


def test_successful_calls_log_nothing_at_info(make_server: ServerFactory, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(dev_log=False, logging_config=None)
    server = make_server(ShellService)
    capsys.readouterr()
    with client_for(server) as client:
        for _ in range(5):
            run_action(client, "ok")
        fetch(client)

    assert [line["event"] for line in json_lines(capsys.readouterr().err)] == ["task_ran"]


def test_trace_ids_are_logged_under_the_configured_keys(
    make_server: ServerFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(dev_log=False, logging_config=None)
    exporter = InMemorySpanExporter()
    keys = {"trace_id": "traceId", "span_id": "spanId", "parent_span_id": "parentSpanId"}
    server = make_server(ShellService, span_exporter=exporter, log_trace_keys=keys)
    with client_for(server) as client:
        run_action(client, "log")
        fetch(client)
    server.stop()
    assert server.wait_for_stop(WAIT_SEC)

    err = capsys.readouterr().err
    spans = {span.name.rsplit("/", 1)[-1]: span.context for span in exporter.get_finished_spans()}
    (logged,) = _events(err, "order_logged")
    (task_line,) = _events(err, "task_ran")
    assert logged["traceId"] == format(spans["DoAction"].trace_id, "032x")
    assert logged["spanId"] == format(spans["DoAction"].span_id, "016x")
    assert task_line["spanId"] == format(spans["gfs.task"].span_id, "016x")
    assert task_line["parentSpanId"] == format(spans["GetFlightInfo"].span_id, "016x")
    assert "trace_id" not in logged


def test_create_server_logs_under_the_configured_event_key(capsys: pytest.CaptureFixture[str]) -> None:
    overrides = {"server": {"listen_port": 0, "log_event_key_name": "message", "task_threads": 1}}
    server = create_server(ShellService, overrides=overrides)
    server.start(handle_signals=False)
    try:
        assert server.wait_for_start(WAIT_SEC)
    finally:
        server.stop()
        assert server.wait_for_stop(WAIT_SEC)

    err = capsys.readouterr().err
    assert len(_events(err, "server_started", key="message")) == 1
    assert _events(err, "server_started") == []


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ({"token": "s3cret"}, {"token": REDACTED}),
        (
            {"access_token": "s3cret", "Authorization": "Bearer s3cret"},
            {"access_token": REDACTED, "Authorization": REDACTED},
        ),
        (
            {"config": {"db": {"password": "pw", "user": "bob"}}},
            {"config": {"db": {"password": REDACTED, "user": "bob"}}},
        ),
        ({"headers": {"authorization": ["Bearer s3cret"]}}, {"headers": {"authorization": REDACTED}}),
        ({"note": "sent Bearer s3cret, twice"}, {"note": f"sent Bearer {REDACTED}, twice"}),
        ({"pem": "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----"}, {"pem": REDACTED}),
        ({"items": ["x", "bearer s3cret"]}, {"items": ["x", f"bearer {REDACTED}"]}),
        ({"token_header_name": "x-api-key", "count": 3}, {"token_header_name": "x-api-key", "count": 3}),
        ({"enumerated_tokens": "<redacted: 2 token(s)>"}, {"enumerated_tokens": "<redacted: 2 token(s)>"}),
    ],
)
def test_secrets_are_redacted_from_log_lines(line: dict[str, Any], expected: dict[str, Any]) -> None:
    assert redact_secrets(dict(line)) == expected


def test_redaction_keeps_the_line_when_nothing_is_secret() -> None:
    line = {"event": "order_logged", "peer": "ipv4:127.0.0.1:1", "rows": [1, 2]}
    assert redact_secrets(dict(line)) == line


def test_an_unauthenticated_call_is_logged_with_its_reason(
    make_server: ServerFactory, strategy_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(dev_log=False, logging_config=None)
    server = make_server(ShellService, authentication_method="token", token_verification=strategy_module)
    with client_for(server) as client:
        for token in ("mallory-token", "boom-token"):
            with pytest.raises(pyarrow.flight.FlightError):
                run_action(client, "ok", bearer(token))

    err = capsys.readouterr().err
    (refused,) = _events(err, "call_unauthenticated")
    (crashed,) = _events(err, "token_verification_failed")
    assert (refused["reason"], refused["rpc_method"], refused["level"]) == ("invalid_token", "do_action", "info")
    assert (crashed["error_type"], crashed["level"]) == ("RuntimeError", "error")
    assert "mallory-token" not in err
    assert "boom-token" not in err
