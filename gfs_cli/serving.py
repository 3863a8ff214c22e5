"""Runs a service in this process: find its methods factory, create the server, serve until stopped."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from gfs_runtime.server.discovery import load_methods_factory
from gfs_runtime.server.process_exit import FORCED_EXIT_STATUS
from gfs_runtime.server.server import create_server


def add_import_paths(paths: Sequence[Path]) -> None:
    """Put directories in front of sys.path (once each), so a provider module is found without installing it."""
    for path in reversed(paths):
        entry = str(path)
        if entry not in sys.path:
            sys.path.insert(0, entry)


def serve_provider(
    methods_provider: str,
    config_files: Sequence[str | os.PathLike[str]] = (),
    *,
    logging_config: str | None = None,
    dev_log: bool = False,
    import_paths: Sequence[Path] = (),
) -> int:
    """Serve the factory of `methods_provider` (`pkg.module` or `pkg.module:factory`) until SIGINT/SIGTERM.

    Returns 0 after a graceful stop, FORCED_EXIT_STATUS (1, as the reference) when a second signal aborted it.
    Problems (no factory, bad config, port in use, factory failing) raise GfsError subclasses.
    """
    add_import_paths(import_paths)
    factory = load_methods_factory(methods_provider)
    server = create_server(
        factory,
        config_files=tuple(os.fspath(path) for path in config_files),
        logging_config=logging_config,
        dev_log=dev_log,
    )
    server.start()
    server.wait_for_stop()
    return FORCED_EXIT_STATUS if server.aborted else 0
