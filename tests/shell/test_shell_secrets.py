"""No token and no part of the TLS private key reaches any log line of a server run, whatever is logged."""

from __future__ import annotations

import logging

import pyarrow.flight
import pytest

from gfs_runtime.telemetry.logging import configure_logging
from tests.shell.service import ShellService, fetch
from tests.shell.support import ServerFactory, TlsMaterial, bearer, client_for, run_action

pytestmark = pytest.mark.timeout(30)

GOOD_TOKEN = "tok-3f9a1c-good-secret"
WRONG_TOKEN = "tok-77b2e0-wrong-secret"


@pytest.mark.parametrize("dev_log", [False, True])
def test_tokens_and_the_private_key_never_reach_the_log(
    make_server: ServerFactory, tls_material: TlsMaterial, capsys: pytest.CaptureFixture[str], dev_log: bool
) -> None:
    configure_logging(dev_log=dev_log, logging_config=None)
    logging.getLogger().setLevel(logging.DEBUG)
    server = make_server(
        ShellService,
        sections={"enumerated_tokens": {"tokens": [GOOD_TOKEN]}},
        authentication_method="token",
        use_tls=True,
        tls_certificate=tls_material.server_cert.decode(),
        tls_private_key=tls_material.server_key.decode(),
    )
    with client_for(server, tls_root_certs=tls_material.ca_cert) as client:
        run_action(client, "log", bearer(GOOD_TOKEN))
        fetch(client, options=bearer(GOOD_TOKEN))
        with pytest.raises(pyarrow.flight.FlightInternalError):
            run_action(client, "crash", bearer(GOOD_TOKEN))  # its traceback is logged, locals are not
        with pytest.raises(pyarrow.flight.FlightUnauthenticatedError):
            run_action(client, "log", bearer(WRONG_TOKEN))
    server.stop()
    assert server.wait_for_stop(10)

    captured = capsys.readouterr()
    output = captured.out + captured.err
    key_lines = [line for line in tls_material.server_key.decode().splitlines() if "-----" not in line]
    assert "server_started" in output
    assert "order_logged" in output
    assert "call_unauthenticated" in output
    assert "crashed with" in output
    assert GOOD_TOKEN not in output
    assert WRONG_TOKEN not in output
    assert "PRIVATE KEY" not in output
    assert [line for line in key_lines if line in output] == []
