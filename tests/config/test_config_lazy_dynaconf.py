"""Loading without Dynaconf: the plain env-value parser equals Dynaconf's, converters still go through Dynaconf."""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from config_testdata import CERT_PEM, KEY_PEM, WriteToml
from dynaconf import Dynaconf
from dynaconf.utils.parse_conf import boolean_fix as dynaconf_boolean_fix
from dynaconf.utils.parse_conf import converters as dynaconf_converters
from dynaconf.utils.parse_conf import parse_conf_data

import gfs_runtime.config
import gfs_runtime.config.loading
from gfs_runtime.config import LoadedSettings, load_merged_settings, parse_server_config, read_config
from gfs_runtime.config.dynaconf_settings import configures_dynaconf, is_converter_value, parse_env_value
from gfs_runtime.errors.exceptions import ConfigError

pytestmark = pytest.mark.timeout(20)

ENV_VALUES = [
    *("17001", "-5", "1_000", "0x10", "0o17", "0b101", "01", "1__0"),
    *("1.5", "-0.0", "1e3", "inf", "-inf", "nan", "+nan"),
    *("true", "false", "True", "False", " False ", "True\n", "TRUE", "False x", "no", "0", "1", "yes"),
    *("[1, 2]", '["a","b"]', "[1, 'a']", "[1,]", "[", "{a = 1}", "{a = {b = [1, {c = 2}]}}", "{a = 1,}"),
    *('"quoted"', "'single'", '"""triple"""', '"bad \\e escape"', '"unterminated'),
    *("abc", "a b", "", " ", "key", "1\nextra = 2", "\nextra = 2", "a = b", "# comment"),
    *("2024-01-01", "1979-05-27T07:32:00Z", "1979-05-27T00:32:00.5-07:00", "1979-05-27T07:32:00", "07:32:00"),
    *("2024-01-01T10:00", "@/etc/gfs/cert.pem", "@foo bar", "@int5", " @int 5", "@", "\udcff"),
]


@pytest.fixture(autouse=True)
def no_dynaconf_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove env vars configuring Dynaconf itself, which would make every load take the Dynaconf path."""
    for name in list(os.environ):
        if configures_dynaconf(name):
            monkeypatch.delenv(name)


def _typed(value: Any) -> Any:
    """A comparable form keeping every scalar's type: Dynaconf's dict/list subclasses become plain ones."""
    if isinstance(value, Mapping):
        return {str(key): _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


@pytest.mark.parametrize("value", ENV_VALUES)
def test_env_value_parses_as_dynaconf_parses_it(value: str) -> None:
    expected = parse_conf_data(dynaconf_boolean_fix(value), tomlfy=True)

    assert not is_converter_value(value)
    assert _typed(parse_env_value(value)) == _typed(expected)


def test_converter_tokens_are_dynaconfs() -> None:
    for token in dynaconf_converters:
        assert is_converter_value(f"{token} x")
        assert is_converter_value(token)
    assert not is_converter_value("@/srv/cert.pem")
    assert not is_converter_value("@intx 5")


def test_plain_values_load_without_dynaconf(write_toml: WriteToml, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_toml('[server]\nlisten_port = 1000\n[my_service]\nname = "a"\n')
    monkeypatch.setenv("GFS_SERVER__TASK_THREADS", "3")

    settings, config = read_config([path], overrides={"my_service.flag": True})

    assert not settings.requires_dynaconf
    assert "dynaconf not built" in repr(settings)
    assert (config.listen_port, config.task_threads) == (1000, 3)
    assert settings.data["my_service"] == {"name": "a", "flag": True}
    assert settings.sources["server.task_threads"] == "env GFS_SERVER__TASK_THREADS"


def test_plain_data_and_its_dynaconf_give_the_same_server_config(
    write_toml: WriteToml, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_toml(
        '[SERVER]\nListen_Host = "0.0.0.0"\nlog_trace_keys = { trace_id = "t" }\n'
        '[enumerated_tokens]\ntokens = ["x", "y"]\n'
    )
    monkeypatch.setenv("GFS_SERVER__AUTHENTICATION_METHOD", "token")
    monkeypatch.setenv("GOODDATA_FLIGHT_SERVER__USE_TLS", "False")
    monkeypatch.setenv("GFS_SERVER__TASK_WAIT_TIMEOUT_SEC", "2.5")
    loaded = load_merged_settings([path], {"server": {"metrics_port": 0}})

    from_data = parse_server_config(loaded.data, sources=loaded.sources)

    assert from_data == parse_server_config(loaded.dynaconf(), sources=loaded.sources)
    assert (from_data.listen_host, from_data.enumerated_tokens, from_data.task_wait_timeout_sec) == (
        "0.0.0.0",
        ("x", "y"),
        2.5,
    )


def test_plain_data_section_is_found_whatever_its_case() -> None:
    config = parse_server_config({"Server": {"LISTEN_PORT": 5}, "ENUMERATED_TOKENS": {"Tokens": ["t"]}})

    assert (config.listen_port, config.enumerated_tokens) == (5, ("t",))


def test_section_that_is_not_a_table_fails_the_same_from_plain_data_and_dynaconf(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GFS_SERVER", "5")
    loaded = load_merged_settings()
    expected = "env GFS_SERVER: [server] must be a table (got 5); expected a [server] table"

    for settings in (loaded.data, loaded.dynaconf()):
        with pytest.raises(ConfigError) as caught:
            parse_server_config(settings, sources=loaded.sources)
        assert str(caught.value) == expected


def test_tls_file_references_are_gfs_syntax_not_dynaconf_markers(
    write_toml: WriteToml, tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = tls_files
    path = write_toml(f'[server]\nuse_tls = true\ntls_certificate = "@{cert}"\n')
    monkeypatch.setenv("GFS_SERVER__TLS_PRIVATE_KEY", f"@{key}")

    settings, config = read_config([path])

    assert not settings.requires_dynaconf
    assert config.tls_cert_and_key == (CERT_PEM.encode(), KEY_PEM.encode())
    assert settings.dynaconf().get("server.tls_certificate") == f"@{cert}"


def test_converter_in_env_is_applied_by_dynaconf(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFS_SERVER__TASK_THREADS", "@int 5")
    monkeypatch.setenv("GFS_SERVER__LISTEN_PORT", "0")

    settings, config = read_config()

    assert settings.requires_dynaconf
    assert (config.task_threads, config.listen_port) == (5, 0)


def test_format_marker_in_a_file_is_evaluated_by_dynaconf(write_toml: WriteToml) -> None:
    path = write_toml(
        '[server]\nlisten_host = "10.1.2.3"\notel_service_name = "@format svc-{this.server.listen_host}"\n'
    )

    settings, config = read_config([path])

    assert settings.requires_dynaconf
    assert config.otel_config.service_name == "svc-10.1.2.3"
    assert settings.data["server"]["otel_service_name"].startswith("@format")


def test_converter_in_a_list_is_applied_by_dynaconf(write_toml: WriteToml) -> None:
    path = write_toml('[enumerated_tokens]\ntokens = ["@upper abc", "d"]\n')

    settings, config = read_config([path])

    assert settings.requires_dynaconf
    assert config.enumerated_tokens == ("ABC", "d")


def test_converter_in_overrides_is_applied_by_dynaconf() -> None:
    settings, config = read_config(overrides={"server.task_threads": "@int 9"})

    assert settings.requires_dynaconf
    assert config.task_threads == 9


def test_dotted_top_level_key_is_nested_as_dynaconf_does(write_toml: WriteToml) -> None:
    path = write_toml('"server.listen_port" = 7\n')

    settings, config = read_config([path])

    assert settings.requires_dynaconf
    assert config.listen_port == 7


def test_dynaconf_settings_file_env_var_is_still_honoured(
    write_toml: WriteToml, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SETTINGS_FILE_FOR_DYNACONF", str(write_toml("[server]\nlisten_port = 5555\n", "d.toml")))

    settings, config = read_config()

    assert settings.requires_dynaconf
    assert config.listen_port == 5555


def test_building_the_dynaconf_leaves_the_loaded_data_as_written(write_toml: WriteToml) -> None:
    path = write_toml('[server]\ntask_threads = "@int 7"\n[svc]\nitems = [{ a = "@int 1" }]\n')

    settings, config = read_config([path])

    assert config.task_threads == 7
    assert settings.dynaconf().get("svc.items")[0]["a"] == 1
    assert settings.data == {"server": {"task_threads": "@int 7"}, "svc": {"items": [{"a": "@int 1"}]}}


@pytest.mark.timeout(10)
def test_dynaconf_is_built_once_for_concurrent_callers() -> None:
    settings = load_merged_settings(overrides={"svc.value": 1})
    barrier = threading.Barrier(8)
    built: list[Any] = []

    def build() -> None:
        barrier.wait(5)
        built.append(settings.dynaconf())

    threads = [threading.Thread(target=build) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)

    assert len(built) == 8
    assert all(item is built[0] for item in built)
    assert built[0].get("svc.value") == 1


def test_loaded_settings_repr_shows_no_values() -> None:
    settings = LoadedSettings({"secrets": {"password": "hunter2"}}, {})

    assert "hunter2" not in repr(settings)
    assert "secrets" in repr(settings)


def test_dynaconf_stays_reachable_from_the_config_package() -> None:
    assert gfs_runtime.config.Dynaconf is Dynaconf
    assert gfs_runtime.config.loading.Dynaconf is Dynaconf
    missing = "no_such_name"
    with pytest.raises(AttributeError, match=missing):
        getattr(gfs_runtime.config, missing)
