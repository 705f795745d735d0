"""Every RPC the server offers, read from its own service list, so that tests which must
cover every RPC (hostile input, authorization) cover one added later at once."""

from __future__ import annotations

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message

from jis.server import SERVICES

STUB_OF_SERVICE = {
    "BroadcastService": "broadcast",
    "SequenceService": "sequence",
    "LineService": "lines",
    "ClockService": "clock",
    "BreakService": "breaks",
    "SupplyService": "supply",
    "BuildSequenceService": "build",
    "ReportService": "reports",
    "DockService": "dock",
    "InteropService": "interop",
    "DirectoryService": "directory",
    "WhatIfService": "whatif",
}
"""Service name -> attribute of tests.conftest.Client holding its stub."""


def every_rpc() -> list[tuple[str, str, type[Message], bool]]:
    """(Client stub attribute, method name, request class, server streaming) per RPC."""
    out = []
    for full_name in SERVICES:
        service = descriptor_pool.Default().FindServiceByName(full_name)
        for m in service.methods:
            cls = message_factory.GetMessageClass(m.input_type)
            out.append((STUB_OF_SERVICE[service.name], m.name, cls, m.server_streaming))
    return out
