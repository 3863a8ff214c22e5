"""Finding a service's methods factory: the ``@flight_server_methods`` marker and `load_methods_factory`."""

from __future__ import annotations

import importlib
import inspect
from types import ModuleType
from typing import Final, cast

from gfs_runtime.errors.exceptions import MethodsDiscoveryError
from gfs_runtime.server.context import FlightServerMethodsFactory

_MARKER: Final = "__gfs_flight_server_methods__"
_POSITIONAL: Final = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def flight_server_methods(fun: FlightServerMethodsFactory) -> FlightServerMethodsFactory:
    """Mark `fun` as its module's one FlightServerMethodsFactory, for `load_methods_factory` to find."""
    setattr(fun, _MARKER, True)
    return fun


def is_methods_factory(obj: object) -> bool:
    """True for objects marked with ``@flight_server_methods``."""
    try:
        return getattr(obj, _MARKER, False) is True
    except Exception:  # a module member with a hostile __getattr__ is simply not a factory
        return False


def _import(module_name: str, provider: str) -> ModuleType:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name is not None and (module_name == e.name or module_name.startswith(f"{e.name}.")):
            raise MethodsDiscoveryError(
                f"methods provider '{provider}': module '{module_name}' was not found"
            ) from None
        raise MethodsDiscoveryError(
            f"methods provider '{provider}': module '{module_name}' failed to import: {type(e).__name__}: {e}"
        ) from None
    except Exception as e:  # a provider module with a syntax error or a failing top level
        raise MethodsDiscoveryError(
            f"methods provider '{provider}': module '{module_name}' failed to import: {type(e).__name__}: {e}"
        ) from None


def _has_factory_signature(obj: object) -> bool:
    if not callable(obj):
        return False
    try:
        parameters = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return False
    positional = [p for p in parameters if p.kind in _POSITIONAL]
    required_keywords = [
        p for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY and p.default is inspect.Parameter.empty
    ]
    return len(positional) == 1 and not required_keywords


def _checked(obj: object, name: str, provider: str) -> FlightServerMethodsFactory:
    if not _has_factory_signature(obj):
        raise MethodsDiscoveryError(
            f"methods provider '{provider}': '{name}' is not a valid factory; expected a function taking exactly "
            "one positional parameter (ctx: ServerContext) and returning FlightServerMethods"
        )
    return cast(FlightServerMethodsFactory, obj)


def _marked_factories(module: ModuleType) -> dict[str, object]:
    found: dict[int, tuple[str, object]] = {}
    for name, member in vars(module).items():
        if is_methods_factory(member):
            # the same factory imported under a second name is still one factory
            found.setdefault(id(member), (name, member))
    return dict(found.values())


def load_methods_factory(provider: str) -> FlightServerMethodsFactory:
    """The factory named by `provider`: ``pkg.module`` (its one decorated factory) or ``pkg.module:factory``."""
    module_name, _, attribute = provider.partition(":")
    if not module_name.strip() or (":" in provider and not attribute.strip()):
        raise MethodsDiscoveryError(
            f"methods provider '{provider}' is malformed; expected 'package.module' or 'package.module:factory'"
        )
    module = _import(module_name.strip(), provider)
    if attribute:
        attribute = attribute.strip()
        if not hasattr(module, attribute):
            raise MethodsDiscoveryError(
                f"methods provider '{provider}': module '{module.__name__}' has no '{attribute}'"
            )
        return _checked(getattr(module, attribute), attribute, provider)
    factories = _marked_factories(module)
    if not factories:
        raise MethodsDiscoveryError(
            f"methods provider '{provider}': module '{module.__name__}' has no function decorated with "
            "@flight_server_methods"
        )
    if len(factories) > 1:
        names = ", ".join(sorted(factories))
        raise MethodsDiscoveryError(
            f"methods provider '{provider}': module '{module.__name__}' has {len(factories)} functions decorated "
            f"with @flight_server_methods ({names}); keep one or name it as '{module.__name__}:<factory>'"
        )
    ((name, factory),) = factories.items()
    return _checked(factory, name, provider)
