"""The template renders over the matrix: complete, no Jinja left, every data file parses, text lands verbatim."""

from __future__ import annotations

import json
import re
import tomllib

import pytest
import yaml
from template_matrix import HOSTILE_DESCRIPTION, MATRIX, Render

from gfs_cli.scaffold import ANSWERS_FILE
from gfs_cli.template_filters import markdown_text

pytestmark = pytest.mark.timeout(60)

RENDER_TARGET_SEC = 1.0
JINJA_LEFTOVER = re.compile(r"\{\{|\{%|\{#|cookiecutter")
EXPECTED_FILES = [
    ".dockerignore",
    ".gfs/answers.json",
    ".gitignore",
    "Dockerfile",
    "Makefile",
    "README.md",
    "config/server.toml",
    "deploy/k8s/config/production.toml",
    "deploy/k8s/deployment.yaml",
    "deploy/k8s/kustomization.yaml",
    "deploy/k8s/pdb.yaml",
    "deploy/k8s/service.yaml",
    "pyproject.toml",
    "tests/conftest.py",
    "tests/test_service.py",
    "tests/test_settings.py",
]


@pytest.mark.parametrize("label", sorted(MATRIX))
def test_render_has_every_file(renders: dict[str, Render], label: str) -> None:
    render = renders[label]
    package = render.answers.package
    files = {str(path.relative_to(render.repo)) for path in render.files()}

    assert set(EXPECTED_FILES) <= files
    assert {f"src/{package}/service.py", f"src/{package}/data/cities.csv", f"config/{package}.toml"} <= files


@pytest.mark.parametrize("label", sorted(MATRIX))
def test_render_is_within_the_time_target(renders: dict[str, Render], label: str) -> None:
    assert renders[label].seconds < RENDER_TARGET_SEC


@pytest.mark.parametrize("label", [label for label in sorted(MATRIX) if label != "hostile-text"])
def test_no_template_syntax_is_left_in_paths_or_contents(renders: dict[str, Render], label: str) -> None:
    render = renders[label]
    for path in render.files():
        relative = str(path.relative_to(render.repo))
        assert not JINJA_LEFTOVER.search(relative), relative
        assert not JINJA_LEFTOVER.search(path.read_text(encoding="utf-8")), relative


def test_hostile_description_is_never_evaluated_as_a_template(renders: dict[str, Render]) -> None:
    render = renders["hostile-text"]
    texts = [path.read_text(encoding="utf-8") for path in render.files()]

    pyproject = tomllib.loads((render.repo / "pyproject.toml").read_text(encoding="utf-8"))

    assert pyproject["project"]["description"] == HOSTILE_DESCRIPTION
    assert not any("49" in text for text in texts)  # {{ 7*7 }} was not computed anywhere
    assert markdown_text(HOSTILE_DESCRIPTION) in (render.repo / "README.md").read_text(encoding="utf-8")


def test_hostile_description_reads_back_from_answers_file(renders: dict[str, Render]) -> None:
    render = renders["hostile-text"]

    record = json.loads((render.repo / ANSWERS_FILE).read_text(encoding="utf-8"))

    assert record["answers"]["description"] == HOSTILE_DESCRIPTION


@pytest.mark.parametrize("label", sorted(MATRIX))
def test_every_toml_file_parses(renders: dict[str, Render], label: str) -> None:
    tomls = [path for path in renders[label].files() if path.suffix == ".toml"]

    assert len(tomls) == 4
    for path in tomls:
        tomllib.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("label", sorted(MATRIX))
def test_every_yaml_file_parses_with_names_as_strings(renders: dict[str, Render], label: str) -> None:
    render = renders[label]
    k8s = render.repo / "deploy" / "k8s"

    deployment = yaml.safe_load((k8s / "deployment.yaml").read_text(encoding="utf-8"))
    for name in ("service.yaml", "pdb.yaml", "kustomization.yaml"):
        assert yaml.safe_load((k8s / name).read_text(encoding="utf-8"))

    assert deployment["metadata"]["name"] == render.answers.name  # "no" stays a string, not false


@pytest.mark.parametrize("label", sorted(MATRIX))
def test_pyproject_points_gfs_run_at_the_rendered_package(renders: dict[str, Render], label: str) -> None:
    render = renders[label]

    pyproject = tomllib.loads((render.repo / "pyproject.toml").read_text(encoding="utf-8"))

    assert pyproject["project"]["name"] == render.answers.name
    assert pyproject["project"]["dependencies"][0].startswith("gfs-flight>=")
    assert pyproject["tool"]["gfs"]["methods-provider"] == f"{render.answers.package}.service"
    for config in pyproject["tool"]["gfs"]["config"]:
        assert (render.repo / config).is_file()


def test_service_settings_table_is_named_after_the_package(renders: dict[str, Render]) -> None:
    render = renders["longest"]
    package = render.answers.package

    settings = tomllib.loads((render.repo / "config" / f"{package}.toml").read_text(encoding="utf-8"))

    assert settings[package]["row_limit"] >= 1


def test_answers_file_records_the_answers(renders: dict[str, Render]) -> None:
    render = renders["yaml-words"]

    record = json.loads((render.repo / ANSWERS_FILE).read_text(encoding="utf-8"))

    assert record["answers"] == {
        "project_slug": "no",
        "package_name": "null",
        "description": render.answers.description,
    }
    assert record["template"] == "service"
    assert record["template_version"]
