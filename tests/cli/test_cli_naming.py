"""Names, packages and descriptions for `gfs new` are checked before anything is written."""

from __future__ import annotations

import pytest

from gfs_cli.errors import InvalidAnswerError
from gfs_cli.naming import package_for_slug, validate_description, validate_package, validate_slug

pytestmark = pytest.mark.timeout(10)

HOSTILE_NAMES = [
    "",
    ".",
    "..",
    "../evil",
    "a/../../b",
    "/etc/evil",
    "a/b",
    "a\\b",
    ".hidden",
    "Upper",
    "1abc",
    "-abc",
    "abc-",
    "a--b",
    "a_b",
    "a b",
    "a\nb",
    "a\x00b",
    "é",
    "a" * 64,
]


@pytest.mark.parametrize("name", ["a", "sales-data", "svc2", "a" * 63, "no", "null", "true"])
def test_slug_of_lower_case_letters_digits_and_dashes_is_accepted(name: str) -> None:
    assert validate_slug(name) == name


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_path_like_or_malformed_slug_is_refused(name: str) -> None:
    with pytest.raises(InvalidAnswerError):
        validate_slug(name)


def test_path_slug_error_says_it_is_a_path() -> None:
    with pytest.raises(InvalidAnswerError, match="is a path"):
        validate_slug("../evil")


def test_package_default_replaces_dashes_with_underscores() -> None:
    assert package_for_slug("sales-data-v2") == "sales_data_v2"


@pytest.mark.parametrize("package", ["sales_data", "a", "svc_2", "_private_ok"])
def test_valid_identifier_package_is_accepted(package: str) -> None:
    assert validate_package(package) == package


@pytest.mark.parametrize(
    "package",
    [
        "",
        "class",
        "import",
        "match",
        "1abc",
        "a-b",
        "a.b",
        "../x",
        "A",
        "json",
        "os",
        "typing",
        "test",
        "pyarrow",
        "gfs_runtime",
        "tests",
        "__init__",
        "a b",
    ],
)
def test_keyword_stdlib_or_invalid_package_is_refused(package: str) -> None:
    with pytest.raises(InvalidAnswerError):
        validate_package(package)


def test_description_is_stripped() -> None:
    assert validate_description("  Serves sales data.  ") == "Serves sales data."


@pytest.mark.parametrize("text", ["", "   ", "two\nlines", "tab\there", "bell\x07", "x" * 201, "line\u2028sep"])
def test_empty_multiline_control_or_overlong_description_is_refused(text: str) -> None:
    with pytest.raises(InvalidAnswerError):
        validate_description(text)


def test_description_keeps_quotes_and_unicode() -> None:
    text = """Sales "data" \\ 'quotes' ${HOME} {{ jinja }} — ünïcode"""
    assert validate_description(text) == text
