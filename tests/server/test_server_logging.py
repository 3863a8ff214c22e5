"""configure_logging: JSON lines on stderr by default, a console view for development, or a logging ini."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import structlog

from gfs_runtime.errors.exceptions import ConfigError
from gfs_runtime.telemetry.event_logger import get_logger
from gfs_runtime.telemetry.logging import configure_logging


def _log_lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in err.splitlines() if line.startswith("{")]


def test_default_logging_writes_json_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(dev_log=False, logging_config=None)
    structlog.get_logger("gfs_test").info("thing_happened", count=3, tags={"a"})
    (line,) = _log_lines(capsys.readouterr().err)
    assert line["event"] == "thing_happened"
    assert (line["count"], line["tags"], line["level"], line["logger"]) == (3, ["a"], "info", "gfs_test")
    assert "timestamp" in line


def test_event_key_can_be_renamed(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(dev_log=False, logging_config=None, event_key="message")
    structlog.get_logger("gfs_test").info("thing_happened")
    (line,) = _log_lines(capsys.readouterr().err)
    assert line["message"] == "thing_happened"
    assert "event" not in line


def test_exceptions_are_rendered_into_the_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(dev_log=False, logging_config=None)
    try:
        raise ValueError("broken thing")
    except ValueError:
        structlog.get_logger("gfs_test").error("thing_failed", exc_info=True)
    (line,) = _log_lines(capsys.readouterr().err)
    assert "ValueError: broken thing" in line["exception"]


def test_debug_events_are_filtered_out_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(dev_log=False, logging_config=None)
    structlog.get_logger("gfs_test").debug("detail_noted")
    assert _log_lines(capsys.readouterr().err) == []


def test_configuring_twice_adds_no_second_handler(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(dev_log=False, logging_config=None)
    configure_logging(dev_log=False, logging_config=None)
    structlog.get_logger("gfs_test").info("once_logged")
    assert len(_log_lines(capsys.readouterr().err)) == 1


def test_dev_log_renders_for_people_not_machines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(dev_log=True, logging_config=None)
    structlog.get_logger("gfs_test").info("thing_happened", count=3)
    err = capsys.readouterr().err
    assert "thing_happened" in err
    assert "count" in err
    assert _log_lines(err) == []


def test_logging_ini_decides_where_logs_go(tmp_path: Path) -> None:
    log_file = tmp_path / "service.log"
    ini = tmp_path / "logging.ini"
    ini.write_text(
        f"""
[loggers]
keys = root

[handlers]
keys = file

[formatters]
keys = plain

[logger_root]
level = INFO
handlers = file

[handler_file]
class = FileHandler
formatter = plain
args = ({str(log_file)!r},)

[formatter_plain]
format = %(message)s
"""
    )
    configure_logging(dev_log=False, logging_config=str(ini))
    structlog.get_logger("gfs_test").info("written_to_file")
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert json.loads(log_file.read_text())["event"] == "written_to_file"
    for handler in logging.getLogger().handlers:
        handler.close()


def test_missing_logging_ini_is_a_config_error_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.ini"
    with pytest.raises(ConfigError, match=r"nope\.ini"):
        configure_logging(dev_log=False, logging_config=str(missing))


def test_broken_logging_ini_is_a_config_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ini"
    broken.write_text("[loggers]\nkeys = root\n")
    with pytest.raises(ConfigError, match="logging config is not valid"):
        configure_logging(dev_log=False, logging_config=str(broken))


def test_runtime_events_are_json_lines_with_their_data(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(dev_log=False, logging_config=None)
    get_logger("gfs_test.runtime").warning("queue_filled", size=3, token="s3cret")
    (line,) = _log_lines(capsys.readouterr().err)
    assert (line["event"], line["size"], line["level"]) == ("queue_filled", 3, "warning")
    assert line["logger"] == "gfs_test.runtime"
    assert line["token"] == "<redacted>"


def test_plain_stdlib_records_get_the_same_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(dev_log=False, logging_config=None)
    logging.getLogger("gfs_test.plain").warning("disk %s", "full")
    (line,) = _log_lines(capsys.readouterr().err)
    assert (line["event"], line["level"], line["logger"]) == ("disk full", "warning", "gfs_test.plain")
    assert "timestamp" in line
