"""Choose the token verification strategy named by `token_verification` and build it."""

from __future__ import annotations

import importlib
import inspect
from typing import TYPE_CHECKING

from gfs_runtime.auth.enumerated import EnumeratedTokenVerification
from gfs_runtime.auth.strategy import TokenVerificationStrategy
from gfs_runtime.errors.exceptions import ConfigError

if TYPE_CHECKING:
    from gfs_runtime.server.context import ServerContext

BUILT_IN_STRATEGY = "EnumeratedTokenVerification"
_SETTING = "server.token_verification"


def _strategy_classes_defined_in(module_name: str) -> list[type[TokenVerificationStrategy]]:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        raise ConfigError(f"module '{module_name}' was not found ({e})", key=_SETTING) from None
    except Exception as e:
        raise ConfigError(f"module '{module_name}' failed to import: {type(e).__name__}: {e}", key=_SETTING) from None
    return [
        member
        for _, member in inspect.getmembers(module, inspect.isclass)
        if issubclass(member, TokenVerificationStrategy)
        and member.__module__ == module.__name__
        and not inspect.isabstract(member)
    ]


def load_strategy_class(name: str) -> type[TokenVerificationStrategy]:
    """The built-in strategy, or the one concrete TokenVerificationStrategy subclass defined in module ``name``."""
    if name == BUILT_IN_STRATEGY:
        return EnumeratedTokenVerification
    found = _strategy_classes_defined_in(name)
    if len(found) != 1:
        names = ", ".join(sorted(cls.__name__ for cls in found)) or "none"
        raise ConfigError(
            f"module '{name}' must define exactly one TokenVerificationStrategy subclass, found {len(found)} ({names})",
            key=_SETTING,
        )
    return found[0]


def build_strategy(name: str, ctx: ServerContext) -> TokenVerificationStrategy:
    """Load the strategy named ``name`` and create its instance for this server."""
    strategy_class = load_strategy_class(name)
    try:
        strategy = strategy_class.create(ctx)
    except ConfigError:
        raise
    except Exception as e:
        raise ConfigError(f"{strategy_class.__name__}.create() failed: {type(e).__name__}: {e}", key=_SETTING) from None
    if not isinstance(strategy, TokenVerificationStrategy):
        raise ConfigError(f"{strategy_class.__name__}.create() returned {type(strategy).__name__}", key=_SETTING)
    return strategy
