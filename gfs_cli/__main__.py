"""Entry point of the `gfs` command."""


def main() -> None:
    """Run the gfs command line."""
    raise SystemExit("gfs: the command line arrives with the CLI issue")
