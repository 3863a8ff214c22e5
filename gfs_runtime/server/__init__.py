"""The server: Flight adapter, the one per-call middleware, lifecycle, signals and methods discovery."""
