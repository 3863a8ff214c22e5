"""Config errors: unknown keys with suggestions, and errors naming the file or env var that set a value."""

from __future__ import annotations

from typing import Any

import pytest
from config_testdata import WriteToml

from gfs_runtime.config import read_config
from gfs_runtime.errors.exceptions import ConfigError

pytestmark = pytest.mark.timeout(20)


def _error(**server: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        read_config(overrides={"server": server})
    return str(caught.value)


def test_misspelt_key_suggests_the_closest_known_key() -> None:
    message = _error(listen_prot=1)

    assert "[server.listen_prot] unknown key; did you mean 'listen_port'?" in message


def test_unrelated_unknown_key_is_refused_without_a_guess() -> None:
    message = _error(zzz=1)

    assert "[server.zzz] unknown key; not a [server] setting" in message
    assert "did you mean" not in message


def test_misspelt_key_from_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GFS_SERVER__TASK_THREAD", "4")

    with pytest.raises(ConfigError) as caught:
        read_config()

    assert "env GFS_SERVER__TASK_THREAD:" in str(caught.value)
    assert "did you mean 'task_threads'?" in str(caught.value)


def test_keys_match_case_insensitively(write_toml: WriteToml) -> None:
    path = write_toml("[server]\nListen_Port = 4000\n")

    assert read_config([path])[1].listen_port == 4000


def test_bad_value_names_the_file_that_set_it(write_toml: WriteToml) -> None:
    good = write_toml("[server]\ntask_threads = 4\n", "base.toml")
    bad = write_toml('[server]\nlisten_port = "http"\n', "prod.toml")

    with pytest.raises(ConfigError) as caught:
        read_config([good, bad])

    assert caught.value.file == str(bad)
    assert str(caught.value) == (
        f"{bad}: [server.listen_port] is not a whole number (got 'http'); expected a whole number in 0..65535"
    )


def test_bad_value_names_the_env_var_that_set_it(write_toml: WriteToml, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_toml("[server]\nlisten_port = 1\n")
    monkeypatch.setenv("GOODDATA_FLIGHT_SERVER__LISTEN_PORT", "x1")

    with pytest.raises(ConfigError) as caught:
        read_config([path])

    assert caught.value.file == "env GOODDATA_FLIGHT_SERVER__LISTEN_PORT"
    assert caught.value.value == "x1"


def test_server_that_is_not_a_table_is_refused(write_toml: WriteToml) -> None:
    path = write_toml("server = 5\n")

    with pytest.raises(ConfigError, match="must be a table") as caught:
        read_config([path])

    assert str(path) in str(caught.value)
