"""The escaping filters turn any text into a literal that TOML, YAML and Python read back unchanged."""

from __future__ import annotations

import ast
import tomllib

import pytest
import yaml

from gfs_cli.template_filters import markdown_text, python_string, toml_string, yaml_string

pytestmark = pytest.mark.timeout(10)

NASTY = [
    "plain",
    'double "quotes"',
    "single 'quotes'",
    "back\\slash",
    "trailing backslash \\",
    "new\nline",
    "tab\t",
    "nul\x00 and del\x7f",
    "unicode — ünïcode ✓",
    '"""triple"""',
    "{{ cookiecutter.x }} {% if %}",
    "${HOME} $(rm -rf /)",
    "# not a comment",
    "key = 'injected'\n[server]\nlisten_port = 1",
]


@pytest.mark.parametrize("text", NASTY)
def test_toml_string_reads_back_unchanged(text: str) -> None:
    assert tomllib.loads(f"value = {toml_string(text)}")["value"] == text


@pytest.mark.parametrize("text", NASTY)
def test_yaml_string_reads_back_unchanged(text: str) -> None:
    assert yaml.safe_load(f"value: {yaml_string(text)}")["value"] == text


@pytest.mark.parametrize("text", NASTY)
def test_python_string_reads_back_unchanged(text: str) -> None:
    assert ast.literal_eval(python_string(text)) == text


def test_yaml_string_keeps_words_yaml_would_read_as_booleans_as_strings() -> None:
    assert yaml.safe_load(f"value: {yaml_string('no')}")["value"] == "no"


def test_markdown_text_escapes_markup() -> None:
    assert markdown_text("<b>*bold*</b> [link](x)") == r"\<b\>\*bold\*\</b\> \[link\]\(x\)"
