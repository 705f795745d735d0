# Imported before any test module and its conftest: jis first, so that gRPC's own fork
# handlers are off before grpc loads (a what-if forks the process: jis.api.forked).
import jis  # noqa: F401
