"""The answer sets the template is rendered with: ordinary, shortest, longest, YAML-hostile and hostile text."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

from gfs_cli.scaffold import ServiceAnswers

HOSTILE_DESCRIPTION: Final = (
    "Rows \"quoted\" 'single' \\ back {{ 7*7 }} {% if true %}if{% endif %} ${HOME} $(id) `id` # hash <b> — ünïcode"
)
LONGEST_SLUG: Final = ("sales-" * 11)[:62] + "x"
LONGEST_PACKAGE: Final = "p" * 63

MATRIX: Final = {
    "default": ServiceAnswers.create("my-service"),
    "shortest": ServiceAnswers.create("a"),
    "longest": ServiceAnswers.create(LONGEST_SLUG, package=LONGEST_PACKAGE),
    "yaml-words": ServiceAnswers.create("no", package="null"),
    "hostile-text": ServiceAnswers.create("quoted", package="quoted_rows", description=HOSTILE_DESCRIPTION),
}


@dataclass(frozen=True)
class Render:
    """One rendered repo and how long rendering took."""

    label: str
    answers: ServiceAnswers
    repo: Path
    seconds: float

    def files(self) -> list[Path]:
        """Every file of the repo."""
        return sorted(path for path in self.repo.rglob("*") if path.is_file())
