"""Renders the service template into a new repository: staged in a temporary directory, moved in when complete."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from cookiecutter.exceptions import CookiecutterException
from cookiecutter.generate import generate_context, generate_files
from jinja2 import TemplateError as JinjaTemplateError

from gfs_cli.errors import InvalidAnswerError, TargetNotEmptyError, TemplateError
from gfs_cli.naming import (
    DEFAULT_DESCRIPTION,
    package_for_slug,
    validate_description,
    validate_package,
    validate_slug,
)

SERVICE_TEMPLATE: Final = "service"
ANSWERS_FILE: Final = Path(".gfs", "answers.json")
_DISTRIBUTION: Final = "gfs-flight"
_MAX_CLASHES_SHOWN: Final = 10


@dataclass(frozen=True)
class ServiceAnswers:
    """The validated answers a service repository is rendered from."""

    name: str
    package: str
    description: str

    @classmethod
    def create(cls, name: str, package: str | None = None, description: str | None = None) -> ServiceAnswers:
        """Validate the answers, deriving the package from the name and using the default description."""
        slug = validate_slug(name)
        return cls(
            name=slug,
            package=validate_package(package if package is not None else package_for_slug(slug)),
            description=validate_description(description if description is not None else DEFAULT_DESCRIPTION),
        )

    def as_context(self) -> dict[str, str]:
        """The answers under the names the template uses."""
        return {"project_slug": self.name, "package_name": self.package, "description": self.description}


def find_template(name: str = SERVICE_TEMPLATE) -> Path:
    """Locate a template directory: inside the installed package first, then in this source tree."""
    candidates: list[Path] = []
    packaged = importlib.resources.files("gfs_cli").joinpath("template", name)
    if isinstance(packaged, Path):
        candidates.append(packaged)
    candidates.append(Path(__file__).resolve().parent.parent / "template" / name)
    for candidate in candidates:
        if (candidate / "cookiecutter.json").is_file():
            return candidate
    raise TemplateError(f"the {name!r} template is not installed (looked in {', '.join(map(str, candidates))})")


def template_version(template_dir: Path) -> str:
    """The version recorded in a template's cookiecutter.json."""
    return str(_read_template_defaults(template_dir)["_gfs_template_version"])


def render_service(answers: ServiceAnswers, output_dir: Path | str) -> Path:
    """Render the service template as `<output_dir>/<name>` and return that path; on any failure leave nothing."""
    template_dir = find_template()
    parent = Path(output_dir).absolute()
    target = parent / answers.name
    _refuse_unsafe_target(parent, target)
    created = _create_missing_dirs(parent)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{answers.name}.gfs-new-", dir=parent))
        try:
            rendered = _render_into(template_dir, answers, staging)
            _check_inside(rendered)
            _refuse_clashes(rendered, target)
            rendered.rename(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        _remove_created(created)
        raise
    return target


def _refuse_unsafe_target(parent: Path, target: Path) -> None:
    if target.is_symlink():
        raise InvalidAnswerError(f"{target} is a symbolic link; refusing to write through it")
    if parent.exists() and not parent.is_dir():
        raise InvalidAnswerError(f"the output directory {parent} is not a directory")
    if target.resolve().parent != parent.resolve():
        raise InvalidAnswerError(f"{target} resolves outside {parent}")
    if target.exists() and not target.is_dir():
        raise TargetNotEmptyError(f"{target} exists and is not a directory")


def _create_missing_dirs(parent: Path) -> list[Path]:
    """Create the output directory and missing parents; return the ones created, outermost first."""
    missing = [path for path in (parent, *parent.parents) if not path.exists()]
    missing.reverse()
    parent.mkdir(parents=True, exist_ok=True)
    return missing


def _remove_created(created: list[Path]) -> None:
    for path in reversed(created):
        try:
            path.rmdir()
        except OSError:
            return


def render_template(template_dir: Path, extra_context: dict[str, Any], staging: Path, *, what: str) -> Path:
    """Render a cookiecutter template into `staging` (hooks off) and return the rendered directory."""
    context = generate_context(str(template_dir / "cookiecutter.json"), extra_context=extra_context)
    context["cookiecutter"]["_gfs_version"] = installed_gfs_version()
    try:
        return Path(generate_files(str(template_dir), context, output_dir=str(staging), accept_hooks=False))
    except (CookiecutterException, JinjaTemplateError) as exc:
        raise TemplateError(f"the {what} template failed to render: {exc}") from exc


def _render_into(template_dir: Path, answers: ServiceAnswers, staging: Path) -> Path:
    """Render into the staging directory and write `.gfs/answers.json`; return the rendered repo."""
    rendered = render_template(template_dir, answers.as_context(), staging, what="service")
    _write_answers(rendered, template_dir, answers)
    return rendered


def _write_answers(repo: Path, template_dir: Path, answers: ServiceAnswers) -> None:
    record = {
        "template": template_dir.name,
        "template_version": template_version(template_dir),
        "gfs_version": installed_gfs_version(),
        "answers": answers.as_context(),
    }
    path = repo / ANSWERS_FILE
    path.parent.mkdir()
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _check_inside(repo: Path) -> None:
    """Every rendered path must be a regular file or directory that resolves inside the repo."""
    root = repo.resolve()
    for dirpath, dirnames, filenames in os.walk(repo):
        for name in (*dirnames, *filenames):
            path = Path(dirpath, name)
            if path.is_symlink() or not path.resolve().is_relative_to(root):
                raise TemplateError(f"the template produced {path.relative_to(repo)}, which points outside the repo")


def _refuse_clashes(rendered: Path, target: Path) -> None:
    if not target.exists() or not any(target.iterdir()):
        return
    produced = {path.relative_to(rendered) for path in rendered.rglob("*") if not path.is_dir()}
    clashes = sorted(str(path) for path in produced if (target / path).exists())
    if not clashes:
        clashes = sorted(path.name for path in target.iterdir())
    shown = ", ".join(clashes[:_MAX_CLASHES_SHOWN])
    more = f" and {len(clashes) - _MAX_CLASHES_SHOWN} more" if len(clashes) > _MAX_CLASHES_SHOWN else ""
    raise TargetNotEmptyError(f"{target} is not empty; it already holds: {shown}{more}")


def _read_template_defaults(template_dir: Path) -> dict[str, Any]:
    with (template_dir / "cookiecutter.json").open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def installed_gfs_version() -> str:
    try:
        return importlib.metadata.version(_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return "0.0.0"
