"""Renders an extra's template (template/extras/<name>/) for one repo into memory: relative path -> bytes."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Final

from gfs_cli.extras_model import GeneratedRepo
from gfs_cli.scaffold import find_template, render_template, template_version

EXTRAS_DIR: Final = "extras"
FRAGMENTS_DIR: Final = "fragments"


def extra_template_dir(template: str) -> Path:
    """The directory of the extra's template (its cookiecutter.json, files and TOML fragments)."""
    return find_template(f"{EXTRAS_DIR}/{template}")


def extra_template_version(template: str) -> str:
    """The version recorded in the extra's cookiecutter.json."""
    return template_version(extra_template_dir(template))


def read_fragment(template: str, name: str) -> str:
    """A TOML fragment the extra merges into an existing file (`fragments/<name>` of its template)."""
    return (extra_template_dir(template) / FRAGMENTS_DIR / name).read_text(encoding="utf-8")


def render_extra_files(template: str, repo: GeneratedRepo) -> dict[str, bytes]:
    """Render the extra's files with the repo's answers; nothing is written to the repo."""
    answers = {"project_slug": repo.slug, "package_name": repo.package}
    with tempfile.TemporaryDirectory(prefix="gfs-extra-") as staging:
        rendered = render_template(extra_template_dir(template), answers, Path(staging), what=repr(template))
        files = sorted(path for path in rendered.rglob("*") if path.is_file() and not path.is_symlink())
        return {path.relative_to(rendered).as_posix(): path.read_bytes() for path in files}
