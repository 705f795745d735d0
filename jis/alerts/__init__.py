"""Break lifecycle (raise once, resolve once) and fan-out to subscribers."""
