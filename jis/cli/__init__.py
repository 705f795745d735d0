"""The `jis` command: serve, and operator tools against a running server."""
