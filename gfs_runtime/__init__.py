"""gfs_runtime: an opinionated, pluggable Arrow Flight RPC server for production data services."""
