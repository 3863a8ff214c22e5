"""Importing gfs_runtime.config touches no network and reads no file other than Python modules."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

_AUDITED_IMPORT = textwrap.dedent(
    """
    import sys

    def refuse_io(event, args):
        if event.startswith(("socket.", "subprocess.", "os.system", "os.exec", "os.posix_spawn", "os.fork")):
            raise RuntimeError(f"import did {event} {args!r}")
        if event == "open" and isinstance(args[0], (str, bytes)):
            path = args[0].decode() if isinstance(args[0], bytes) else args[0]
            if not path.endswith((".py", ".pyc")):
                raise RuntimeError(f"import opened {path}")

    sys.addaudithook(refuse_io)
    import gfs_runtime.config
    print("imported", gfs_runtime.config.__name__)
    """
)


@pytest.mark.timeout(30)
def test_importing_config_does_no_io() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _AUDITED_IMPORT], capture_output=True, text=True, timeout=25, check=False
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported gfs_runtime.config"


@pytest.mark.timeout(30)
def test_audit_hook_would_catch_file_reads() -> None:
    script = _AUDITED_IMPORT.replace("import gfs_runtime.config", "open('/etc/hostname', 'rb').close()\n")

    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=25, check=False)

    assert done.returncode != 0
    assert "import opened /etc/hostname" in done.stderr
