"""jis: a just-in-sequence line-side sequencing engine."""

import os

__version__ = "0.1.0"

# A what-if forks the server (jis.api.forked); the child never uses gRPC. gRPC's own fork
# handlers (on by default in some grpcio releases) would pause or reset the server's gRPC
# threads around each fork: off, before gRPC reads its configuration.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
