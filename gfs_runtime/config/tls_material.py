"""Reads TLS certificates and keys given inline as PEM or as ``@/path/to/file``, never echoing their content."""

from __future__ import annotations

from typing import Final

from gfs_runtime.config.settings_table import SettingsTable

_FILE_MARKER: Final = "@"
_PEM_MARKER: Final = b"-----BEGIN "
_PEM_EXPECTED: Final = "PEM text or @/path/to/file.pem"


def read_tls_material(table: SettingsTable, key: str, *, required_by: str) -> bytes:
    """Return the PEM bytes for ``key``; fail when missing, unreadable or not PEM."""
    value = table.raw(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise table.error(key, f"is required when {required_by} is true", expected=_PEM_EXPECTED)
    if not isinstance(value, str):
        raise table.error(key, "must be a string", expected=_PEM_EXPECTED)
    text = value.strip()
    if text.startswith(_FILE_MARKER):
        material = _read_file(table, key, text[len(_FILE_MARKER) :].strip())
        origin = f"file {text[len(_FILE_MARKER) :].strip()}"
    else:
        try:
            material = text.encode("ascii")
        except UnicodeEncodeError:
            raise table.error(key, "inline PEM contains non-ASCII characters", expected=_PEM_EXPECTED) from None
        origin = "the inline value"
    if _PEM_MARKER not in material:
        raise table.error(key, f"{origin} is not PEM (no '-----BEGIN' line)", expected=_PEM_EXPECTED)
    return material


def _read_file(table: SettingsTable, key: str, path: str) -> bytes:
    if not path:
        raise table.error(key, "names no file after '@'", expected=_PEM_EXPECTED)
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        problem = f"file {path} does not exist"
    except IsADirectoryError:
        problem = f"{path} is a directory, not a PEM file"
    except PermissionError:
        problem = f"file {path} is not readable (permission denied)"
    except OSError as exc:
        problem = f"cannot read file {path}: {exc.strerror or type(exc).__name__}"
    raise table.error(key, problem, expected=_PEM_EXPECTED)
