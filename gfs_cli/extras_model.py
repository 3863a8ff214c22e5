"""The values `gfs add-verifier` works with: the repo it changes, each staged file and how it was classified."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gfs_runtime.errors.exceptions import GfsError


class ExtraError(GfsError):
    """An extra cannot be added; nothing was written."""


class NotAGeneratedRepoError(ExtraError):
    """The command ran outside a repository made by `gfs new` (no `.gfs/answers.json` at or above it)."""


class UnknownExtraError(ExtraError):
    """No extra of the kind asked for exists."""


class ExtraConflictError(ExtraError):
    """Files the extra writes were changed by the user; they are kept unless `--force` is given."""


class EditConflictError(Exception):
    """An edit finds the user's own value where it would write one; carries the reason shown to the user."""


class FileAction(enum.StrEnum):
    """What applying the extra does to one file."""

    CREATE = "create"
    """The file does not exist yet: it is written."""
    UPDATE = "update"
    """The file exists and an edit is merged into it, keeping the rest byte for byte."""
    IDENTICAL = "identical"
    """The file already holds what the extra would write: left alone."""
    CONFLICT = "conflict"
    """The file holds the user's own content where the extra writes: refused unless forced (then backed up)."""
    SKIP = "skip"
    """The file the extra would edit is not in this repo: left out, with the reason."""


@dataclass(frozen=True)
class GeneratedRepo:
    """A repository made by `gfs new`, with the answers recorded in `.gfs/answers.json`."""

    root: Path
    record: Mapping[str, Any]

    @property
    def package(self) -> str:
        """The service's Python package name."""
        return str(self.record["answers"]["package_name"])

    @property
    def slug(self) -> str:
        """The service's name (its directory name when generated)."""
        return str(self.record["answers"]["project_slug"])


@dataclass(frozen=True)
class FileEdit:
    """A change merged into an existing file: `change(text, force)` returns the new text.

    Without `force` it raises EditConflictError where the user's own value stands in the way.
    """

    path: str
    change: Callable[[str, bool], str]
    summary: str = ""


@dataclass(frozen=True)
class Extra:
    """An extra: a template of new files, edits to existing ones, and what to tell the user afterwards."""

    kind: str
    template: str
    summary: str
    edits: Callable[[GeneratedRepo], Sequence[FileEdit]]
    next_steps: Callable[[GeneratedRepo], Sequence[str]] = lambda repo: ()


@dataclass(frozen=True)
class StagedFile:
    """One file of a staged change: its action, the bytes there now and the bytes the extra would write."""

    path: str
    action: FileAction
    old: bytes | None
    new: bytes | None
    note: str = ""

    @property
    def writes(self) -> bool:
        """True when applying (with `--force` for a conflict) writes this file."""
        return self.action in (FileAction.CREATE, FileAction.UPDATE, FileAction.CONFLICT)


@dataclass(frozen=True)
class ExtraPlan:
    """The whole staged change for one extra in one repo, held in memory until it is applied."""

    extra: Extra
    repo: GeneratedRepo
    files: tuple[StagedFile, ...] = field(default_factory=tuple)

    @property
    def conflicts(self) -> tuple[StagedFile, ...]:
        """Files the user changed where the extra writes."""
        return tuple(file for file in self.files if file.action is FileAction.CONFLICT)

    @property
    def is_present(self) -> bool:
        """True when applying would change nothing: the extra is already there."""
        return not any(file.writes for file in self.files)
