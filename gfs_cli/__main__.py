"""Entry point of the `gfs` command (`gfs ...` or `python -m gfs_cli ...`)."""

from __future__ import annotations

import sys

from gfs_cli.app import run


def main() -> None:
    """Run the gfs command line and exit with its code."""
    sys.exit(run())


if __name__ == "__main__":
    main()
