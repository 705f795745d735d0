"""How each RPC is registered: request bytes that are no message, and admission.

The services are registered from their descriptors here, not by the generated
``add_*_to_server`` functions, for one reason: the request deserializer. grpc calls it on
the event loop before the servicer method; an exception there becomes ``UNKNOWN`` with a
traceback in the log. Ours never raises: bytes that are not the RPC's message decode to
:class:`Undecodable`, which the status wrapper answers with INVALID_ARGUMENT.

It is also the first place a request reaches: a unary call beyond its class's admission
limit (:class:`Admission`) is refused there, before its bytes are parsed, so a refusal
under overload costs the server almost nothing and answers at once. Writes and reads are
admitted separately, so an operator can still read while writes are refused.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message

READ, WRITE = 0, 1
READ_PREFIXES = ("Get", "List")
"""Unary RPCs whose names start so only read the state; every other unary RPC writes..."""
READ_NAMES = frozenset({"Run"})
"""... but these: WhatIfService.Run works on a fork and never writes (a standby serves it)."""


def kind_of(method: str) -> int:
    return READ if method.startswith(READ_PREFIXES) or method in READ_NAMES else WRITE


class Undecodable:
    """What the deserializer yields for bytes that are not the RPC's request message."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name


class Overloaded:
    """What the deserializer yields for a call beyond its admission limit (not decoded)."""

    __slots__ = ("kind",)

    def __init__(self, kind: int) -> None:
        self.kind = kind


OVERLOADED = (Overloaded(READ), Overloaded(WRITE))


class Admission:
    """Unary calls in flight (admitted, not yet answered), per class, with a limit each.

    Used on the event loop only (the deserializer and the status wrapper run there), so
    plain counters suffice. The check and the count are a step apart (the deserializer
    checks, the wrapper counts): a few calls decoded in between may pass the limit by as
    many, which is what a bound meant to stop a flood is for."""

    __slots__ = ("in_flight", "limits", "standby")

    def __init__(self, max_writes: int, max_reads: int) -> None:
        self.limits = [max_reads, max_writes]
        self.in_flight = [0, 0]
        self.standby: str | None = None
        """Set while this server is a standby (jis.ha): why unary writes are UNAVAILABLE."""

    def full(self, kind: int) -> bool:
        return self.in_flight[kind] >= self.limits[kind]

    def limit_text(self, kind: int) -> str:
        what = "read" if kind == READ else "write"
        return f"{self.limits[kind]} {what} calls in flight"


def _deserializer(
    cls: type[Message], kind: int | None, admission: Admission | None
) -> Callable[[bytes], Any]:
    type_name = cls.DESCRIPTOR.full_name
    from_string = cls.FromString
    refused = None if kind is None else OVERLOADED[kind]

    def decode(data: bytes) -> Any:
        if refused is not None and admission is not None and admission.full(refused.kind):
            return refused
        try:
            return from_string(data)
        except Exception:  # DecodeError, or what the parser makes of absurd nesting
            return Undecodable(type_name)

    return decode


def add_service(
    server: grpc.aio.Server, servicer: object, service: ServiceDescriptor, admission: Admission | None
) -> None:
    """Register every method of ``service`` on ``server``, served by ``servicer``'s method
    of the same name (wrapped by jis.api.status)."""
    servicer.grpc_service = service.full_name  # type: ignore[attr-defined]  # the metrics' label
    handlers = {}
    for m in service.methods:
        request = message_factory.GetMessageClass(m.input_type)
        response = message_factory.GetMessageClass(m.output_type)
        if m.server_streaming:
            make: Any = grpc.unary_stream_rpc_method_handler
            kind = None  # streams live long: their number is bounded by their fan-out, not here
        else:
            make, kind = grpc.unary_unary_rpc_method_handler, kind_of(m.name)
        handlers[m.name] = make(
            getattr(servicer, m.name),
            request_deserializer=_deserializer(request, kind, admission),
            response_serializer=response.SerializeToString,
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service.full_name, handlers),))
    # as the generated code does: registered methods skip the generic handler lookup per call
    server.add_registered_method_handlers(service.full_name, handlers)  # type: ignore[attr-defined]
