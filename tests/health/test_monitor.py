"""ServerHealthMonitor verdicts for liveness and readiness."""

from gfs_runtime.health.monitor import ModuleHealthStatus, ServerHealthMonitor


def _ready_monitor() -> ServerHealthMonitor:
    monitor = ServerHealthMonitor()
    monitor.set_server_state("ready", accepting_traffic=True)
    return monitor


def test_not_ready_until_the_server_accepts_traffic() -> None:
    monitor = ServerHealthMonitor()
    assert monitor.is_live()
    assert not monitor.is_ready()
    assert monitor.readiness().failing == ("server:starting",)
    monitor.set_server_state("ready", accepting_traffic=True)
    assert monitor.is_ready()


def test_draining_server_is_live_but_not_ready() -> None:
    monitor = _ready_monitor()
    monitor.set_server_state("draining", accepting_traffic=False)
    assert monitor.is_live()
    assert not monitor.is_ready()


def test_not_ok_module_fails_both_probes_and_recovers() -> None:
    monitor = _ready_monitor()
    monitor.set_module_status("db", ModuleHealthStatus.NOT_OK)
    assert monitor.liveness().failing == ("db",)
    assert not monitor.is_ready()
    monitor.set_module_status("db", ModuleHealthStatus.OK)
    assert monitor.is_live()
    assert monitor.is_ready()


def test_not_ready_module_fails_readiness_only() -> None:
    monitor = _ready_monitor()
    monitor.set_module_status("cache", ModuleHealthStatus.NOT_READY)
    assert monitor.is_live()
    assert monitor.readiness().failing == ("cache",)


def test_module_statuses_is_a_snapshot() -> None:
    monitor = ServerHealthMonitor()
    monitor.set_module_status("a", ModuleHealthStatus.OK)
    snapshot = monitor.module_statuses
    monitor.set_module_status("b", ModuleHealthStatus.NOT_OK)
    assert snapshot == {"a": ModuleHealthStatus.OK}
