"""Who is calling, and may they: identities from bearer tokens or client certificates,
mapped to roles, and a rule per RPC.

Roles: ``mes`` (publish broadcasts, for its lines if it lists any), ``supplier:<id>``
(its own build sequences, slots, racks, appointments, breaks, inventory and KPIs),
``dock`` (yard events and appointments, racks at the plant), ``operator`` (read
everything), ``admin`` (everything). With credentials configured every RPC needs an
identity (UNAUTHENTICATED otherwise) and a role the RPC allows (PERMISSION_DENIED
otherwise). A supplier that leaves a list's ``supplier_id`` empty gets its own data; one
that names another supplier, or touches another supplier's rack or appointment, is
refused on every RPC, streams included.

The credentials file (JSON) holds no secret: tokens are stored as their SHA-256.

    {"identities": [
      {"name": "mes-1", "role": "mes", "token_sha256": "<hex>", "lines": ["L1"]},
      {"name": "seatco", "role": "supplier:SEATCO", "token_sha256": "<hex>"},
      {"name": "seatco-plant", "role": "supplier:SEATCO", "client_cert_cn": "seatco-plant"}
    ]}

``jis token NAME ROLE`` prints a new token and the line to add.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jis.errors import DomainError


class Unauthenticated(DomainError):
    code_name = "UNAUTHENTICATED"


class PermissionDenied(DomainError):
    code_name = "PERMISSION_DENIED"


class Role(enum.Enum):
    ADMIN = "admin"
    OPERATOR = "operator"
    MES = "mes"
    DOCK = "dock"
    SUPPLIER = "supplier"


@dataclass(frozen=True, slots=True)
class Identity:
    name: str
    role: Role
    supplier_id: str = ""
    """For the supplier role: the supplier it is."""
    lines: frozenset[str] = frozenset()
    """For the mes role: the lines it may publish for (empty: all)."""


def parse_role(text: str) -> tuple[Role, str]:
    """``"supplier:SEATCO"`` -> (SUPPLIER, "SEATCO"); ``"mes"`` -> (MES, "")."""
    kind, _, supplier = text.partition(":")
    try:
        role = Role(kind)
    except ValueError:
        raise ValueError(f"unknown role {text!r}; one of admin, operator, mes, dock, supplier:<id>") from None
    if (role == Role.SUPPLIER) != bool(supplier):
        raise ValueError(f"role {text!r}: a supplier role is supplier:<id>, and only it has an id")
    return role, supplier


def token_sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Credentials:
    tokens: dict[str, Identity] = field(default_factory=dict)
    """SHA-256 (hex) of a bearer token -> identity."""
    subjects: dict[str, Identity] = field(default_factory=dict)
    """Client certificate common name -> identity (mutual TLS)."""

    @classmethod
    def load(cls, path: Path) -> Credentials:
        """Read a credentials file; ValueError with the file and entry named when malformed."""
        try:
            doc = json.loads(path.read_text())
            entries = doc["identities"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: not a credentials file ({exc})") from None
        creds = cls()
        for i, e in enumerate(entries):
            where = f"{path}: identities[{i}]"
            try:
                role, supplier = parse_role(str(e["role"]))
                ident = Identity(str(e["name"]), role, supplier, frozenset(map(str, e.get("lines", []))))
            except (KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"{where}: {exc}") from None
            digest, cn = e.get("token_sha256"), e.get("client_cert_cn")
            if not digest and not cn:
                raise ValueError(f"{where}: needs token_sha256 or client_cert_cn")
            if digest:
                if len(str(digest)) != 64:
                    raise ValueError(f"{where}: token_sha256 must be 64 hex digits")
                creds.tokens[str(digest).lower()] = ident
            if cn:
                creds.subjects[str(cn)] = ident
        return creds

    def identify(self, metadata: dict[str, str], common_names: list[str]) -> Identity | None:
        """The caller's identity: its bearer token, else its client certificate; None if it
        presented neither. A token presented but unknown is UNAUTHENTICATED."""
        header = metadata.get("authorization", "")
        if header:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token:
                raise Unauthenticated("authorization", "expected 'Bearer <token>'")
            digest = token_sha256(token.strip())
            for known, ident in self.tokens.items():
                if hmac.compare_digest(known, digest):
                    return ident
            raise Unauthenticated("authorization", "unknown token")
        for cn in common_names:
            if cn in self.subjects:
                return self.subjects[cn]
        return None


current_identity: ContextVar[Identity | None] = ContextVar("current_identity", default=None)
"""The caller of the RPC being handled (None without credentials configured), for the
checks a servicer can only make once it has read the request (e.g. an EDIFACT payload)."""


def check_lines(ident: Identity | None, line_ids: list[tuple[str, str]]) -> None:
    """PERMISSION_DENIED unless ``ident`` may publish for each (field, line id): only a mes
    identity that lists its lines is limited."""
    if ident is None or ident.role != Role.MES or not ident.lines:
        return
    for name, line_id in line_ids:
        if line_id not in ident.lines:
            raise PermissionDenied(name, f"{ident.name} may not publish for line {line_id!r}")


def require_lines(line_ids: list[tuple[str, str]]) -> None:
    """:func:`check_lines` for the caller of the RPC being handled."""
    check_lines(current_identity.get(), line_ids)


def require_supplier(name: str, supplier_id: str) -> None:
    """PERMISSION_DENIED if the caller is a supplier other than ``supplier_id``."""
    ident = current_identity.get()
    if ident is not None and ident.role == Role.SUPPLIER and ident.supplier_id != supplier_id:
        raise PermissionDenied(
            name, f"{ident.name} acts for supplier {ident.supplier_id!r}, not {supplier_id!r}"
        )


# -- rules ---------------------------------------------------------------------------

READERS = frozenset({Role.OPERATOR, Role.ADMIN})
Owner = Callable[[Any, Any], Awaitable[str]]
"""(engine gateway, request) -> the supplier that owns what the request touches."""


@dataclass(frozen=True, slots=True)
class Rule:
    roles: frozenset[Role]
    """Roles allowed besides a supplier acting on its own data."""
    supplier_field: str = ""
    """Request field naming the supplier (a path like ``spec.supplier_id``): a supplier must
    name itself; with ``own_by_default`` an empty one becomes its own."""
    own_by_default: bool = False
    owner: str = ""
    """``rack_id`` or ``appointment_id``: a supplier may only touch its own."""
    line_check: bool = False
    """mes: every broadcast's line must be one of its lines."""


def _rule(*roles: Role, **kw: Any) -> Rule:
    return Rule(frozenset(roles) | {Role.ADMIN}, **kw)


SUPPLIER_LIST = {"supplier_field": "supplier_id", "own_by_default": True}

RULES: dict[str, Rule] = {
    # BroadcastService
    "Publish": _rule(Role.MES, line_check=True),
    "PublishBatch": _rule(Role.MES, line_check=True),
    "PublishColumns": _rule(Role.MES, line_check=True),
    # SequenceService, LineService, ClockService
    "GetVehicle": _rule(Role.OPERATOR, Role.MES),
    "ListSequence": _rule(Role.OPERATOR, Role.MES),
    "ConfigureLine": _rule(),
    "GetLine": _rule(Role.OPERATOR, Role.MES, Role.DOCK),
    "ListLines": _rule(Role.OPERATOR, Role.MES, Role.DOCK),
    "GetClock": _rule(Role.OPERATOR, Role.MES, Role.DOCK, Role.SUPPLIER),
    # DirectoryService: where lines live is every client's business; AssignLine is admin's
    "ListAssignments": _rule(Role.OPERATOR, Role.MES, Role.DOCK, Role.SUPPLIER),
    "AssignLine": _rule(),
    "MoveLine": _rule(),
    "SetClock": _rule(),
    # BreakService
    "ListBreaks": _rule(Role.OPERATOR, Role.MES, Role.DOCK, Role.SUPPLIER, **SUPPLIER_LIST),
    "WatchBreaks": _rule(Role.OPERATOR, Role.MES, Role.DOCK, Role.SUPPLIER, **SUPPLIER_LIST),
    # SupplyService
    "ConfigureSupplier": _rule(),
    "ReportBuild": _rule(Role.SUPPLIER, supplier_field="supplier_id"),
    "DispatchRack": _rule(Role.SUPPLIER, supplier_field="supplier_id"),
    "MoveRack": _rule(Role.DOCK, Role.SUPPLIER, owner="rack_id"),
    "UpdateRackEta": _rule(Role.DOCK, Role.SUPPLIER, owner="rack_id"),
    "GetRack": _rule(Role.OPERATOR, Role.DOCK, Role.SUPPLIER, owner="rack_id"),
    # BuildSequenceService
    "GetBuildSequence": _rule(Role.OPERATOR, Role.SUPPLIER, supplier_field="supplier_id"),
    "WatchBuildSequence": _rule(Role.OPERATOR, Role.SUPPLIER, supplier_field="supplier_id"),
    # ReportService
    "GetInventory": _rule(Role.OPERATOR, Role.SUPPLIER, **SUPPLIER_LIST),
    "GetKpis": _rule(Role.OPERATOR, Role.SUPPLIER, **SUPPLIER_LIST),
    "GetDemand": _rule(Role.OPERATOR, Role.SUPPLIER, supplier_field="supplier_id"),
    "WatchDemand": _rule(Role.OPERATOR, Role.SUPPLIER, supplier_field="supplier_id"),
    # DockService
    "BookAppointment": _rule(Role.DOCK, Role.SUPPLIER, supplier_field="supplier_id"),
    "ChangeAppointment": _rule(
        Role.DOCK, Role.SUPPLIER, supplier_field="supplier_id", owner="appointment_id"
    ),
    "CancelAppointment": _rule(Role.DOCK, Role.SUPPLIER, owner="appointment_id"),
    "RecordYardEvent": _rule(Role.DOCK),
    "GetAppointment": _rule(Role.OPERATOR, Role.DOCK, Role.SUPPLIER, owner="appointment_id"),
    "GetYard": _rule(Role.OPERATOR, Role.DOCK),
    # InteropService: lines and rack owners are checked once the request is read
    "ImportDeljit": _rule(Role.MES),
    "ExportDesadv": _rule(Role.OPERATOR, Role.DOCK, Role.SUPPLIER),
    # WhatIfService: the whole plant's breaks on a fork, for the plant's planners
    "Run": _rule(Role.OPERATOR),
}


class Authorizer:
    """Checks each call against :data:`RULES`; ``owner_of`` asks the engine who owns a
    rack or appointment (``(kind, id) -> supplier_id``, NOT_FOUND when unknown)."""

    def __init__(self, credentials: Credentials, owner_of: Callable[[str, str], Awaitable[str]]) -> None:
        self.credentials = credentials
        self.owner_of = owner_of

    async def check(
        self, method: str, request: Any, metadata: dict[str, str], common_names: list[str]
    ) -> Identity:
        ident = self.credentials.identify(metadata, common_names)
        if ident is None:
            raise Unauthenticated(
                "authorization", "credentials required: a bearer token or a client certificate"
            )
        rule = RULES.get(method)
        if rule is None:  # an RPC without a rule is closed to all but admin
            rule = _rule()
        if ident.role not in rule.roles:
            raise PermissionDenied("", f"{ident.name} ({ident.role.value}) may not call {method}")
        if request is None:  # undecodable: refused anyway, nothing in it to check
            return ident
        if ident.role == Role.SUPPLIER:
            await self._own(ident, method, rule, request)
        if rule.line_check:
            self._lines(ident, request)
        current_identity.set(ident)
        return ident

    async def _own(self, ident: Identity, method: str, rule: Rule, request: Any) -> None:
        if rule.supplier_field:
            named = getattr(request, rule.supplier_field)
            if not named and rule.own_by_default:
                setattr(request, rule.supplier_field, ident.supplier_id)
            elif named != ident.supplier_id:
                raise PermissionDenied(
                    rule.supplier_field,
                    f"{ident.name} acts for supplier {ident.supplier_id!r}, not {named!r}",
                )
        if rule.owner:
            what = getattr(request, rule.owner)
            owner = await self.owner_of(rule.owner, what)
            if owner != ident.supplier_id:
                raise PermissionDenied(rule.owner, f"{what!r} is not supplier {ident.supplier_id!r}'s")

    @staticmethod
    def _lines(ident: Identity, request: Any) -> None:
        if hasattr(request, "broadcasts"):
            pairs = [(f"broadcasts[{i}].line_id", b.line_id) for i, b in enumerate(request.broadcasts)]
        elif hasattr(request, "line_ids"):  # packed columns: every line the request names
            pairs = [(f"line_ids[{i}]", line_id) for i, line_id in enumerate(request.line_ids)]
        else:
            pairs = [("broadcast.line_id", request.broadcast.line_id)]
        check_lines(ident, pairs)
