"""MallocTrimmer calls malloc_trim periodically, stops at once, and degrades to a no-op."""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Iterator

import pytest

from gfs_runtime.health import maintenance
from gfs_runtime.health.maintenance import MallocTrimmer
from gfs_runtime.telemetry.log_capture import capture_log_events

pytestmark = pytest.mark.timeout(10)


class _TrimRecorder:
    """Collects on_trim calls and signals once `wanted` of them arrived."""

    def __init__(self, wanted: int) -> None:
        self.calls: list[tuple[float, bool]] = []
        self.enough = threading.Event()
        self._wanted = wanted

    def __call__(self, duration_sec: float, ok: bool) -> None:
        self.calls.append((duration_sec, ok))
        if len(self.calls) >= self._wanted:
            self.enough.set()


def _trim_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "gfs-malloc-trim"]


@pytest.fixture(autouse=True)
def _no_thread_left_behind() -> Iterator[None]:
    yield
    assert _trim_threads() == []


@pytest.fixture
def no_malloc_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maintenance, "_find_malloc_trim", lambda: None)


def test_trims_run_every_interval_and_report_success() -> None:
    recorder = _TrimRecorder(wanted=3)
    trimmer = MallocTrimmer(0.05, on_trim=recorder)
    assert trimmer.is_supported
    trimmer.start()
    try:
        assert recorder.enough.wait(5)
    finally:
        trimmer.stop()
    assert all(ok and duration >= 0 for duration, ok in recorder.calls)


def test_stop_wakes_the_thread_at_once() -> None:
    trimmer = MallocTrimmer(3600)
    trimmer.start()
    assert trimmer.is_running
    started = time.monotonic()
    trimmer.stop()
    assert time.monotonic() - started < 1.0
    assert not trimmer.is_running


def test_stop_is_idempotent_and_start_is_once() -> None:
    trimmer = MallocTrimmer(3600)
    trimmer.stop()
    trimmer.start()
    trimmer.start()
    assert len(_trim_threads()) == 1
    trimmer.stop()
    trimmer.stop()


def test_interval_zero_starts_nothing() -> None:
    recorder = _TrimRecorder(wanted=1)
    trimmer = MallocTrimmer(0, on_trim=recorder)
    trimmer.start()
    assert not trimmer.is_running
    assert _trim_threads() == []
    assert not trimmer.trim_once()
    assert recorder.calls == []
    trimmer.stop()


def test_negative_interval_is_rejected() -> None:
    with pytest.raises(ValueError, match="interval_sec"):
        MallocTrimmer(-1)


def test_lookup_finds_nothing_where_libc_cannot_be_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(name: str | None) -> ctypes.CDLL:
        raise OSError(f"no such library: {name}")

    monkeypatch.setattr(ctypes, "CDLL", refuse)
    assert maintenance._find_malloc_trim() is None


def test_unsupported_libc_is_a_noop_logged_once_at_debug(no_malloc_trim: None) -> None:
    recorder = _TrimRecorder(wanted=1)
    trimmer = MallocTrimmer(0.05, on_trim=recorder)
    assert not trimmer.is_supported
    with capture_log_events() as logs:
        trimmer.start()
    assert not trimmer.is_running
    assert not trimmer.trim_once()
    assert recorder.calls == []
    assert [(entry["event"], entry["level"]) for entry in logs] == [("malloc_trim_unsupported", "debug")]
    trimmer.stop()


def test_failed_trim_reports_not_ok(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_trim(pad: int) -> int:
        raise OSError("trim failed")

    monkeypatch.setattr(maintenance, "_find_malloc_trim", lambda: broken_trim)
    recorder = _TrimRecorder(wanted=1)
    trimmer = MallocTrimmer(0.05, on_trim=recorder)
    with capture_log_events() as logs:
        assert not trimmer.trim_once()
    assert [ok for _, ok in recorder.calls] == [False]
    assert [entry["event"] for entry in logs] == ["malloc_trim_failed"]


def test_failing_callback_does_not_stop_trimming() -> None:
    recorder = _TrimRecorder(wanted=2)

    def flaky(duration_sec: float, ok: bool) -> None:
        recorder(duration_sec, ok)
        if len(recorder.calls) == 1:
            raise RuntimeError("metrics backend down")

    trimmer = MallocTrimmer(0.05, on_trim=flaky)
    with capture_log_events() as logs:
        trimmer.start()
        try:
            assert recorder.enough.wait(5)
        finally:
            trimmer.stop()
    assert "malloc_trim_callback_failed" in [entry["event"] for entry in logs]
