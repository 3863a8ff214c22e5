"""Checks the names and texts a user gives `gfs new` before anything touches the file system."""

from __future__ import annotations

import keyword
import re
import sys
import unicodedata
from typing import Final

from gfs_cli.errors import InvalidAnswerError

SLUG_PATTERN: Final = re.compile(r"[a-z][a-z0-9-]{0,62}")
PACKAGE_PATTERN: Final = re.compile(r"[a-z_][a-z0-9_]{0,62}")
MAX_DESCRIPTION_CHARS: Final = 200
DEFAULT_DESCRIPTION: Final = "An Arrow Flight data service."

_NOT_PRINTABLE: Final = frozenset({"Zl", "Zp"})
# packages a service imports (or pytest imports from its repo): a service package of that name would shadow them
_RESERVED_PACKAGES: Final = frozenset(
    {"gfs_runtime", "gfs_cli", "pyarrow", "dynaconf", "structlog", "orjson", "pytest", "test", "tests", "src", "config"}
)


def validate_slug(name: str) -> str:
    """Return the repository name when it is a lower-case slug; refuse paths, `..` and anything else."""
    if not name:
        raise InvalidAnswerError("the service name is empty")
    if "/" in name or "\\" in name or name.startswith(".") or ".." in name:
        raise InvalidAnswerError(f"the service name {name!r} is a path; give a plain name such as 'sales-data'")
    if not SLUG_PATTERN.fullmatch(name):
        raise InvalidAnswerError(
            f"the service name {name!r} is not a slug; use 1-63 of a-z, 0-9 and '-', starting with a letter"
        )
    if name.endswith("-") or "--" in name:
        raise InvalidAnswerError(f"the service name {name!r} must not end with '-' or contain '--'")
    return name


def validate_package(package: str) -> str:
    """Return the Python package name when it is a lower-case identifier, not a keyword and not a taken name."""
    if not package:
        raise InvalidAnswerError("the package name is empty")
    if not PACKAGE_PATTERN.fullmatch(package) or not package.isidentifier():
        raise InvalidAnswerError(
            f"the package name {package!r} is not a Python identifier; use a-z, 0-9 and '_', starting with a letter"
        )
    if keyword.iskeyword(package) or keyword.issoftkeyword(package):
        raise InvalidAnswerError(f"the package name {package!r} is a Python keyword")
    if package in _RESERVED_PACKAGES or package in sys.stdlib_module_names or package.startswith("__"):
        raise InvalidAnswerError(f"the package name {package!r} would shadow another package; choose another")
    return package


def package_for_slug(slug: str) -> str:
    """Derive the default package name from a valid slug (`sales-data` -> `sales_data`)."""
    return slug.replace("-", "_")


def validate_description(text: str) -> str:
    """Return the description stripped; refuse control characters, several lines and very long texts."""
    stripped = text.strip()
    if not stripped:
        raise InvalidAnswerError("the description is empty")
    if len(stripped) > MAX_DESCRIPTION_CHARS:
        raise InvalidAnswerError(f"the description is longer than {MAX_DESCRIPTION_CHARS} characters")
    if any(unicodedata.category(char) in _NOT_PRINTABLE or unicodedata.category(char)[0] == "C" for char in stripped):
        raise InvalidAnswerError("the description must be one line of printable text")
    return stripped
