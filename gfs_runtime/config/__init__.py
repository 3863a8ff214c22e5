"""Configuration: settings from TOML files, env vars and overrides, parsed into a frozen ServerConfig.

``Dynaconf`` is imported on first use only (``gfs_runtime.config.Dynaconf`` still resolves to it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from gfs_runtime.config.dynaconf_settings import dynaconf_class
from gfs_runtime.config.loading import LoadedSettings, load_merged_settings, load_settings
from gfs_runtime.config.server_config import (
    KNOWN_SERVER_KEYS,
    AuthenticationMethod,
    OtelConfig,
    OtelExporterType,
    ServerConfig,
    parse_server_config,
)

__all__ = [
    "KNOWN_SERVER_KEYS",
    "AuthenticationMethod",
    "Dynaconf",
    "LoadedSettings",
    "OtelConfig",
    "OtelExporterType",
    "ServerConfig",
    "load_merged_settings",
    "load_settings",
    "parse_server_config",
    "read_config",
    "sample_config_text",
]

if TYPE_CHECKING:
    from dynaconf import Dynaconf

SAMPLE_CONFIG_NAME = "sample-config.toml"


def read_config(
    config_files: Sequence[str | os.PathLike[str]] = (), overrides: Mapping[str, Any] | None = None
) -> tuple[LoadedSettings, ServerConfig]:
    """Load the settings (files < GOODDATA_FLIGHT_ env < GFS_ env < overrides) and parse ``[server]``.

    The settings' Dynaconf is built only when asked for (`LoadedSettings.dynaconf`), unless the values need it.
    """
    settings = load_merged_settings(config_files, overrides)
    return settings, parse_server_config(settings.view(), sources=settings.sources)


def sample_config_text() -> str:
    """The shipped sample config documenting every setting, its default and its env var."""
    from importlib import resources  # noqa: PLC0415  # importlib.resources pulls tempfile, shutil, pathlib

    return resources.files("gfs_runtime.config").joinpath(SAMPLE_CONFIG_NAME).read_text(encoding="utf-8")


if not TYPE_CHECKING:

    def __getattr__(name: str) -> Any:
        """``Dynaconf`` is imported only when asked for (PEP 562)."""
        if name == "Dynaconf":
            return dynaconf_class()
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
