"""The gfs error tree: start-up and usage problems, each with one clean line of explanation."""

from __future__ import annotations

from typing import Final


class _Unset:
    """Marker for 'no value given' (None is a value a setting can have)."""

    def __repr__(self) -> str:
        return "<unset>"


UNSET: Final = _Unset()


class GfsError(Exception):
    """Base of every error gfs raises for a problem the user can fix."""


class ConfigError(GfsError):
    """A configuration problem, naming the file, key, value and what was expected."""

    def __init__(
        self,
        problem: str,
        *,
        file: str | None = None,
        key: str | None = None,
        value: object = UNSET,
        expected: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = file
        self.key = key
        self.value = value
        self.expected = expected
        super().__init__(self._render())

    def _render(self) -> str:
        where = " ".join(part for part in (self.file and f"{self.file}:", self.key and f"[{self.key}]") if part)
        text = f"{where} {self.problem}" if where else self.problem
        if self.value is not UNSET:
            text += f" (got {self.value!r})"
        if self.expected:
            text += f"; expected {self.expected}"
        return text


class MethodsDiscoveryError(GfsError):
    """The methods provider module could not give exactly one valid factory."""


class ServerStartError(GfsError):
    """The server could not start (port in use, factory failed, bad TLS material, ...)."""
