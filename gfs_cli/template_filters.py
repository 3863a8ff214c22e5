"""Jinja filters the service template uses so that free text lands safely in TOML, YAML, Python and Markdown."""

from __future__ import annotations

import json
import re
from typing import Final

from jinja2 import Environment
from jinja2.ext import Extension

_MARKDOWN_SPECIAL: Final = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def toml_string(value: object) -> str:
    """Render a value as a TOML basic string, quotes included (JSON escapes are valid TOML escapes)."""
    # json leaves DEL unescaped, but TOML and YAML forbid it raw in a quoted string
    return json.dumps(str(value), ensure_ascii=True).replace("\x7f", "\\u007f")


def yaml_string(value: object) -> str:
    """Render a value as a YAML double-quoted scalar."""
    return toml_string(value)


def python_string(value: object) -> str:
    """Render a value as a Python string literal."""
    return repr(str(value))


def markdown_text(value: object) -> str:
    """Escape Markdown and HTML markup so the value shows as the plain text it is."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(value))


class EscapingExtension(Extension):
    """Registers the escaping filters: `toml_string`, `yaml_string`, `python_string`, `markdown_text`."""

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.filters["toml_string"] = toml_string
        environment.filters["yaml_string"] = yaml_string
        environment.filters["python_string"] = python_string
        environment.filters["markdown_text"] = markdown_text
