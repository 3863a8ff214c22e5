"""Parsing [server]: defaults, every key from a file, typed values and the messages for bad ones."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from config_testdata import WriteToml

from gfs_runtime.config import AuthenticationMethod, OtelExporterType, ServerConfig, read_config
from gfs_runtime.errors.exceptions import ConfigError

pytestmark = pytest.mark.timeout(20)


_EVERY_KEY_TOML = """
[server]
listen_host = "10.1.2.3"
listen_port = 1
advertise_host = "flight.example.com"
advertise_port = 2
authentication_method = "token"
token_header_name = "x-token"
token_verification = "my_verifier"
task_threads = 3
task_close_threads = 4
task_result_ttl_sec = 5
metrics_host = "0.0.0.0"
metrics_port = 6
health_check_host = "0.0.0.0"
health_check_port = 7
malloc_trim_interval_sec = 0
log_event_key_name = "msg"
log_trace_keys = { trace_id = "traceId" }
otel_exporter_type = "otlp-grpc"
otel_service_name = "svc"
otel_service_namespace = "ns"
otel_service_instance_id = "svc-0"
otel_extract_context = true
task_queue_size = 8
task_wait_timeout_sec = 0.5
shutdown_timeout_sec = 9
max_command_bytes = 10
error_tracebacks = true
"""


def _config(**server: Any) -> ServerConfig:
    return read_config(overrides={"server": server})[1]


def _error(**server: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        read_config(overrides={"server": server})
    return str(caught.value)


def test_defaults_match_the_reference() -> None:
    config = _config()

    assert (config.listen_host, config.listen_port) == ("127.0.0.1", 17001)
    assert (config.advertise_host, config.advertise_port) == ("127.0.0.1", 17001)
    assert (config.use_tls, config.use_mutual_tls, config.tls_cert_and_key, config.tls_root_cert) == (
        False,
        False,
        None,
        None,
    )
    assert config.authentication_method is AuthenticationMethod.NoAuth
    assert (config.token_header_name, config.token_verification) == (None, None)
    assert (config.task_threads, config.task_close_threads, config.task_result_ttl_sec) == (32, 2, 60)
    assert (config.metrics_host, config.metrics_port) == (None, 17101)
    assert (config.health_check_host, config.health_check_port) == (None, 8877)
    assert config.malloc_trim_interval_sec == 30
    assert (config.log_event_key_name, config.log_trace_keys) == ("event", {})
    assert config.otel_config.exporter_type is None
    assert config.otel_config.extract_context_from_headers is False


def test_gfs_keys_have_their_documented_defaults() -> None:
    config = _config()

    assert config.task_queue_size == 1024
    assert config.task_wait_timeout_sec == 60
    assert config.shutdown_timeout_sec == 30
    assert config.max_command_bytes == 1048576
    assert config.error_tracebacks is False
    assert config.enumerated_tokens == ()


def test_every_key_is_read_from_a_file(write_toml: WriteToml) -> None:
    path = write_toml(_EVERY_KEY_TOML)

    _, config = read_config([path])

    assert (config.listen_host, config.listen_port, config.advertise_host, config.advertise_port) == (
        "10.1.2.3",
        1,
        "flight.example.com",
        2,
    )
    assert config.authentication_method is AuthenticationMethod.Token
    assert (config.token_header_name, config.token_verification) == ("x-token", "my_verifier")
    assert (config.task_threads, config.task_close_threads, config.task_result_ttl_sec) == (3, 4, 5)
    assert (config.metrics_host, config.metrics_port, config.health_check_host, config.health_check_port) == (
        "0.0.0.0",
        6,
        "0.0.0.0",
        7,
    )
    assert (config.malloc_trim_interval_sec, config.log_event_key_name) == (0, "msg")
    assert config.log_trace_keys == {"trace_id": "traceId"}
    otel = config.otel_config
    assert otel.exporter_type is OtelExporterType.OtlpGrpc
    assert (otel.service_name, otel.service_namespace, otel.service_instance_id) == ("svc", "ns", "svc-0")
    assert otel.extract_context_from_headers is True
    assert (config.task_queue_size, config.task_wait_timeout_sec, config.shutdown_timeout_sec) == (8, 0.5, 9.0)
    assert (config.max_command_bytes, config.error_tracebacks) == (10, True)


def test_advertise_port_defaults_to_listen_port() -> None:
    assert _config(listen_port=18000).advertise_port == 18000


def test_advertise_host_defaults_to_a_concrete_listen_host() -> None:
    assert _config(listen_host="10.0.0.7").advertise_host == "10.0.0.7"


@pytest.mark.parametrize("wildcard", ["0.0.0.0", "::", "[::]"])
def test_advertise_host_defaults_to_fqdn_for_a_wildcard_listen_host(
    wildcard: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(socket, "getfqdn", lambda: "box.example.com")

    assert _config(listen_host=wildcard).advertise_host == "box.example.com"


@pytest.mark.parametrize("key", ["listen_port", "metrics_port", "health_check_port"])
def test_port_zero_means_pick_a_free_port(key: str) -> None:
    assert getattr(_config(**{key: 0}), key) == 0


def test_advertise_port_zero_is_refused() -> None:
    message = _error(advertise_port=0)

    assert "server.advertise_port" in message
    assert "1..65535" in message


@pytest.mark.parametrize("value", [65536, -1])
def test_port_out_of_range_is_refused_naming_key_and_value(value: int) -> None:
    message = _error(listen_port=value)

    assert "[server.listen_port]" in message
    assert repr(value) in message
    assert "0..65535" in message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("True", True),
        ("yes", True),
        ("on", True),
        ("1", True),
        (1, True),
        ("false", False),
        ("False", False),
        ("no", False),
        ("off", False),
        ("0", False),
        (0, False),
        (" NO ", False),
    ],
)
def test_booleans_parse_as_people_write_them(raw: object, expected: bool) -> None:
    assert _config(error_tracebacks=raw).error_tracebacks is expected


@pytest.mark.parametrize(("raw", "expected"), [("False", False), ("no", False), ("0", False), ("on", True)])
def test_boolean_env_strings_parse(raw: str, expected: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFS_SERVER__OTEL_EXTRACT_CONTEXT", raw)

    assert read_config()[1].otel_config.extract_context_from_headers is expected


@pytest.mark.parametrize("raw", ["maybe", 2, 1.0, ""])
def test_bad_boolean_is_refused_listing_accepted_spellings(raw: object) -> None:
    message = _error(use_tls=raw)

    assert "[server.use_tls] is not a boolean" in message
    assert repr(raw) in message
    assert "true/false, yes/no, on/off, 1/0" in message


@pytest.mark.parametrize("raw", [1.5, 2.0, True, "four", "4.5"])
def test_integer_setting_refuses_non_integers(raw: object) -> None:
    message = _error(task_threads=raw)

    assert "[server.task_threads] is not a whole number" in message
    assert repr(raw) in message


def test_integer_setting_accepts_a_numeric_string() -> None:
    assert _config(task_threads=" 12 ").task_threads == 12


@pytest.mark.parametrize(
    "key", ["task_threads", "task_close_threads", "task_queue_size", "max_command_bytes", "task_result_ttl_sec"]
)
def test_counts_below_one_are_refused(key: str) -> None:
    message = _error(**{key: 0})

    assert f"[server.{key}] is out of range (got 0)" in message
    assert ">= 1" in message


def test_malloc_trim_interval_zero_disables_and_negative_is_refused() -> None:
    assert _config(malloc_trim_interval_sec=0).malloc_trim_interval_sec == 0
    assert ">= 0" in _error(malloc_trim_interval_sec=-1)


@pytest.mark.parametrize("key", ["task_wait_timeout_sec", "shutdown_timeout_sec"])
@pytest.mark.parametrize("raw", [0, -2.5])
def test_durations_must_be_positive(key: str, raw: float) -> None:
    message = _error(**{key: raw})

    assert f"[server.{key}] must be positive" in message
    assert "> 0" in message


@pytest.mark.parametrize("raw", ["soon", "nan", "inf", False])
def test_durations_must_be_finite_numbers(raw: object) -> None:
    message = _error(shutdown_timeout_sec=raw)

    assert "[server.shutdown_timeout_sec] is not a number of seconds" in message


def test_duration_accepts_env_float_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFS_SERVER__TASK_WAIT_TIMEOUT_SEC", "2.5")

    assert read_config()[1].task_wait_timeout_sec == 2.5


def test_unknown_authentication_method_lists_the_allowed_values() -> None:
    message = _error(authentication_method="oauth")

    assert "[server.authentication_method] is not an allowed value (got 'oauth')" in message
    assert "none, token" in message


def test_unknown_exporter_lists_the_allowed_values() -> None:
    message = _error(otel_exporter_type="jaeger")

    assert "none, zipkin, otlp-http, otlp-grpc, console" in message


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("none", None),
        ("console", OtelExporterType.Console),
        ("zipkin", OtelExporterType.Zipkin),
        ("otlp-http", OtelExporterType.OtlpHttp),
        ("OTLP-GRPC", OtelExporterType.OtlpGrpc),
    ],
)
def test_exporter_type_maps_to_enum_or_none(raw: str, expected: OtelExporterType | None) -> None:
    assert _config(otel_exporter_type=raw).otel_config.exporter_type is expected


def test_empty_host_is_refused() -> None:
    assert "[server.listen_host] must be a non-empty string" in _error(listen_host="  ")


def test_log_trace_keys_refuse_unknown_entries() -> None:
    message = _error(log_trace_keys={"trace": "t"})

    assert "[server.log_trace_keys] has unknown entry 'trace'" in message
    assert "trace_id, span_id, parent_span_id" in message


def test_log_trace_keys_must_be_a_table() -> None:
    assert "[server.log_trace_keys] must be a table" in _error(log_trace_keys="trace_id")
