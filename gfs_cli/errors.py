"""Errors of the `gfs` command; each is a user error (a GfsError) shown as one line, exit code 1."""

from __future__ import annotations

from gfs_runtime.errors.exceptions import GfsError


class InvalidAnswerError(GfsError):
    """A name, package or description given to `gfs new` is not acceptable."""


class TargetNotEmptyError(GfsError):
    """The directory `gfs new` would create already exists and holds files."""


class TemplateError(GfsError):
    """The service template is missing or failed to render."""


class NotAServiceRepoError(GfsError):
    """`gfs run` was called outside a repository made by `gfs new` (no `[tool.gfs]` in pyproject.toml)."""
