"""The baseline: a bare grpc.aio server with no project code that echoes raw bytes.

Run as a separate process, like the real server: ``python bench/bare_server.py [DIR]``;
it prints ``listening on 127.0.0.1:PORT`` once ready.

``/bare.Echo/Echo`` returns the request as it came. ``/bare.Echo/DurableEcho`` (only with
a data directory ``DIR``) first appends the request to a SQLite log and commits it, with
the pragmas of the project's store (WAL, ``synchronous=FULL``: one fsync per commit), on
a thread of its own as the project's engine does; then it returns the request. No
acknowledged-durable server can answer faster than that: it is the floor under any
durable publish, measured in the same run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sqlite3
import sys
from pathlib import Path

import grpc
from grpc import aio


async def _echo(request: bytes, context: aio.ServicerContext) -> bytes:  # type: ignore[type-arg]
    return request


class _DurableLog:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(data_dir / "bare.sqlite3", isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)")
        self._writer = concurrent.futures.ThreadPoolExecutor(1, "bare-durable")

    def _append(self, body: bytes) -> None:
        with self._db:
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO log (body) VALUES (?)", (body,))

    async def echo(self, request: bytes, context: aio.ServicerContext) -> bytes:  # type: ignore[type-arg]
        await asyncio.get_running_loop().run_in_executor(self._writer, self._append, request)
        return request


async def main(data_dir: Path | None) -> None:
    server = aio.server()
    methods = {"Echo": grpc.unary_unary_rpc_method_handler(_echo)}  # bytes in, bytes out: no (de)serializers
    if data_dir is not None:
        methods["DurableEcho"] = grpc.unary_unary_rpc_method_handler(_DurableLog(data_dir).echo)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bare.Echo", methods),))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    try:
        asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
    except KeyboardInterrupt:
        sys.exit(0)
