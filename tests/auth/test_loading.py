"""Loading a custom token verification strategy from the module named in the config."""

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from gfs_runtime.auth.enumerated import EnumeratedTokenVerification
from gfs_runtime.auth.loading import load_strategy_class
from gfs_runtime.errors.exceptions import ConfigError


@pytest.fixture
def module_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith("gfs_test_strategy_")]:
        del sys.modules[name]


def _write(directory: Path, name: str, body: str) -> str:
    (directory / f"{name}.py").write_text(textwrap.dedent(body))
    return name


def test_built_in_name_gives_enumerated_tokens() -> None:
    assert load_strategy_class("EnumeratedTokenVerification") is EnumeratedTokenVerification


def test_module_with_one_strategy_is_loaded(module_dir: Path) -> None:
    name = _write(
        module_dir,
        "gfs_test_strategy_one",
        """
        from gfs_runtime.auth.strategy import TokenVerificationStrategy
        from gfs_runtime.auth.enumerated import EnumeratedTokenVerification  # imported, not defined here

        class MyStrategy(TokenVerificationStrategy):
            def verify(self, call_info, token):
                return token
        """,
    )
    assert load_strategy_class(name).__name__ == "MyStrategy"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ("X = 1\n", "found 0 (none)"),
        (
            "from gfs_runtime.auth.strategy import TokenVerificationStrategy as B\n"
            "class A(B):\n    def verify(self, c, t): return t\n"
            "class C(B):\n    def verify(self, c, t): return t\n",
            "found 2 (A, C)",
        ),
        ("raise RuntimeError('broken at import')\n", "failed to import: RuntimeError"),
    ],
)
def test_bad_strategy_modules_are_clear_config_errors(module_dir: Path, body: str, fragment: str) -> None:
    name = _write(module_dir, f"gfs_test_strategy_bad_{abs(hash(body))}", body)
    with pytest.raises(ConfigError) as caught:
        load_strategy_class(name)
    assert fragment in str(caught.value)
    assert "server.token_verification" in str(caught.value)


def test_missing_module_is_a_clear_config_error() -> None:
    with pytest.raises(ConfigError, match="gfs_no_such_module_xyz' was not found"):
        load_strategy_class("gfs_no_such_module_xyz")
