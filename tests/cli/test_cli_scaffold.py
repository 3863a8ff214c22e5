"""`render_service` writes a complete repo or nothing: staged in a temporary directory, moved in at the end."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gfs_cli import scaffold
from gfs_cli.errors import InvalidAnswerError, TargetNotEmptyError, TemplateError
from gfs_cli.scaffold import ANSWERS_FILE, ServiceAnswers, find_template, render_service, template_version

TreeSnapshot = Callable[[], set[str]]

pytestmark = pytest.mark.timeout(20)


def test_render_creates_the_repo_named_after_the_service(tmp_path: Path) -> None:
    repo = render_service(ServiceAnswers.create("sales-data"), tmp_path)

    assert repo == tmp_path / "sales-data"
    assert (repo / "src" / "sales_data" / "service.py").is_file()
    assert tomllib.loads((repo / "pyproject.toml").read_text())["tool"]["gfs"]["methods-provider"] == (
        "sales_data.service"
    )


def test_render_leaves_no_staging_directory_behind(tmp_path: Path, tree: TreeSnapshot) -> None:
    render_service(ServiceAnswers.create("svc"), tmp_path)

    assert {path.split("/")[0] for path in tree()} == {"svc"}


def test_answers_file_records_template_version_and_answers(tmp_path: Path) -> None:
    answers = ServiceAnswers.create("sales-data", package="sales", description='Sales "data"')

    repo = render_service(answers, tmp_path)

    record = json.loads((repo / ANSWERS_FILE).read_text())
    assert record["template"] == "service"
    assert record["template_version"] == template_version(find_template())
    assert record["answers"] == {"project_slug": "sales-data", "package_name": "sales", "description": 'Sales "data"'}


def test_missing_output_directories_are_created(tmp_path: Path) -> None:
    repo = render_service(ServiceAnswers.create("svc"), tmp_path / "a" / "b")

    assert repo.is_dir()


def test_existing_empty_target_directory_is_filled(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()

    repo = render_service(ServiceAnswers.create("svc"), tmp_path)

    assert (repo / "pyproject.toml").is_file()


def test_non_empty_target_is_refused_with_the_clashing_paths(tmp_path: Path, tree: TreeSnapshot) -> None:
    target = tmp_path / "svc"
    (target / "config").mkdir(parents=True)
    (target / "config" / "server.toml").write_text("mine")
    (target / "notes.txt").write_text("mine too")
    before = tree()

    with pytest.raises(TargetNotEmptyError, match=r"config/server\.toml") as caught:
        render_service(ServiceAnswers.create("svc"), tmp_path)

    assert "notes.txt" not in str(caught.value)
    assert tree() == before
    assert (target / "config" / "server.toml").read_text() == "mine"


def test_non_empty_target_without_clashes_lists_what_is_there(tmp_path: Path, tree: TreeSnapshot) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "notes.txt").write_text("mine")
    before = tree()

    with pytest.raises(TargetNotEmptyError, match=r"notes\.txt"):
        render_service(ServiceAnswers.create("svc"), tmp_path)

    assert tree() == before


def test_target_that_is_a_file_is_refused(tmp_path: Path, tree: TreeSnapshot) -> None:
    (tmp_path / "svc").write_text("a file")
    before = tree()

    with pytest.raises(TargetNotEmptyError):
        render_service(ServiceAnswers.create("svc"), tmp_path)

    assert tree() == before


def test_target_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "svc").symlink_to(elsewhere)

    with pytest.raises(InvalidAnswerError, match="symbolic link"):
        render_service(ServiceAnswers.create("svc"), tmp_path / "out")

    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("failure", [RuntimeError("disk full"), KeyboardInterrupt()])
def test_failure_while_rendering_leaves_nothing(
    tmp_path: Path, tree: TreeSnapshot, monkeypatch: pytest.MonkeyPatch, failure: BaseException
) -> None:
    real_generate_files = scaffold.generate_files

    def generate_then_fail(*args: Any, **kwargs: Any) -> str:
        real_generate_files(*args, **kwargs)  # the repo is fully written in the staging directory
        raise failure

    monkeypatch.setattr(scaffold, "generate_files", generate_then_fail)
    (tmp_path / "existing").mkdir()
    before = tree()

    with pytest.raises(type(failure)):
        render_service(ServiceAnswers.create("svc"), tmp_path / "new-parent" / "deeper")

    assert tree() == before


def test_template_error_becomes_a_template_error_and_leaves_nothing(
    tmp_path: Path, tree: TreeSnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "templates" / "service"
    (broken / "{{cookiecutter.project_slug}}").mkdir(parents=True)
    (broken / "cookiecutter.json").write_text(json.dumps({"project_slug": "x", "_gfs_template_version": "0"}))
    (broken / "{{cookiecutter.project_slug}}" / "bad.txt").write_text("{{ cookiecutter.no_such_answer }}")
    monkeypatch.setattr(scaffold, "find_template", lambda name="service": broken)
    (tmp_path / "out").mkdir()
    before = tree()

    with pytest.raises(TemplateError, match="failed to render"):
        render_service(ServiceAnswers.create("svc"), tmp_path / "out")

    assert tree() == before


def test_rendered_symlink_out_of_the_repo_is_refused(
    tmp_path: Path, tree: TreeSnapshot, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_generate_files = scaffold.generate_files

    def generate_with_symlink(*args: Any, **kwargs: Any) -> str:
        repo: str = real_generate_files(*args, **kwargs)
        Path(repo, "config", "escape").symlink_to(tmp_path)
        return repo

    monkeypatch.setattr(scaffold, "generate_files", generate_with_symlink)
    before = tree()

    with pytest.raises(TemplateError, match="outside the repo"):
        render_service(ServiceAnswers.create("svc"), tmp_path)

    assert tree() == before


def test_template_is_found_in_the_source_tree() -> None:
    template = find_template()

    assert (template / "cookiecutter.json").is_file()
    assert template_version(template)


def test_unknown_template_is_a_template_error() -> None:
    with pytest.raises(TemplateError, match="not installed"):
        find_template("no-such-template")
