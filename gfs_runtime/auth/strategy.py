"""The plug-in point for token verification."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

import pyarrow.flight

if TYPE_CHECKING:
    from gfs_runtime.server.context import ServerContext


class TokenVerificationStrategy(abc.ABC):
    """Verifies a caller's token; what ``verify`` returns becomes the caller identity."""

    @abc.abstractmethod
    def verify(self, call_info: pyarrow.flight.CallInfo, token: str) -> Any:
        """Return the caller identity, or raise FlightUnauthenticatedError / FlightUnauthorizedError."""

    @classmethod
    def create(cls, ctx: ServerContext) -> TokenVerificationStrategy:
        """Build the one instance the server uses, reading settings from ``ctx``; called once at start-up."""
        return cls()
