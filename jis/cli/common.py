"""What every `jis` client command shares: the connection flags and channel, the exit
codes, reading times from the command line, and turning any failure into one line on
stderr and its exit code.

Exit codes (docs/cli.md lists them, with `jis serve`'s own):

====  ===========================================================================
0     done
1     the server refused the request (its status and message are printed)
2     usage: a bad option or argument value, an unreadable input file
3     the server could not be reached (or did not answer in time)
4     partly done: an import or publish in which some messages or broadcasts were refused
141   the reader of the output went away (``jis breaks --json | head -1``)
====  ===========================================================================
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.duration_pb2 import Duration
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from jis import client_config

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_PARTIAL = 4
EXIT_PIPE = 141
TIMEOUT_S = 10.0


class CliError(Exception):
    """A failure the command reports as one line, with its exit code."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


def server_flags(defaults: bool = True) -> argparse.ArgumentParser:
    """The flags of every command that talks to a server (a parent parser). Without
    ``defaults``, for the sub-commands of a command that has them already (`jis lines move`):
    a flag not given after the sub-command leaves what was given before it (or its default)."""

    def default(value: object) -> object:
        return value if defaults else argparse.SUPPRESS

    server = argparse.ArgumentParser(add_help=False)
    server.add_argument(
        "--server",
        default=default(os.environ.get("JIS_SERVER", "127.0.0.1:50051")),
        help="gRPC address of the server, or a comma-separated list of a leader and its standbys "
        "(calls go to whichever leads) [env JIS_SERVER; default 127.0.0.1:50051]",
    )
    server.add_argument("--json", action="store_true", default=default(False), help="JSON instead of a table")
    server.add_argument(
        "--token", default=default(os.environ.get("JIS_TOKEN", "")), help="bearer token [env JIS_TOKEN]"
    )
    server.add_argument(
        "--tls-ca",
        default=default(os.environ.get("JIS_TLS_CA", "")),
        help="PEM CA bundle to verify the server's TLS certificate; absent: plaintext [env JIS_TLS_CA]",
    )
    return server


_RELATIVE = re.compile(r"^-(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def minutes(d: Duration) -> str:
    """A duration as people read it here: minutes, one decimal."""
    return f"{d.ToNanoseconds() / 60e9:.1f} min"


def parse_time(text: str, option: str, now: dt.datetime | None = None) -> Timestamp:
    """A time given on the command line: RFC 3339 (``2026-12-04T06:00:00Z``), a date
    (``2026-12-04``, midnight UTC), ``now``, ``today`` or ``yesterday`` (midnight UTC), or
    an offset back from now (``-90m``, ``-6h``, ``-2d``; the wall clock). CliError otherwise."""
    now = now or dt.datetime.now(dt.UTC)
    text = text.strip()
    when: dt.datetime | None = None
    words = {
        "now": now,
        "today": now.replace(hour=0, minute=0, second=0, microsecond=0),
        "yesterday": now.replace(hour=0, minute=0, second=0, microsecond=0) - dt.timedelta(days=1),
    }
    if text.lower() in words:
        when = words[text.lower()]
    elif m := _RELATIVE.match(text.lower()):
        when = now - dt.timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    else:
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            when = None
        if when is not None and when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
    if when is None:
        raise CliError(
            f"{option}: {text!r} is not a time: give RFC 3339 (2026-12-04T06:00:00Z), a date "
            "(2026-12-04), now, today, yesterday or an offset like -6h"
        )
    ts = Timestamp()
    ts.FromDatetime(when.astimezone(dt.UTC))
    return ts


_INT64 = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_SFIXED64,
}


def message_dict(m: Message) -> dict[str, Any]:
    """A message as protobuf's JSON mapping, except that 64-bit integers stay numbers (the
    mapping writes them as strings, which a script then has to convert)."""
    d = json_format.MessageToDict(m)
    _numbers(m.DESCRIPTOR, d)
    return d


def as_json(value: Message | Sequence[Message]) -> str:
    """A message as a JSON object, a list of them as a list; counts are numbers."""
    if isinstance(value, Message):
        return json.dumps(message_dict(value), indent=2)
    return json.dumps([message_dict(m) for m in value], indent=2)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Rows under their headers, each column as wide as its widest cell."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _numbers(descriptor: Any, d: dict[str, Any]) -> None:
    for f in descriptor.fields:
        if f.json_name not in d:
            continue
        if f.type in _INT64:
            d[f.json_name] = [int(x) for x in d[f.json_name]] if f.is_repeated else int(d[f.json_name])
        elif f.message_type is not None and not f.message_type.full_name.startswith("google.protobuf."):
            for item in d[f.json_name] if f.is_repeated else [d[f.json_name]]:
                _numbers(f.message_type, item)


MAX_ANSWER_BYTES = 16 * 1024 * 1024


def channel(server: str, token: str = "", tls_ca: str = "") -> grpc.Channel:
    """A channel to the server (or to every server of a list, following the leader: see
    jis.client_config): TLS when a CA bundle is given (the token then travels as call
    credentials), else plaintext (the token, if any, as an authorization header)."""
    try:
        target = client_config.target(server)
    except ValueError as exc:
        raise CliError(f"--server {exc}") from None
    # One server: fail fast when it is down. Several: wait for whichever leads.
    options = client_config.channel_options() if target != server else []
    # the server's default --max-message-bytes: a large answer (a what-if, a demand) arrives whole
    options = [*options, ("grpc.max_receive_message_length", MAX_ANSWER_BYTES)]
    server = target
    if tls_ca:
        try:
            with open(tls_ca, "rb") as f:
                creds = grpc.ssl_channel_credentials(f.read())
        except OSError as exc:
            raise CliError(f"--tls-ca: cannot read {tls_ca}: {exc.strerror}") from None
        if token:
            creds = grpc.composite_channel_credentials(creds, grpc.access_token_call_credentials(token))
        return grpc.secure_channel(server, creds, options=options)
    ch = grpc.insecure_channel(server, options=options)
    return grpc.intercept_channel(ch, _Bearer(token)) if token else ch


if TYPE_CHECKING:  # generic in the type stubs only
    _UnaryUnary = grpc.UnaryUnaryClientInterceptor[Any, Any]
    _UnaryStream = grpc.UnaryStreamClientInterceptor[Any, Any]
else:
    _UnaryUnary, _UnaryStream = grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor


class _Bearer(_UnaryUnary, _UnaryStream):
    """Adds ``authorization: Bearer <token>`` to every call on a plaintext channel."""

    def __init__(self, token: str) -> None:
        self.header = ("authorization", f"Bearer {token}")

    def _with_token(self, details: Any) -> Any:
        return details._replace(metadata=[*(details.metadata or ()), self.header])

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_token(details), request)

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        return continuation(self._with_token(details), request)


def rpc_failure(exc: grpc.RpcError, server: str) -> CliError:
    """The line and exit code of a failed call."""
    code, details = exc.code(), exc.details()
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return CliError(f"cannot reach the server at {server} ({code.name}: {details})", EXIT_UNREACHABLE)
    return CliError(f"the server refused: {code.name}: {details}", EXIT_REFUSED)


Output = str | tuple[str, int]
"""What a command prints, and optionally the exit code to end with (default 0)."""


def elsewhere(exc: grpc.RpcError) -> str:
    """The servers (comma-separated) of the group that owns the line a refused call named,
    from its google.rpc.ErrorInfo (reason LINE_IN_OTHER_GROUP); "" for any other failure."""
    if exc.code() != grpc.StatusCode.FAILED_PRECONDITION:
        return ""
    status = rpc_status.from_call(exc)  # type: ignore[arg-type]
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info) and info.reason == "LINE_IN_OTHER_GROUP":
            return str(info.metadata.get("addresses", ""))
    return ""


def _response_class(method: str) -> Any:
    """The response message class of a method named as gRPC does (``/pkg.Service/Method``)."""
    found = descriptor_pool.Default().FindMethodByName(method.lstrip("/").replace("/", "."))
    return message_factory.GetMessageClass(found.output_type)


class _Followed:
    """A server stream refused, before its first item, because another group owns its line:
    opened once more on that group's servers (``again``)."""

    def __init__(self, stream: Any, again: Callable[[str], Any]) -> None:
        self.stream: Any = stream
        self.again: Callable[[str], Any] | None = again

    def __iter__(self) -> _Followed:
        return self

    def __next__(self) -> Any:
        try:
            item = next(self.stream)
        except grpc.RpcError as exc:
            owner = elsewhere(exc) if self.again is not None else ""
            if not owner:
                raise
            assert self.again is not None
            self.stream, self.again = self.again(owner), None
            return next(self.stream)
        self.again = None
        return item

    def __getattr__(self, name: str) -> Any:  # cancel(), code(), ... of the stream now read
        return getattr(self.stream, name)


class _Follow(_UnaryUnary, _UnaryStream):
    """Each call refused because another engine group owns its line (FAILED_PRECONDITION,
    ErrorInfo LINE_IN_OTHER_GROUP) is sent once more, itself alone, to that group's servers:
    a command's other calls, done before or after, are not repeated."""

    def __init__(self, token: str, tls_ca: str) -> None:
        self.token, self.tls_ca = token, tls_ca
        self.channels: dict[str, grpc.Channel] = {}

    def _to(self, servers: str) -> grpc.Channel:
        if servers not in self.channels:
            self.channels[servers] = channel(servers, self.token, self.tls_ca)
        return self.channels[servers]

    def close(self) -> None:
        for ch in self.channels.values():
            ch.close()

    @staticmethod
    def _options(details: Any) -> dict[str, Any]:
        return {
            "timeout": details.timeout,
            "metadata": details.metadata,
            "wait_for_ready": details.wait_for_ready,
            "compression": details.compression,
        }

    def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
        outcome = continuation(details, request)
        exc = outcome.exception()
        owner = elsewhere(exc) if isinstance(exc, grpc.RpcError) else ""
        if not owner:
            return outcome
        call = self._to(owner).unary_unary(
            details.method,
            request_serializer=type(request).SerializeToString,
            response_deserializer=_response_class(details.method).FromString,
        )
        return call.future(request, **self._options(details))

    def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
        def again(owner: str) -> Any:
            call = self._to(owner).unary_stream(
                details.method,
                request_serializer=type(request).SerializeToString,
                response_deserializer=_response_class(details.method).FromString,
            )
            return call(request, **self._options(details))

        return _Followed(continuation(details, request), again)


def run_command(command: Callable[[grpc.Channel, argparse.Namespace], Output], a: argparse.Namespace) -> int:
    """Run a client command: its output to stdout, or one line on stderr and the exit code.
    A call refused because another engine group owns its line is sent again, once, to that
    group's servers (lines partitioned over groups: jis serve --group): that call only, so
    a command that read its input or applied earlier calls goes on where it was."""
    try:
        follow = _Follow(a.token, a.tls_ca)
        try:
            with channel(a.server, a.token, a.tls_ca) as ch:
                out = command(grpc.intercept_channel(ch, follow), a)
        except grpc.RpcError as exc:
            raise rpc_failure(exc, a.server) from None
        finally:
            follow.close()
    except CliError as exc:
        print(f"jis: {exc}", file=sys.stderr)
        return exc.code
    text, code = (out, EXIT_OK) if isinstance(out, str) else out
    if text:  # a following command printed as it went
        print(text)
    return code
