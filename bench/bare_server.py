"""The baseline: a bare grpc.aio server with no project code that echoes raw bytes.

Run as a separate process, like the real server: ``python bench/bare_server.py``; it
prints ``listening on 127.0.0.1:PORT`` once ready.
"""

from __future__ import annotations

import asyncio
import sys

import grpc
from grpc import aio


async def _echo(request: bytes, context: aio.ServicerContext) -> bytes:  # type: ignore[type-arg]
    return request


async def main() -> None:
    server = aio.server()
    handler = grpc.method_handlers_generic_handler(
        "bare.Echo",
        {"Echo": grpc.unary_unary_rpc_method_handler(_echo)},  # bytes in, bytes out: no (de)serializers
    )
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
