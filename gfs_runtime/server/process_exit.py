"""Letting a process exit after an abort while calls may still be running in the Flight server.

Two hazards meet at interpreter exit then. pyarrow's exit hook shuts every live Flight server down and
waits for its calls, forever if one is stuck. And tearing the interpreter down while a gRPC thread still
runs Python kills that thread through C++ frames that swallow the unwind: the process dies of SIGABRT.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
import weakref
from collections.abc import Callable
from typing import Any, Final

from gfs_runtime.telemetry.event_logger import get_logger

FORCED_EXIT_STATUS: Final = 1
"""Exit status of a process that ended with calls still running after an abort."""


def detach_exit_shutdown(server: object) -> None:
    """Stop pyarrow from shutting `server` down at interpreter exit (it would block on stuck calls)."""
    registry: dict[weakref.finalize[Any, Any], Any] = getattr(weakref.finalize, "_registry", {})
    for finalizer in list(registry):
        target = finalizer.peek()
        if target is not None and target[0] is server:
            finalizer.atexit = False


def _exit_now_if_calls_remain(calls_in_flight: Callable[[], int]) -> None:
    remaining = calls_in_flight()
    if remaining == 0:
        return
    get_logger("gfs_runtime.server").warning("server_exit_forced", in_flight=remaining)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken stream: nothing more to save
            stream.flush()
    os._exit(FORCED_EXIT_STATUS)


def end_process_at_exit_if_calls_remain(calls_in_flight: Callable[[], int]) -> None:
    """At interpreter exit, end the process at once with FORCED_EXIT_STATUS if calls are still running."""
    atexit.register(_exit_now_if_calls_remain, calls_in_flight)
