"""Loading settings: file merging key by key, env prefixes and precedence, overrides, unreadable files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from config_testdata import WriteToml

from gfs_runtime.config import load_settings, read_config
from gfs_runtime.errors.exceptions import ConfigError

pytestmark = pytest.mark.timeout(20)


def test_second_file_server_table_overrides_only_its_own_keys(write_toml: WriteToml) -> None:
    base = write_toml('[server]\nlisten_host = "0.0.0.0"\nlisten_port = 1000\ntask_threads = 4\n', "base.toml")
    prod = write_toml("[server]\nlisten_port = 2000\n", "prod.toml")

    settings = load_settings([base, prod])

    assert settings.get("server.listen_host") == "0.0.0.0"
    assert settings.get("server.listen_port") == 2000
    assert settings.get("server.task_threads") == 4


def test_three_files_merge_in_order_with_last_winning(write_toml: WriteToml) -> None:
    first = write_toml("[server]\nlisten_port = 1\ntask_threads = 1\nmetrics_port = 1\n", "1.toml")
    second = write_toml("[server]\ntask_threads = 2\nmetrics_port = 2\n", "2.toml")
    third = write_toml("[server]\nmetrics_port = 3\n", "3.toml")

    _, config = read_config([first, second, third])

    assert (config.listen_port, config.task_threads, config.metrics_port) == (1, 2, 3)


def test_nested_tables_merge_and_lists_replace(write_toml: WriteToml) -> None:
    first = write_toml(
        '[server]\nlog_trace_keys = { trace_id = "a", span_id = "b" }\n[enumerated_tokens]\ntokens = ["x", "y"]\n',
        "1.toml",
    )
    second = write_toml('[server.log_trace_keys]\ntrace_id = "A"\n[enumerated_tokens]\ntokens = ["z"]\n', "2.toml")

    settings = load_settings([first, second])

    assert dict(settings.get("server.log_trace_keys")) == {"trace_id": "A", "span_id": "b"}
    assert list(settings.get("enumerated_tokens.tokens")) == ["z"]


def test_dynaconf_merge_marker_in_a_list_appends_to_the_earlier_list(write_toml: WriteToml) -> None:
    first = write_toml('[enumerated_tokens]\ntokens = ["x", "y"]\n', "1.toml")
    second = write_toml('[enumerated_tokens]\ntokens = ["dynaconf_merge", "z"]\n', "2.toml")

    _, config = read_config([first, second])

    assert config.enumerated_tokens == ("x", "y", "z")


def test_dynaconf_merge_key_in_a_table_is_accepted_and_dropped(write_toml: WriteToml) -> None:
    first = write_toml('[server]\nlisten_host = "0.0.0.0"\n', "1.toml")
    second = write_toml("[server]\ndynaconf_merge = true\nlisten_port = 5\n", "2.toml")

    settings, config = read_config([first, second])

    assert (config.listen_host, config.listen_port) == ("0.0.0.0", 5)
    assert settings.dynaconf().get("server.dynaconf_merge") is None


def test_service_sections_are_reachable_through_settings(write_toml: WriteToml) -> None:
    path = write_toml('[my_service]\ndata_dir = "/srv/data"\n[my_service.limits]\nrows = 10\n')

    loaded, _ = read_config([path])

    settings = loaded.dynaconf()
    assert settings.my_service.data_dir == "/srv/data"
    assert settings.get("my_service.limits.rows") == 10


def test_single_path_string_is_read_as_one_file(write_toml: WriteToml) -> None:
    path = write_toml("[server]\nlisten_port = 4321\n")

    settings = load_settings(str(path))

    assert settings.get("server.listen_port") == 4321


def test_gfs_env_var_overrides_file(write_toml: WriteToml, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_toml("[server]\nlisten_port = 1000\n")
    monkeypatch.setenv("GFS_SERVER__LISTEN_PORT", "17009")

    _, config = read_config([path])

    assert config.listen_port == 17009


def test_legacy_env_prefix_overrides_file(write_toml: WriteToml, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_toml("[server]\nlisten_port = 1000\n")
    monkeypatch.setenv("GOODDATA_FLIGHT_SERVER__LISTEN_PORT", "17008")

    _, config = read_config([path])

    assert config.listen_port == 17008


def test_gfs_prefix_wins_over_legacy_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOODDATA_FLIGHT_SERVER__TASK_THREADS", "5")
    monkeypatch.setenv("GFS_SERVER__TASK_THREADS", "7")

    _, config = read_config()

    assert config.task_threads == 7


def test_env_sets_one_key_without_wiping_the_file_table(write_toml: WriteToml, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_toml('[server]\nlisten_host = "0.0.0.0"\nlisten_port = 1000\n')
    monkeypatch.setenv("GFS_SERVER__LISTEN_PORT", "2000")

    _, config = read_config([path])

    assert (config.listen_host, config.listen_port) == ("0.0.0.0", 2000)


def test_env_values_are_parsed_as_toml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFS_ENUMERATED_TOKENS__TOKENS", '["a", "b"]')
    monkeypatch.setenv("GFS_MY_SERVICE__RATIO", "0.5")
    monkeypatch.setenv("GFS_MY_SERVICE__NAME", "plain text")

    settings = load_settings()

    assert list(settings.get("enumerated_tokens.tokens")) == ["a", "b"]
    assert settings.get("my_service.ratio") == 0.5
    assert settings.get("my_service.name") == "plain text"


def test_deeper_env_key_wins_over_env_table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFS_SERVER", "{ listen_port = 1, task_threads = 3 }")
    monkeypatch.setenv("GFS_SERVER__LISTEN_PORT", "2")

    _, config = read_config()

    assert (config.listen_port, config.task_threads) == (2, 3)


def test_overrides_win_over_env_and_files(write_toml: WriteToml, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_toml("[server]\nlisten_port = 1000\ntask_threads = 4\n")
    monkeypatch.setenv("GFS_SERVER__LISTEN_PORT", "2000")

    _, config = read_config([path], overrides={"server": {"listen_port": 0}})

    assert (config.listen_port, config.task_threads) == (0, 4)


def test_overrides_accept_dotted_keys(write_toml: WriteToml) -> None:
    path = write_toml('[server]\nlisten_host = "0.0.0.0"\n')

    settings, config = read_config([path], overrides={"server.listen_port": 0, "my_service.flag": True})

    assert (config.listen_host, config.listen_port) == ("0.0.0.0", 0)
    assert settings.dynaconf().get("my_service.flag") is True


def test_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"

    with pytest.raises(ConfigError, match="does not exist") as caught:
        load_settings([missing])

    assert str(missing) in str(caught.value)


def test_directory_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory") as caught:
        load_settings([tmp_path])

    assert str(tmp_path) in str(caught.value)


def test_path_through_a_file_is_a_config_error_naming_it(write_toml: WriteToml) -> None:
    bogus = write_toml("[server]\n") / "inner.toml"

    with pytest.raises(ConfigError, match="cannot read config file") as caught:
        load_settings([bogus])

    assert str(bogus) in str(caught.value)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file_is_a_config_error_naming_it(write_toml: WriteToml) -> None:
    path = write_toml("[server]\n")
    path.chmod(0)

    with pytest.raises(ConfigError, match="not readable") as caught:
        load_settings([path])

    assert str(path) in str(caught.value)


def test_malformed_toml_names_file_and_line(write_toml: WriteToml) -> None:
    path = write_toml("[server]\nlisten_host = '127.0.0.1'\nlisten_port = \n")

    with pytest.raises(ConfigError, match="malformed TOML") as caught:
        load_settings([path])

    assert str(path) in str(caught.value)
    assert "line 3" in str(caught.value)


def test_non_utf8_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[server]\nlisten_host = "caf\xe9"\n')

    with pytest.raises(ConfigError, match="not UTF-8") as caught:
        load_settings([path])

    assert str(path) in str(caught.value)


def test_yaml_file_is_refused_as_unsupported(write_toml: WriteToml) -> None:
    path = write_toml("server:\n  listen_port: 1\n", "config.yaml")

    with pytest.raises(ConfigError, match="unsupported config file type") as caught:
        load_settings([path])

    assert str(path) in str(caught.value)


def test_no_files_and_no_env_give_empty_settings() -> None:
    settings = load_settings()

    assert settings.get("server") is None


def test_dynaconf_markers_in_files_are_applied(write_toml: WriteToml, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_SUFFIX", "blue")
    path = write_toml('[server]\ntask_threads = "@int 7"\notel_service_name = "@format svc-{env[SERVICE_SUFFIX]}"\n')

    _, config = read_config([path])

    assert (config.task_threads, config.otel_config.service_name) == (7, "svc-blue")


def test_unparseable_dynaconf_marker_names_file_and_key_but_not_value(write_toml: WriteToml) -> None:
    path = write_toml('[server]\ntask_threads = "@int secret-ish"\n')

    with pytest.raises(ConfigError) as caught:
        load_settings([path])

    message = str(caught.value)
    assert message.startswith(f"{path}: [server.task_threads] is a Dynaconf @int value that cannot be parsed")
    assert "secret-ish" not in message


def test_unparseable_dynaconf_marker_in_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFS_SERVER__TASK_THREADS", "@json {")

    with pytest.raises(ConfigError, match=r"env GFS_SERVER__TASK_THREADS: \[server.task_threads\] is a Dynaconf @json"):
        load_settings()


def test_format_value_that_cannot_be_evaluated_is_a_config_error(
    write_toml: WriteToml, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_VARIABLE_FOR_GFS_TESTS", raising=False)
    path = write_toml('[server]\notel_service_name = "@format {env[NO_SUCH_VARIABLE_FOR_GFS_TESTS]}"\n')

    with pytest.raises(ConfigError) as caught:
        read_config([path])

    assert str(caught.value).startswith(f"{path}: [server.otel_service_name] cannot evaluate the value")
    assert "NO_SUCH_VARIABLE_FOR_GFS_TESTS" in str(caught.value)
