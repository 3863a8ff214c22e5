"""gfs_cli: the `gfs` command that scaffolds, runs and extends Flight data services."""
