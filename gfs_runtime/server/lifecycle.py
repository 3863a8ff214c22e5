"""The server's state machine: starting -> ready -> draining -> stopped, or failed."""

from __future__ import annotations

import enum
import threading
import time
from collections.abc import Collection
from typing import Final


class ServerState(enum.Enum):
    """Where the server is in its life."""

    STARTING = "starting"
    READY = "ready"
    DRAINING = "draining"
    STOPPED = "stopped"
    FAILED = "failed"


_TRANSITIONS: Final[dict[ServerState, frozenset[ServerState]]] = {
    ServerState.STARTING: frozenset({ServerState.READY, ServerState.DRAINING, ServerState.STOPPED, ServerState.FAILED}),
    ServerState.READY: frozenset({ServerState.DRAINING, ServerState.STOPPED, ServerState.FAILED}),
    ServerState.DRAINING: frozenset({ServerState.STOPPED, ServerState.FAILED}),
    ServerState.STOPPED: frozenset(),
    ServerState.FAILED: frozenset(),
}

_SIGNAL_CHECK_SEC: Final = 0.1

FINAL_STATES: Final = frozenset({ServerState.STOPPED, ServerState.FAILED})
"""States a server never leaves."""


class Lifecycle:
    """Thread-safe current state with validated transitions and waits for states."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._state = ServerState.STARTING
        self._error: BaseException | None = None

    @property
    def state(self) -> ServerState:
        """The current state."""
        return self._state

    @property
    def error(self) -> BaseException | None:
        """Why the server failed, once it is FAILED."""
        return self._error

    def advance(self, to: ServerState) -> bool:
        """Move to `to`; False (and no change) when that is not a valid next state."""
        with self._cond:
            if to not in _TRANSITIONS[self._state]:
                return False
            self._state = to
            self._cond.notify_all()
            return True

    def fail(self, error: BaseException) -> bool:
        """Move to FAILED remembering `error`; False when already stopped or failed."""
        with self._cond:
            if ServerState.FAILED not in _TRANSITIONS[self._state]:
                return False
            self._state = ServerState.FAILED
            self._error = error
            self._cond.notify_all()
            return True

    def wait_for(self, states: Collection[ServerState], timeout: float | None = None) -> bool:
        """Wait until the state is one of `states`; False when `timeout` passed first."""
        if threading.current_thread() is not threading.main_thread():
            with self._cond:
                return self._cond.wait_for(lambda: self._state in states, timeout)
        # The main thread wakes up regularly: Python runs signal handlers only there, between bytecodes,
        # and a signal the kernel delivered to another thread does not interrupt a blocked wait.
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = _SIGNAL_CHECK_SEC if deadline is None else min(_SIGNAL_CHECK_SEC, deadline - time.monotonic())
            with self._cond:
                if self._cond.wait_for(lambda: self._state in states, max(left, 0.0)):
                    return True
            if deadline is not None and time.monotonic() >= deadline:
                return False
