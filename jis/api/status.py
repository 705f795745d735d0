"""Domain errors -> gRPC status codes, at the boundary, for every RPC."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import grpc
from grpc import aio

from jis.engine.errors import DomainError

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
}


def status_of(exc: DomainError) -> grpc.StatusCode:
    return STATUS.get(exc.code_name, grpc.StatusCode.INTERNAL)


R = TypeVar("R")
StreamHandler = Callable[[Any, Any, "Ctx"], AsyncIterator[R]]
Ctx = aio.ServicerContext[Any, Any]
Handler = Callable[[Any, Any, Ctx], Awaitable[R]]


async def _abort(exc: Exception, context: Ctx, where: str) -> None:
    """Turn an exception from a servicer into its status; never lets UNKNOWN out."""
    if isinstance(exc, aio.AbortError):
        raise exc
    if isinstance(exc, DomainError):
        await context.abort(status_of(exc), str(exc))
    log.error("unexpected error in %s", where, exc_info=exc)
    await context.abort(grpc.StatusCode.INTERNAL, "internal error; see the server log")


def unary(handler: Handler[R]) -> Handler[R]:
    """Wrap a unary servicer method: DomainError -> its status; anything else -> INTERNAL."""

    @functools.wraps(handler)
    async def wrapped(self: Any, request: Any, context: Ctx) -> R:
        try:
            return await handler(self, request, context)
        except Exception as exc:
            await _abort(exc, context, handler.__qualname__)
        raise AssertionError("unreachable")  # context.abort always raises

    return wrapped


def stream(handler: StreamHandler[R]) -> StreamHandler[R]:
    """The same for a server-streaming method (an async generator)."""

    @functools.wraps(handler)
    async def wrapped(self: Any, request: Any, context: Ctx) -> AsyncIterator[R]:
        try:
            async for item in handler(self, request, context):
                yield item
        except Exception as exc:
            await _abort(exc, context, handler.__qualname__)

    return wrapped
