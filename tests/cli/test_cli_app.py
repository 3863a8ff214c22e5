"""The `gfs` command line: options, prompts and the map from outcomes to exit codes and stderr lines."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gfs_cli import app
from gfs_cli.app import exit_code_for, expand_multi_value_options, run
from gfs_cli.errors import TargetNotEmptyError
from gfs_cli.scaffold import ANSWERS_FILE, installed_gfs_version
from gfs_runtime.errors.exceptions import ConfigError

TreeSnapshot = Callable[[], set[str]]

pytestmark = pytest.mark.timeout(20)

HOSTILE_NAMES = ["../evil", "a/../../b", "..", ".", "", "a/b", "Evil", "-rf", "a\nb", "a" * 64, "x" * 300]


def test_version_prints_the_installed_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"gfs {installed_gfs_version()}"


def test_help_of_each_command_exits_zero(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("new", "run", "start", "config"):
        assert run([command, "--help"]) == 0
    assert "--methods-provider" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["start", "--no-such-option"]) == 2
    assert "No such option" in capsys.readouterr().err


def test_new_without_name_and_without_input_is_a_usage_error(tmp_path: Path, tree: TreeSnapshot) -> None:
    assert run(["new", "--no-input", "--output-dir", str(tmp_path)]) == 2
    assert tree() == set()


def test_new_creates_the_repo_and_reports_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["new", "sales-data", "--output-dir", str(tmp_path), "--no-input", "--description", "Sales rows."])

    assert code == 0
    answers = json.loads((tmp_path / "sales-data" / ANSWERS_FILE).read_text())["answers"]
    assert answers == {"project_slug": "sales-data", "package_name": "sales_data", "description": "Sales rows."}
    assert "Created" in capsys.readouterr().out


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_hostile_name_creates_nothing_and_fails_with_one_line(
    name: str, tmp_path: Path, tree: TreeSnapshot, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    before = tree()

    code = run(["new", "--no-input", "--", name])

    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("gfs: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert tree() == before


def test_absolute_path_as_name_creates_nothing_there(tmp_path: Path, tree: TreeSnapshot) -> None:
    before = tree()

    assert run(["new", str(tmp_path / "abs-evil"), "--no-input", "--output-dir", str(tmp_path)]) == 1
    assert tree() == before


@pytest.mark.parametrize("package", ["../evil", "os", "class", "a-b", "x/y"])
def test_hostile_package_creates_nothing(package: str, tmp_path: Path, tree: TreeSnapshot) -> None:
    before = tree()

    assert run(["new", "svc", "--package", package, "--no-input", "--output-dir", str(tmp_path)]) == 1
    assert tree() == before


def test_prompts_ask_again_until_the_answer_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(app, "stdin_is_interactive", lambda: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO("../bad\ngood-name\nclass\n\nServes good rows.\n"))

    assert run(["new", "--output-dir", str(tmp_path)]) == 0

    answers = json.loads((tmp_path / "good-name" / ANSWERS_FILE).read_text())["answers"]
    assert answers == {"project_slug": "good-name", "package_name": "good_name", "description": "Serves good rows."}
    out = capsys.readouterr().out
    assert "is a path" in out
    assert "keyword" in out


def test_prompts_only_ask_what_was_not_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(app, "stdin_is_interactive", lambda: True)
    monkeypatch.setattr(sys, "stdin", io.StringIO("my_pkg\n"))

    assert run(["new", "svc", "--description", "Given.", "--output-dir", str(tmp_path)]) == 0

    answers = json.loads((tmp_path / "svc" / ANSWERS_FILE).read_text())["answers"]
    assert answers["package_name"] == "my_pkg"
    assert answers["description"] == "Given."


def test_existing_non_empty_target_fails_with_the_clashing_paths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "README.md").write_text("mine")

    assert run(["new", "svc", "--no-input", "--output-dir", str(tmp_path)]) == 1
    assert "README.md" in capsys.readouterr().err
    assert (tmp_path / "svc" / "README.md").read_text() == "mine"


def test_interrupt_during_new_exits_130_and_leaves_nothing(
    tmp_path: Path, tree: TreeSnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(*_: object, **__: object) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("gfs_cli.scaffold.generate_files", interrupted)

    assert run(["new", "svc", "--no-input", "--output-dir", str(tmp_path / "out")]) == 130
    assert tree() == set()


def test_run_outside_a_service_repo_fails_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    assert run(["run"]) == 1
    err = capsys.readouterr().err
    assert "[tool.gfs]" in err
    assert err.count("\n") == 1


def test_start_with_a_missing_provider_fails_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["start", "--methods-provider", "no_such_module_for_gfs_tests"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("gfs: error: ")
    assert "no_such_module_for_gfs_tests" in err
    assert err.count("\n") == 1


def test_start_with_a_bad_config_fails_naming_file_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "tiny_provider.py").write_text(
        "import gfs_runtime.server.discovery as d\n"
        "from gfs_runtime.server.methods import FlightServerMethods\n"
        "@d.flight_server_methods\n"
        "def factory(ctx):\n"
        "    return FlightServerMethods()\n"
    )
    (tmp_path / "bad.toml").write_text("[server]\nlisten_prot = 1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))

    assert run(["start", "--methods-provider", "tiny_provider", "--config", "bad.toml"]) == 1
    err = capsys.readouterr().err
    assert "bad.toml" in err
    assert "listen_port" in err  # the suggestion for the misspelt key
    sys.modules.pop("tiny_provider", None)


def test_gfs_error_is_one_line_on_stderr_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    error = ConfigError("is out of range", file="a.toml", key="server.listen_port", value=70000)

    assert exit_code_for(error) == 1
    assert capsys.readouterr().err == f"gfs: error: {error}\n"


def test_multi_line_gfs_error_is_folded_into_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code_for(TargetNotEmptyError("first\nsecond")) == 1
    assert capsys.readouterr().err == "gfs: error: first second\n"


def test_keyboard_interrupt_exits_130(capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code_for(KeyboardInterrupt()) == 130
    assert capsys.readouterr().err == "gfs: interrupted\n"


def test_unexpected_exception_exits_1_with_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ZeroDivisionError) as caught:
        _ = 1 / 0

    code = exit_code_for(caught.value)

    assert code == 1
    err = capsys.readouterr().err
    assert "Traceback" in err
    assert "unexpected error" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["start", "--config", "a.toml", "b.toml"], ["start", "--config", "a.toml", "--config", "b.toml"]),
        (["start", "-c", "a", "b", "--dev-log"], ["start", "-c", "a", "-c", "b", "--dev-log"]),
        (["start", "--config", "a", "b", "--config-end"], ["start", "--config", "a", "--config", "b"]),
        (["start", "--config", "a", "--config", "b"], ["start", "--config", "a", "--config", "b"]),
        (["new", "svc", "--no-input"], ["new", "svc", "--no-input"]),
        (["start", "--config=a", "--dev-log"], ["start", "--config=a", "--dev-log"]),
    ],
)
def test_config_option_takes_several_files_as_the_reference_does(argv: list[str], expected: list[str]) -> None:
    assert expand_multi_value_options(argv) == expected


def test_python_dash_m_gfs_cli_runs_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gfs_cli", "--version"], capture_output=True, text=True, timeout=30, check=False
    )

    assert result.returncode == 0
    assert result.stdout.strip() == f"gfs {installed_gfs_version()}"


def test_shell_completion_script_is_offered() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gfs_cli", "--show-completion", "bash"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        # typer otherwise guesses the shell from the parent processes, which a test runner need not have
        env={
            "PATH": "/usr/bin:/bin",
            "SHELL": "/bin/bash",
            "HOME": "/nonexistent",
            "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1",
        },
    )

    assert result.returncode == 0
    assert "complete" in result.stdout
