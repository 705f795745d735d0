"""Domain errors -> gRPC status codes, at the boundary, for every RPC."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from grpc import aio

from jis.api.auth import Authorizer
from jis.engine.errors import DomainError
from jis.metrics import Metrics

log = logging.getLogger(__name__)

STATUS = {
    "INVALID_ARGUMENT": grpc.StatusCode.INVALID_ARGUMENT,
    "FAILED_PRECONDITION": grpc.StatusCode.FAILED_PRECONDITION,
    "ALREADY_EXISTS": grpc.StatusCode.ALREADY_EXISTS,
    "NOT_FOUND": grpc.StatusCode.NOT_FOUND,
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


async def _abort(exc: Exception, context: Ctx, where: str) -> None:
    """Turn an exception from a servicer into its status; never lets UNKNOWN out."""
    if isinstance(exc, aio.AbortError):
        raise exc
    if isinstance(exc, DomainError):
        await context.abort(status_of(exc), str(exc))
    log.error("unexpected error in %s", where, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error; see the server log")


def _observe(servicer: Any, method: str, code: str, started: float) -> None:
    metrics: Metrics | None = getattr(getattr(servicer, "gw", None), "metrics", None)
    if metrics is not None:
        metrics.rpc_requests.labels(method, code).inc()
        metrics.rpc_duration.labels(method).observe(time.perf_counter() - started)


async def _authorize(servicer: Any, method: str, request: Any, context: Ctx) -> None:
    """With credentials configured: UNAUTHENTICATED / PERMISSION_DENIED unless the caller
    may make this call (jis.api.auth), before anything else looks at the request."""
    auth: Authorizer | None = getattr(getattr(servicer, "gw", None), "auth", None)
    if auth is None:
        return
    metadata = {k.lower(): v for k, v in context.invocation_metadata() or () if isinstance(v, str)}
    names = [n.decode() for n in context.auth_context().get("x509_common_name", [])]
    await auth.check(method, request, metadata, names)


def unary(handler: Handler[R]) -> Handler[R]:
    """Wrap a unary servicer method: caller authorized, DomainError -> its status, anything
    else -> INTERNAL. Observes the RPC's count and duration once."""

    @functools.wraps(handler)
    async def wrapped(self: Any, request: Any, context: Ctx) -> R:
        started, code = time.perf_counter(), "OK"
        try:
            await _authorize(self, handler.__name__, request, context)
            return await handler(self, request, context)
        except BaseException as exc:
            code = _code_of(exc, context)
            if not isinstance(exc, Exception):
                raise
            await _abort(exc, context, handler.__qualname__)
        finally:
            _observe(self, handler.__name__, code, started)
        raise AssertionError("unreachable")  # context.abort always raises

    return wrapped


def stream(handler: StreamHandler[R]) -> StreamHandler[R]:
    """The same for a server-streaming method (an async generator)."""

    @functools.wraps(handler)
    async def wrapped(self: Any, request: Any, context: Ctx) -> AsyncIterator[R]:
        started, code = time.perf_counter(), "OK"
        try:
            await _authorize(self, handler.__name__, request, context)
            async for item in handler(self, request, context):
                yield item
        except BaseException as exc:
            code = _code_of(exc, context)
            if not isinstance(exc, Exception):
                raise
            await _abort(exc, context, handler.__qualname__)
        finally:
            _observe(self, handler.__name__, code, started)

    return wrapped
