"""Domain errors -> gRPC status codes, at the boundary, for every RPC."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc
from google.protobuf import any_pb2
from google.rpc import error_details_pb2, status_pb2
from grpc import aio

from jis.api.auth import Authorizer
from jis.api.handlers import WRITE, Admission, Overloaded, Undecodable, kind_of
from jis.errors import DomainError, InvalidArgument, Unavailable
from jis.metrics import Metrics

log = logging.getLogger(__name__)

STATUS_DETAILS = "grpc-status-details-bin"
"""Trailing metadata of a google.rpc.Status with details (what grpc-status clients read)."""
DIRECTORY_SERVICE = "jis.v1.DirectoryService"

STATUS = {
    "INVALID_ARGUMENT": grpc.StatusCode.INVALID_ARGUMENT,
    "FAILED_PRECONDITION": grpc.StatusCode.FAILED_PRECONDITION,
    "ALREADY_EXISTS": grpc.StatusCode.ALREADY_EXISTS,
    "NOT_FOUND": grpc.StatusCode.NOT_FOUND,
    "OUT_OF_RANGE": grpc.StatusCode.OUT_OF_RANGE,
    "RESOURCE_EXHAUSTED": grpc.StatusCode.RESOURCE_EXHAUSTED,
    "PERMISSION_DENIED": grpc.StatusCode.PERMISSION_DENIED,
    "UNAUTHENTICATED": grpc.StatusCode.UNAUTHENTICATED,
    "UNAVAILABLE": grpc.StatusCode.UNAVAILABLE,
    "DEADLINE_EXCEEDED": grpc.StatusCode.DEADLINE_EXCEEDED,
}


def status_of(exc: DomainError) -> grpc.StatusCode:
    return STATUS.get(exc.code_name, grpc.StatusCode.INTERNAL)


R = TypeVar("R")
StreamHandler = Callable[[Any, Any, "Ctx"], AsyncIterator[R]]
Ctx = aio.ServicerContext[Any, Any]
Handler = Callable[[Any, Any, Ctx], Awaitable[R]]


def _code_of(exc: BaseException, context: Ctx) -> str:
    if isinstance(exc, DomainError):
        return status_of(exc).name
    if isinstance(exc, aio.AbortError):
        code = context.code()
        return code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
    if isinstance(exc, asyncio.CancelledError):
        return "CANCELLED"
    return "INTERNAL"


MAX_DETAILS = 1024
"""Longest status message sent: it travels in a header, and grpc refuses large headers."""


def _details(exc: DomainError) -> str:
    text = str(exc)
    return text if len(text) <= MAX_DETAILS else text[: MAX_DETAILS - 3] + "..."


async def _abort(exc: Exception, context: Ctx, where: str) -> None:
    """Turn an exception from a servicer into its status; never lets UNKNOWN out."""
    if isinstance(exc, aio.AbortError):
        raise exc
    if isinstance(exc, DomainError):
        info = getattr(exc, "error_info", None)
        if info is None:
            await context.abort(status_of(exc), _details(exc))
        reason, metadata = info()
        detail = any_pb2.Any()
        detail.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="jis", metadata=metadata))
        code = status_of(exc)
        status = status_pb2.Status(code=code.value[0], message=_details(exc), details=[detail])
        await context.abort(
            code, _details(exc), trailing_metadata=((STATUS_DETAILS, status.SerializeToString()),)
        )
    log.error("unexpected error in %s", where, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error; see the server log")


def _started(servicer: Any, kind: str, method: str) -> float:
    """The RPC's start: counted (grpc_server_started_total), and its time returned."""
    metrics: Metrics | None = getattr(getattr(servicer, "gw", None), "metrics", None)
    if metrics is not None:
        metrics.rpc_started.labels(kind, getattr(servicer, "grpc_service", ""), method).inc()
    return time.perf_counter()


def _observe(servicer: Any, kind: str, method: str, code: str, started: float) -> None:
    metrics: Metrics | None = getattr(getattr(servicer, "gw", None), "metrics", None)
    if metrics is not None:
        service = getattr(servicer, "grpc_service", "")
        metrics.rpc_handled.labels(kind, service, method, code).inc()
        metrics.rpc_duration.labels(kind, service, method).observe(time.perf_counter() - started)


async def _authorize(servicer: Any, method: str, request: Any, context: Ctx) -> None:
    """With credentials configured: UNAUTHENTICATED / PERMISSION_DENIED unless the caller
    may make this call (jis.api.auth), before anything else looks at the request (None:
    the request could not be decoded; only the caller and the RPC are checked)."""
    auth: Authorizer | None = getattr(getattr(servicer, "gw", None), "auth", None)
    if auth is None:
        return
    metadata = {k.lower(): v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
    names = [n.decode() for n in context.auth_context().get("x509_common_name", [])]
    await auth.check(method, request, metadata, names)


async def _undecodable(servicer: Any, method: str, request: Undecodable, context: Ctx) -> NoReturn:
    """INVALID_ARGUMENT for request bytes that are no message of the RPC's type (after the
    caller is checked: an anonymous caller learns nothing from a refusal of its bytes)."""
    await _authorize(servicer, method, None, context)
    log.warning("%s from %s: request cannot be decoded as %s", method, context.peer(), request.type_name)
    raise InvalidArgument("request", f"cannot be decoded as {request.type_name}")


def lines_of(request: Any) -> list[str]:
    """The line ids a request names: its line_id, its broadcast's or broadcasts', its columns'."""
    fields = request.DESCRIPTOR.fields_by_name
    out = []
    if "line_id" in fields:
        out.append(request.line_id)
    if "broadcast" in fields:
        out.append(request.broadcast.line_id)
    if "broadcasts" in fields:
        out += [b.line_id for b in request.broadcasts]
    if "line_ids" in fields and request.DESCRIPTOR.full_name == "jis.v1.BroadcastColumns":
        out += list(request.line_ids)
    return [x for x in dict.fromkeys(out) if x]  # each line once, in order: a batch names one often


def _route(servicer: Any, request: Any) -> None:
    """With lines partitioned over groups (jis.directory): FAILED_PRECONDITION, with where
    the line lives, for a request naming a line this server's group does not own."""
    directory = getattr(getattr(servicer, "gw", None), "directory", None)
    if directory is None or getattr(servicer, "grpc_service", "") == DIRECTORY_SERVICE:
        return
    directory.route(lines_of(request))


def _admission(servicer: Any) -> Admission | None:
    return getattr(getattr(servicer, "gw", None), "admission", None)


def unary(handler: Handler[R]) -> Handler[R]:
    """Wrap a unary servicer method: admitted (jis.api.handlers), caller authorized,
    DomainError -> its status, anything else -> INTERNAL. Observes the RPC's count and
    duration once."""
    name = handler.__name__
    kind = kind_of(name)

    @functools.wraps(handler)
    async def wrapped(self: Any, request: Any, context: Ctx) -> R:
        started, code = _started(self, "unary", name), "OK"
        admission = _admission(self)
        if type(request) is Overloaded:
            assert admission is not None
            _observe(self, "unary", name, "RESOURCE_EXHAUSTED", started)
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"server busy: {admission.limit_text(request.kind)}; retry later",
            )
        if admission is not None:
            admission.in_flight[kind] += 1
        try:
            if type(request) is Undecodable:
                await _undecodable(self, name, request, context)
            await _authorize(self, name, request, context)
            # A standby refuses writes to the engine log; any server writes the directory (NATS KV).
            if (
                kind == WRITE
                and admission is not None
                and admission.standby is not None
                and getattr(self, "grpc_service", "") != DIRECTORY_SERVICE
            ):
                raise Unavailable("", admission.standby)
            _route(self, request)
            return await handler(self, request, context)
        except BaseException as exc:
            code = _code_of(exc, context)
            if not isinstance(exc, Exception):
                raise
            await _abort(exc, context, handler.__qualname__)
        finally:
            if admission is not None:
                admission.in_flight[kind] -= 1
            _observe(self, "unary", name, code, started)
        raise AssertionError("unreachable")  # context.abort always raises

    return wrapped


def stream(handler: StreamHandler[R]) -> StreamHandler[R]:
    """The same for a server-streaming method (an async generator), without admission."""
    name = handler.__name__

    @functools.wraps(handler)
    async def wrapped(self: Any, request: Any, context: Ctx) -> AsyncIterator[R]:
        started, code = _started(self, "server_stream", name), "OK"
        try:
            if type(request) is Undecodable:
                await _undecodable(self, name, request, context)
            await _authorize(self, name, request, context)
            _route(self, request)
            async for item in handler(self, request, context):
                yield item
        except BaseException as exc:
            code = _code_of(exc, context)
            if not isinstance(exc, Exception):
                raise
            await _abort(exc, context, handler.__qualname__)
        finally:
            _observe(self, "server_stream", name, code, started)

    return wrapped
