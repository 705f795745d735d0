"""`jis <command>`: the entry point of the console script and of ``python -m jis``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys

from jis import __version__
from jis.cli.common import EXIT_PIPE, server_flags
from jis.cli.ops import add_commands
from jis.cli.simulate import add_simulate
from jis.cli.whatif import add_whatif
from jis.cli.work import add_work_commands
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


EXAMPLES = """examples:
  jis serve --test-clock                         a server on its test clock (data in ./jis-data)
  jis breaks --line L1                           open breaks of line L1, most urgent first
  jis breaks --resolved-since yesterday --json   breaks resolved since midnight UTC yesterday
  jis kpis --supplier SEATCO --since=-24h        a supplier's KPIs over the last day
  jis deljit import call-offs.edi                import an EDIFACT DELJIT interchange
  jis simulate --hours 8                         a plant day against a --test-clock server
  jis whatif late-rack R-17 --by 90m             what a rack 90 minutes late would break

exit codes: 0 done, 1 refused by the server, 2 usage or unreadable input, 3 server
unreachable, 4 partly done (an import or publish with refusals), 141 output reader gone;
jis serve: 2 cannot start, 70 the engine failed (the next start recovers from the log)"""
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jis",
        description="Just-in-sequence line-side sequencing engine: the server and its operator commands.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"jis {__version__}")
    parser.add_argument(
        "--log-level", default="INFO", type=str.upper, choices=LOG_LEVELS, help="[default INFO]"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser(
        "serve",
        help="run the gRPC server on the embedded store",
        description="Run the gRPC server on the embedded store; each flag also reads an environment variable",
    )
    add_server_arguments(serve)
    serve.set_defaults(run=_serve)
    server = server_flags()
    add_commands(sub, server)
    add_work_commands(sub, server)
    add_simulate(sub, server)
    add_whatif(sub, server)
    for command in sub.choices.values():  # also after the command: jis breaks --log-level DEBUG
        command.add_argument(
            "--log-level",
            default=argparse.SUPPRESS,
            type=str.upper,
            choices=LOG_LEVELS,
            help="[default INFO]",
        )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.run(args))
    except BrokenPipeError:
        # The reader of our output went away (| head): not an error of ours. Point stdout at
        # /dev/null so the interpreter's last flush does not complain again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_PIPE


if __name__ == "__main__":
    sys.exit(main())
