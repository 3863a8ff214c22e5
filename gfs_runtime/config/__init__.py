"""Configuration: Dynaconf settings from TOML files, env vars and overrides, parsed into a frozen ServerConfig."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from importlib import resources
from typing import Any

from gfs_runtime.config.loading import Dynaconf, load_settings, load_settings_with_sources
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
    "OtelConfig",
    "OtelExporterType",
    "ServerConfig",
    "load_settings",
    "parse_server_config",
    "read_config",
    "sample_config_text",
]

SAMPLE_CONFIG_NAME = "sample-config.toml"


def read_config(
    config_files: Sequence[str | os.PathLike[str]] = (), overrides: Mapping[str, Any] | None = None
) -> tuple[Dynaconf, ServerConfig]:
    """Load the settings (files < GOODDATA_FLIGHT_ env < GFS_ env < overrides) and parse ``[server]``."""
    settings, sources = load_settings_with_sources(config_files, overrides)
    return settings, parse_server_config(settings, sources=sources)


def sample_config_text() -> str:
    """The shipped sample config documenting every setting, its default and its env var."""
    return resources.files("gfs_runtime.config").joinpath(SAMPLE_CONFIG_NAME).read_text(encoding="utf-8")
