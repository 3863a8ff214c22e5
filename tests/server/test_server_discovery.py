"""Finding the methods factory of a provider module, and the one clear error for each way that fails."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gfs_runtime.errors.exceptions import MethodsDiscoveryError
from gfs_runtime.server.discovery import flight_server_methods, is_methods_factory, load_methods_factory

WriteModule = Callable[[str, str], str]

HEADER = """
from gfs_runtime.server.discovery import flight_server_methods
from gfs_runtime.server.methods import FlightServerMethods
"""


@pytest.fixture
def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[WriteModule]:
    """Write a module under a unique name into a directory on sys.path; forget it afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    written: list[str] = []

    def write(stem: str, source: str) -> str:
        name = f"gfs_discovery_{stem}_{len(written)}_{id(tmp_path)}"
        (tmp_path / f"{name}.py").write_text(HEADER + textwrap.dedent(source))
        written.append(name)
        return name

    yield write
    for name in written:
        sys.modules.pop(name, None)


def test_module_with_one_decorated_factory_gives_that_factory(write_module: WriteModule) -> None:
    name = write_module(
        "one",
        """
        @flight_server_methods
        def service(ctx):
            return FlightServerMethods()
        """,
    )
    factory = load_methods_factory(name)
    assert factory is sys.modules[name].service


def test_module_colon_factory_names_the_factory_without_the_decorator(write_module: WriteModule) -> None:
    name = write_module(
        "explicit",
        """
        def first(ctx):
            return FlightServerMethods()

        @flight_server_methods
        def second(ctx):
            return FlightServerMethods()
        """,
    )
    assert load_methods_factory(f"{name}:first") is sys.modules[name].first


def test_factory_imported_under_two_names_counts_once(write_module: WriteModule) -> None:
    name = write_module(
        "alias",
        """
        @flight_server_methods
        def service(ctx):
            return FlightServerMethods()

        alias = service
        """,
    )
    assert load_methods_factory(name) is sys.modules[name].service


def test_module_without_a_decorated_factory_is_an_error_naming_it(write_module: WriteModule) -> None:
    name = write_module("none", "def service(ctx):\n    return FlightServerMethods()\n")
    with pytest.raises(MethodsDiscoveryError, match=f"module '{name}' has no function decorated"):
        load_methods_factory(name)


def test_module_with_several_decorated_factories_is_an_error_naming_them(write_module: WriteModule) -> None:
    name = write_module(
        "several",
        """
        @flight_server_methods
        def beta(ctx):
            return FlightServerMethods()

        @flight_server_methods
        def alpha(ctx):
            return FlightServerMethods()
        """,
    )
    with pytest.raises(MethodsDiscoveryError, match=rf"module '{name}' has 2 functions .*\(alpha, beta\)"):
        load_methods_factory(name)


@pytest.mark.parametrize("parameters", ["", "ctx, other", "*, ctx"])
def test_factory_with_wrong_signature_is_an_error(write_module: WriteModule, parameters: str) -> None:
    name = write_module(
        "signature",
        f"""
        @flight_server_methods
        def service({parameters}):
            return FlightServerMethods()
        """,
    )
    with pytest.raises(MethodsDiscoveryError, match="'service' is not a valid factory; expected a function taking"):
        load_methods_factory(name)


def test_factory_with_extra_defaulted_keyword_is_accepted(write_module: WriteModule) -> None:
    name = write_module(
        "defaults",
        """
        @flight_server_methods
        def service(ctx, *, verbose=False):
            return FlightServerMethods()
        """,
    )
    assert load_methods_factory(name) is sys.modules[name].service


def test_missing_module_is_an_error_naming_it() -> None:
    with pytest.raises(MethodsDiscoveryError, match=r"module 'gfs_no_such_provider\.main' was not found"):
        load_methods_factory("gfs_no_such_provider.main")


def test_module_failing_at_import_is_an_error_naming_it_and_the_cause(write_module: WriteModule) -> None:
    name = write_module("raising", "raise RuntimeError('database unreachable')\n")
    with pytest.raises(MethodsDiscoveryError, match=f"module '{name}' failed to import: RuntimeError: database"):
        load_methods_factory(name)


def test_module_with_syntax_error_is_an_error_naming_it(write_module: WriteModule) -> None:
    name = write_module("syntax", "def broken(:\n")
    with pytest.raises(MethodsDiscoveryError, match=f"module '{name}' failed to import: SyntaxError"):
        load_methods_factory(name)


def test_module_whose_dependency_is_missing_is_not_reported_as_missing_itself(write_module: WriteModule) -> None:
    name = write_module("dependency", "import gfs_no_such_dependency\n")
    with pytest.raises(MethodsDiscoveryError, match=f"module '{name}' failed to import: ModuleNotFoundError"):
        load_methods_factory(name)


def test_missing_named_factory_is_an_error(write_module: WriteModule) -> None:
    name = write_module("named", "")
    with pytest.raises(MethodsDiscoveryError, match=f"module '{name}' has no 'absent'"):
        load_methods_factory(f"{name}:absent")


@pytest.mark.parametrize("provider", ["", "  ", ":factory", "module:"])
def test_malformed_provider_is_an_error(provider: str) -> None:
    with pytest.raises(MethodsDiscoveryError, match="is malformed"):
        load_methods_factory(provider)


def test_decorator_marks_and_returns_the_same_function() -> None:
    def service(ctx: object) -> object:
        return ctx

    assert not is_methods_factory(service)
    assert flight_server_methods(service) is service  # type: ignore[arg-type]  # any one-argument callable
    assert is_methods_factory(service)
