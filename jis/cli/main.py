"""`jis <command>`: the entry point of the console script and of ``python -m jis``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from jis import __version__
from jis.cli.ops import add_commands
from jis.config import ConfigError, add_server_arguments, from_arguments

EXIT_CANNOT_START = 2
"""The store is unreadable or held by another server, the port is busy, or the
configuration is refused."""


def _serve(args: argparse.Namespace) -> int:
    from jis.server import serve
    from jis.store import StoreBusy, StoreCorrupt

    try:
        asyncio.run(serve(from_arguments(args)))
    except StoreCorrupt as exc:
        logging.getLogger("jis").critical("cannot start: the store is unreadable: %s", exc)
        return EXIT_CANNOT_START
    except StoreBusy as exc:
        logging.getLogger("jis").critical("cannot start: %s", exc)
        return EXIT_CANNOT_START
    except ConfigError as exc:
        logging.getLogger("jis").critical("cannot start: %s", exc)
        return EXIT_CANNOT_START
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jis", description="Just-in-sequence line-side sequencing engine")
    parser.add_argument("--version", action="version", version=f"jis {__version__}")
    parser.add_argument("--log-level", default="INFO", help="logging level [default INFO]")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the gRPC server on the embedded store")
    add_server_arguments(serve)
    serve.set_defaults(run=_serve)
    add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
