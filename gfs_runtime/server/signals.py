"""The one place that installs SIGINT/SIGTERM handlers, and puts the previous ones back."""

from __future__ import annotations

import _thread
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Final

_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)

RestoreSignals = Callable[[], bool]
"""Puts the previous handlers back; True when it did (it can only on the main thread)."""


def _restore_nothing() -> bool:
    return False


def block_stop_signals_in_this_thread() -> None:
    """Keep SIGINT/SIGTERM away from this thread and the threads it starts (gRPC's, the task workers).

    Python handles signals on the main thread only; delivered to a worker blocked in a system call, a
    signal just interrupts it, which can wake a stuck call while the interpreter is shutting down.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)


def _run_in_new_thread(callback: Callable[[], None]) -> None:
    # A signal handler interrupts the main thread between any two bytecodes, possibly while it holds a lock
    # the callback needs, so a raw thread (no threading-module locks) runs the callback. The thread starts
    # with the signals blocked, so that the next signal still reaches the main thread.
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        _thread.start_new_thread(callback, ())
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


def install_signal_handlers(
    on_stop: Callable[[], None], on_abort: Callable[[], None], is_finished: Callable[[], bool]
) -> RestoreSignals:
    """First SIGINT/SIGTERM calls `on_stop`, the next `on_abort`; only on the main thread, else a no-op.

    Once `is_finished()` is true, a signal restores the previous handlers and is delivered to them.
    """
    if threading.current_thread() is not threading.main_thread():
        return _restore_nothing
    previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    received = 0

    def restore() -> bool:
        if threading.current_thread() is not threading.main_thread():
            return False
        for sig, handler in previous.items():
            if signal.getsignal(sig) is handle:  # someone else's handler installed since stays
                signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        return True

    def handle(signum: int, frame: FrameType | None) -> None:
        nonlocal received
        if is_finished():
            restore()
            prior = previous[signal.Signals(signum)]
            if callable(prior):
                prior(signum, frame)
            elif prior is not signal.SIG_IGN:
                signal.raise_signal(signum)
            return
        received += 1
        _run_in_new_thread(on_stop if received == 1 else on_abort)

    for sig in _SIGNALS:
        signal.signal(sig, handle)
    return restore
