"""EDIFACT at the edge: DELJIT interchanges in (as broadcasts), DESADV out (for racks).

Tokenizing (UNA service characters, release character ``?``) is pydifact's; this module
checks the envelope (UNB/UNZ and UNH/UNT control references and counts, directories
D.96A, D.97A, D.04B) and maps segments to the engine's values. A malformed message is
refused alone, with the message reference, segment position (1-based within the
interchange, UNA not counted) and tag; the other messages of the interchange go on.

DELJIT mapping (one broadcast per SEQ group; header values apply to every group):

| segment | qualifier | becomes |
| --- | --- | --- |
| BGM | any | mandatory (the document number: the call number with ``call_no_from_bgm``) |
| DTM (header) | 137 document date | ``event_time`` |
| NAD | SE or SU (supplier) | ``supplier_id`` of every part; BY (buyer) is read and ignored |
| LOC (header or group) | 11 place of unloading | ``line_id`` (the group's wins; none at all: refused) |
| SEQ | 1 add, 2 cancel, 3 change, ZP pull, ZR reinsert, ZI installed; see below | ``action``, ``seq_no`` |
| RFF (header or group) | AAN (delivery schedule number) | ``call_no`` (the group's wins; one per level) |
| DTM (group) | 2 requested delivery | ``need_time`` (one per group) |
| GIR (SEQ or LIN level) | VV (VIN) or BN (production number) | ``vehicle_id`` (the first; later ones agree) |
| LIN | 3rd element, item number | ``group`` of a part |
| PIA | 1 or 5; item type SA, else BP/IN | ``part_number`` (the variant; see PIA_RANK) |
| QTY | 113, 12 or 1 | ``quantity`` (absent: 1; ``1.000`` is 1, a fraction is refused) |

A sender's own SEQ action codes come from a file (:func:`load_action_codes`). With
``call_no_from_bgm`` the call number is BGM's document number instead, RFF+AAN is not read,
and a message holds one SEQ group.

Dates: DTM format 203 (CCYYMMDDHHMM), 204 (CCYYMMDDHHMMSS) or 102 (CCYYMMDD), UTC.
Messages may stand in functional groups (UNG ... UNE, all of them or none); control
counts (UNT, UNE, UNZ) may have leading zeros.
"""

from __future__ import annotations

import datetime as dt
import tomllib
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pydifact.exceptions import EDISyntaxError, ValidationError
from pydifact.parser import Parser
from pydifact.segments import Segment
from pydifact.serializer import Serializer

from jis.engine.limits import has_control
from jis.engine.model import Action, AppointmentView, Broadcast, PartDemand, RackView

DIRECTORIES = {("D", "96A"), ("D", "97A"), ("D", "04B")}
ACTIONS = {
    "1": Action.ADD,
    "2": Action.CANCEL,
    "3": Action.CHANGE,
    "ZP": Action.PULL,
    "ZR": Action.REINSERT,
    "ZI": Action.INSTALLED,
}
ACTION_NAMES = {a.name.lower(): a for a in ACTIONS.values()}
"""The engine's actions by the names an action-code file uses (``add``, ``cancel``, ...), in
the order of the standard codes, as a refusal lists them."""
MAX_ACTION_CODE = 3
"""Longest SEQ action code (UNTDID 1229, an..3)."""
ActionCodes = Mapping[str, Mapping[str, Action]]
"""A sender's own SEQ action codes: UNB sender identification -> {code: action}."""
DATE_FORMATS = {"203": "%Y%m%d%H%M", "204": "%Y%m%d%H%M%S", "102": "%Y%m%d"}
MAX_INTERCHANGE_BYTES = 8 * 1024 * 1024
MAX_PARTY_ID = 35
"""Longest interchange sender or recipient identification (UNB 0004, 0010: an..35)."""
MAX_CONTROL_REFERENCE = 14
"""Longest interchange control reference and message reference (UNB 0020, UNH 0062: an..14)."""
MAX_REFERENCE_DIGITS = MAX_CONTROL_REFERENCE - 2


class EdiError(Exception):
    """A structural or content error, located by message, segment position and tag."""

    def __init__(self, text: str, position: int = 0, tag: str = "", message: str = "") -> None:
        where = ", ".join(
            x
            for x in (f"message {message}" if message else "", f"segment {position}" if position else "")
            if x
        )
        super().__init__(f"{where} ({tag}): {text}" if where else text)
        self.text, self.position, self.tag, self.message = text, position, tag, message


@dataclass
class DeljitMessage:
    reference: str
    broadcasts: list[Broadcast] = field(default_factory=list)
    error: EdiError | None = None


def _parse(data: bytes) -> list[Segment]:
    if len(data) > MAX_INTERCHANGE_BYTES:
        raise EdiError(f"interchange larger than {MAX_INTERCHANGE_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("iso8859-1")  # UNOC/UNOA interchanges are Latin-1
    try:
        with warnings.catch_warnings():
            # pydifact warns for every segment it has no directory XML for; the envelope and
            # content checks below are this module's.
            warnings.simplefilter("ignore")
            return [s for s in Parser().parse(text.strip()) if s.tag != "UNA"]
    except (EDISyntaxError, ValidationError, ValueError, IndexError, TypeError, KeyError) as exc:
        # pydifact signals some malformed input with plain ValueError (e.g. a lowercase tag)
        raise EdiError(f"not an EDIFACT interchange: {exc}") from None


def _el(seg: Segment, i: int, j: int = 0) -> str:
    """Component ``j`` of element ``i`` ('' when absent)."""
    if i >= len(seg.elements):
        return ""
    e = seg.elements[i]
    if isinstance(e, list):
        return str(e[j]) if j < len(e) and e[j] is not None else ""
    return str(e) if j == 0 and e is not None else ""


def _count(value: str) -> int | None:
    """A control count (UNT 0074, UNE 0060, UNZ 0036): digits, leading zeros allowed."""
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def read_deljit(
    data: bytes, *, call_no_from_bgm: bool = False, action_codes: ActionCodes | None = None
) -> tuple[str, list[DeljitMessage]]:
    """The interchange's control reference and its messages, each converted or refused.

    Messages stand directly in the interchange or in functional groups (UNG ... UNE), not
    both. Raises EdiError for an interchange whose envelope is broken (then nothing applies).
    ``call_no_from_bgm``: each message's call number is its BGM document number (1004), not
    RFF+AAN. ``action_codes``: SEQ action codes of particular senders (UNB 0004), beside
    (and before) the standard ones; see :func:`load_action_codes`."""
    segs = _parse(data)
    if not segs or segs[0].tag != "UNB":
        raise EdiError(
            "an interchange starts with UNB (after an optional UNA)", 1, segs[0].tag if segs else ""
        )
    if segs[-1].tag != "UNZ":
        raise EdiError("an interchange ends with UNZ", len(segs), segs[-1].tag)
    reference = _el(segs[0], 4)
    sender = _el(segs[0], 1)
    actions: Mapping[str, Action] = {**ACTIONS, **(action_codes or {}).get(sender, {})}
    unz = segs[-1]
    if _el(unz, 1) != reference:
        raise EdiError(
            f"UNZ control reference {_el(unz, 1)!r} differs from UNB's {reference!r}", len(segs), "UNZ"
        )
    messages: list[DeljitMessage] = []
    groups = 0
    group: tuple[int, str, int] | None = None
    """The open functional group: its UNG's index, its reference, messages before it."""
    i = 1
    while i < len(segs) - 1:
        tag = segs[i].tag
        if tag == "UNG":
            if group is not None:
                raise EdiError("functional group inside a functional group (UNE missing)", i + 1, tag)
            if messages and not groups:
                raise EdiError("functional group after messages outside any group", i + 1, tag)
            group, groups, i = (i, _el(segs[i], 4), len(messages)), groups + 1, i + 1
            continue
        if tag == "UNE":
            if group is None:
                raise EdiError("UNE without UNG", i + 1, tag)
            _, group_ref, before = group
            if _el(segs[i], 1) != group_ref:
                raise EdiError(
                    f"UNE group reference {_el(segs[i], 1)!r} differs from UNG's {group_ref!r}", i + 1, tag
                )
            if _count(_el(segs[i], 0)) != len(messages) - before:
                raise EdiError(
                    f"UNE counts {_el(segs[i], 0)!r} messages, the group has {len(messages) - before}",
                    i + 1,
                    tag,
                )
            group, i = None, i + 1
            continue
        if tag != "UNH":
            raise EdiError("segment outside a message (expected UNH)", i + 1, tag)
        if groups and group is None:
            raise EdiError("message outside a functional group after one (UNG missing)", i + 1, tag)
        j = i + 1
        while j < len(segs) - 1 and segs[j].tag not in ("UNT", "UNH", "UNG", "UNE"):
            j += 1
        if segs[j].tag != "UNT":
            raise EdiError("message without UNT", i + 1, "UNH")
        ref = _el(segs[i], 0)
        msg = DeljitMessage(ref)
        try:
            msg.broadcasts = _message(segs, i, j, ref, sender, actions, call_no_from_bgm)
        except EdiError as exc:
            msg.error = exc
        messages.append(msg)
        i = j + 1
    if group is not None:
        raise EdiError("functional group without UNE", group[0] + 1, "UNG")
    counted, what = (groups, "functional groups") if groups else (len(messages), "messages")
    if _count(_el(unz, 0)) != counted:
        raise EdiError(f"UNZ counts {_el(unz, 0)!r} {what}, the interchange has {counted}", len(segs), "UNZ")
    return reference, messages


def load_action_codes(path: Path) -> dict[str, dict[str, Action]]:
    """A sender's own SEQ action codes, from a TOML file (``jis serve --action-codes``)::

        [senders.OEMPLANT1]      # UNB sender identification (0004)
        "7" = "change"           # SEQ code (an..3) = add, cancel, change, pull, reinsert or installed
        Z1 = "pull"

    A sender's code is read before the standard ones (it may give one of them another
    meaning); codes neither standard nor the sender's still refuse the message. ValueError,
    naming the file and the entry, for anything else in the file."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{path}: cannot read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not TOML: {exc}") from None
    extra = sorted(set(doc) - {"senders"})
    if extra:
        raise ValueError(f"{path}: unknown key {extra[0]!r} (only [senders.<sender id>] tables)")
    senders = doc.get("senders", {})
    if not isinstance(senders, dict):
        raise ValueError(f"{path}: senders: a table of senders, not {type(senders).__name__}")
    out: dict[str, dict[str, Action]] = {}
    for sender, codes in senders.items():
        where = f"{path}: senders.{sender!r}"
        if not sender.strip() or len(sender) > MAX_PARTY_ID or has_control(sender):
            raise ValueError(f"{where}: a sender id is 1 to {MAX_PARTY_ID} characters (UNB 0004)")
        if not isinstance(codes, dict):
            raise ValueError(f"{where}: a table of code = action, not {type(codes).__name__}")
        table: dict[str, Action] = {}
        for code, name in codes.items():
            if not (0 < len(code) <= MAX_ACTION_CODE and code.isascii() and code.isalnum()):
                raise ValueError(f"{where}: code {code!r}: 1 to {MAX_ACTION_CODE} letters or digits (an..3)")
            action = ACTION_NAMES.get(name) if isinstance(name, str) else None
            if action is None:
                raise ValueError(f"{where}: code {code!r}: {name!r} is not one of {', '.join(ACTION_NAMES)}")
            table[code] = action
        out[sender] = table
    return out


PIA_RANK = {"SA": 0, "BP": 1, "IN": 1, "": 2}
"""Which item number of a LIN's PIA segments is its part number: the supplier's article
number (type SA) first, else the buyer's (BP, IN), else one without a type; any other
type is not a part number here. PIA's function (1 additional, 5 product identification)
does not matter: OEMs use both for the same numbers."""


@dataclass
class _Part:
    """A LIN of a SEQ group, as its segments are read."""

    group: str
    position: int
    """The LIN's segment position."""
    part_number: str = ""
    quantity: int = 1
    rank: int = len(PIA_RANK)
    """PIA_RANK of the part number taken (none yet: worse than any)."""


def _part_number(part: _Part, seg: Segment, pos: int, ref: str) -> None:
    """Take the PIA's item numbers into the LIN's part: a better-ranked number replaces
    it; a second, different number of the same rank refuses the message."""
    for i in range(1, len(seg.elements)):
        number, kind = _el(seg, i, 0), _el(seg, i, 1)
        rank = PIA_RANK.get(kind)
        if not number or rank is None:
            continue
        if rank < part.rank:
            part.part_number, part.rank = number, rank
        elif rank == part.rank and number != part.part_number:
            raise EdiError(
                f"two part numbers of one kind ({kind or 'no type'}) for one LIN: "
                f"{part.part_number!r} and {number!r}",
                pos,
                "PIA",
                ref,
            )


def _date(seg: Segment, pos: int, ref: str) -> int:
    value, fmt = _el(seg, 0, 1), _el(seg, 0, 2) or "203"
    pattern = DATE_FORMATS.get(fmt)
    if pattern is None:
        raise EdiError(f"date format {fmt!r} not accepted (203, 204 or 102)", pos, "DTM", ref)
    try:
        t = dt.datetime.strptime(value, pattern).replace(tzinfo=dt.UTC)
    except ValueError:
        raise EdiError(f"bad date {value!r} for format {fmt}", pos, "DTM", ref) from None
    return int(t.timestamp()) * 10**9


def _int(value: str, what: str, pos: int, tag: str, ref: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise EdiError(f"{what} {value!r} is not a whole number", pos, tag, ref) from None


def _quantity(value: str, pos: int, ref: str) -> int:
    """A QTY amount: whole (``2``) or decimal with a zero fraction (``2.000``; the decimal
    mark a point or a comma); a fraction (``1.5``) is refused."""
    whole, mark, fraction = value.replace(",", ".").partition(".")
    if not (whole.isascii() and whole.isdigit()) or (
        mark and not (fraction.isascii() and fraction.isdigit())
    ):
        raise EdiError(f"quantity {value!r} is not a number", pos, "QTY", ref)
    if fraction.strip("0"):
        raise EdiError(f"quantity {value!r} is not a whole number", pos, "QTY", ref)
    return _int(whole, "quantity", pos, "QTY", ref)


@dataclass
class _Group:
    pos: int
    action: Action
    seq_no: int | None
    line_id: str = ""
    call_no: int | None = None
    vehicle_ids: dict[str, str] = field(default_factory=dict)
    """The group's vehicle by GIR qualifier (VV, BN): a later GIR must agree with it."""
    need_time: int | None = None
    parts: list[_Part] = field(default_factory=list)

    @property
    def vehicle_id(self) -> str:
        """The group's vehicle: the first VV or BN its GIRs give ('' before any)."""
        return next(iter(self.vehicle_ids.values()), "")


def _message(
    segs: list[Segment],
    start: int,
    end: int,
    ref: str,
    sender: str,
    actions: Mapping[str, Action],
    call_no_from_bgm: bool,
) -> list[Broadcast]:
    unh, unt = segs[start], segs[end]
    kind = [_el(unh, 1, k) for k in range(3)]
    if kind[0] != "DELJIT" or (kind[1], kind[2]) not in DIRECTORIES:
        raise EdiError(
            f"message type {':'.join(kind)!r} is not DELJIT D.96A, D.97A or D.04B", start + 1, "UNH", ref
        )
    if _el(unt, 1) != ref:
        raise EdiError(f"UNT reference {_el(unt, 1)!r} differs from UNH's {ref!r}", end + 1, "UNT", ref)
    if _count(_el(unt, 0)) != end - start + 1:
        raise EdiError(
            f"UNT counts {_el(unt, 0)!r} segments, the message has {end - start + 1}", end + 1, "UNT", ref
        )
    event_time: int | None = None
    supplier, line_id, has_bgm = "", "", False
    call_no: int | None = None
    """The header's RFF+AAN (the call number of every SEQ group without its own), or the
    BGM document number with ``call_no_from_bgm``."""
    groups: list[_Group] = []
    for k in range(start + 1, end):
        seg, pos = segs[k], k + 1
        g = groups[-1] if groups else None
        tag, q = seg.tag, _el(seg, 0)
        if tag == "BGM":
            has_bgm = True
            if call_no_from_bgm:
                document = _el(seg, 1, 0)
                if not document:
                    raise EdiError("BGM without a document number (1004), the call number", pos, tag, ref)
                call_no = _int(document, "BGM document number (the call number)", pos, tag, ref)
        elif tag == "SEQ":
            code = _el(seg, 0)
            if code not in actions:
                raise EdiError(
                    f"action code {code!r} not accepted from sender {sender!r} ({', '.join(actions)})",
                    pos,
                    tag,
                    ref,
                )
            if call_no_from_bgm and groups:
                raise EdiError(
                    "second SEQ group: with the call number from BGM 1004 a message holds one", pos, tag, ref
                )
            raw = _el(seg, 1)
            groups.append(_Group(pos, actions[code], _int(raw, "seq_no", pos, tag, ref) if raw else None))
        elif tag == "DTM" and _el(seg, 0, 0) == "137" and g is None:
            event_time = _date(seg, pos, ref)
        elif tag == "DTM" and _el(seg, 0, 0) == "2" and g is not None:
            if g.need_time is not None:
                raise EdiError("second DTM+2 (requested delivery) in one SEQ group", pos, tag, ref)
            g.need_time = _date(seg, pos, ref)
        elif tag == "NAD" and q in ("SE", "SU"):
            supplier = _el(seg, 1)
        elif tag == "LOC" and q == "11":
            if not _el(seg, 1):
                raise EdiError("LOC+11 without a place (the line)", pos, tag, ref)
            if g is None:
                line_id = _el(seg, 1)
            else:
                g.line_id = _el(seg, 1)
        elif tag == "RFF" and q == "AAN" and not call_no_from_bgm:
            number = _int(_el(seg, 0, 1), "call number", pos, tag, ref)
            if (call_no if g is None else g.call_no) is not None:
                where = "the message header" if g is None else "one SEQ group"
                raise EdiError(f"second RFF+AAN (call number) in {where}", pos, tag, ref)
            if g is None:
                call_no = number
            else:
                g.call_no = number
        elif tag == "GIR" and g is not None:
            _vehicle(g, seg, pos, ref)
        elif tag == "LIN" and g is not None:
            g.parts.append(_Part(_el(seg, 2, 0), pos))
        elif tag == "PIA" and g is not None and g.parts:
            _part_number(g.parts[-1], seg, pos, ref)
        elif tag == "QTY" and q in ("113", "12", "1") and g is not None and g.parts:
            g.parts[-1].quantity = _quantity(_el(seg, 0, 1), pos, ref)
    if not has_bgm:
        raise EdiError("mandatory BGM segment missing", start + 1, "BGM", ref)
    if not groups:
        raise EdiError("no SEQ group: a DELJIT message needs at least one", end + 1, "SEQ", ref)
    if not line_id and not all(g.line_id for g in groups):
        if not any(g.line_id for g in groups):
            raise EdiError("no LOC+11 (place of unloading: the line) in the message", end + 1, "LOC", ref)
        first = next(g for g in groups if not g.line_id)
        raise EdiError("SEQ group without LOC+11 (the line), and none in the header", first.pos, "LOC", ref)
    out = []
    for g in groups:
        call = call_no if g.call_no is None else g.call_no
        if call is None:
            raise EdiError("SEQ group without RFF+AAN (call number)", g.pos, "RFF", ref)
        if not g.vehicle_id:
            raise EdiError("SEQ group without GIR vehicle reference (VV or BN)", g.pos, "GIR", ref)
        if g.parts and not supplier:
            raise EdiError("parts given but no NAD+SE/SU supplier", g.pos, "NAD", ref)
        parts = []
        for p in g.parts:
            if not p.part_number:
                raise EdiError("LIN without PIA part number", p.position, "PIA", ref)
            parts.append(PartDemand(p.group, p.part_number, supplier, p.quantity))
        out.append(
            Broadcast(
                line_id=g.line_id or line_id,
                call_no=call,
                action=int(g.action),
                vehicle_id=g.vehicle_id,
                seq_no=g.seq_no,
                event_time=event_time,
                need_time=g.need_time,
                parts=tuple(parts),
            )
        )
    return out


def _vehicle(g: _Group, seg: Segment, pos: int, ref: str) -> None:
    """A GIR of the group (SEQ or LIN level): the first VV or BN names the group's vehicle;
    a later one that differs for the same qualifier refuses the message."""
    for e in range(1, len(seg.elements)):
        value, qualifier = _el(seg, e, 0), _el(seg, e, 1)
        if qualifier not in ("VV", "BN") or not value:
            continue
        known = g.vehicle_ids.setdefault(qualifier, value)
        if known != value:
            level = "LIN" if g.parts else "SEQ"
            raise EdiError(
                f"GIR vehicle {value}:{qualifier} at {level} level differs from the SEQ group's {known!r}",
                pos,
                "GIR",
                ref,
            )


# -- DESADV --------------------------------------------------------------------------


def _stamp(ns: int) -> str:
    return dt.datetime.fromtimestamp(ns / 1e9, dt.UTC).strftime("%Y%m%d%H%M")


def desadv_reference(number: int) -> str:
    """The control reference of DESADV interchange ``number``: ``DA`` and 12 digits, which
    fits UNB 0020 (an..14); numbers past 10**12 - 1 wrap (never in practice)."""
    return f"DA{number % 10**MAX_REFERENCE_DIGITS:0{MAX_REFERENCE_DIGITS}d}"


Calls = Mapping[str, tuple[int, int | None]]
"""Vehicle id -> (its last applied call number, its seq_no or None), for RFF+AAN."""


def _slots(rack: RackView, calls: Calls, include_seq_no: bool, line: bool) -> list[Segment]:
    """One LIN group per slot in rack order: LIN (position, group), PIA (part number), QTY,
    GIR (vehicle), RFF+AAN (the vehicle's call number, ``:seq_no`` with ``include_seq_no``;
    none for a vehicle never broadcast), and LOC+11 (the rack's line) when ``line``."""
    out = []
    for slot in rack.slots:
        out += [
            Segment("LIN", str(slot.position + 1), "", [rack.group, "IN"]),
            Segment("PIA", "1", [slot.part_number, "SA"]),
            Segment("QTY", ["12", "1"]),
            Segment("GIR", "1", [slot.vehicle_id, "VV"]),
        ]
        call = calls.get(slot.vehicle_id)
        if call is not None:
            call_no, seq_no = call
            ref = ["AAN", str(call_no)]
            if include_seq_no and seq_no is not None:
                ref.append(str(seq_no))
            out.append(Segment("RFF", ref))
        if line:
            out.append(Segment("LOC", "11", rack.line_id))
    return out


def _rack_package(rack: RackView, cps: list[str]) -> list[Segment]:
    """The rack as a package: CPS (``cps``: its id and parent), PAC, QTY+52 (capacity), PCI,
    GIN+ML (rack id)."""
    return [
        Segment("CPS", *cps),
        Segment("PAC", "1", "", "RACK"),
        Segment("QTY", ["52", str(rack.capacity)]),
        Segment("PCI", "17"),
        Segment("GIN", "ML", rack.rack_id),
    ]


def write_desadv(
    racks: list[RackView],
    sender: str,
    recipient: str,
    reference: str,
    now: int,
    calls: Calls | None = None,
    include_seq_no: bool = False,
    truck: AppointmentView | None = None,
) -> bytes:
    """One DESADV D.04B message per rack (despatch and estimated arrival dates, the rack as
    a package with its id in GIN, one LIN group per slot in rack order, each slot linked to
    its call by RFF+AAN from ``calls``); or, given ``truck`` (the appointment carrying
    ``racks``), one message for the truck with a CPS hierarchy truck -> rack -> slot."""
    assert 0 < len(reference) <= MAX_CONTROL_REFERENCE, reference  # desadv_reference's: 14 characters
    calls = calls or {}
    when = dt.datetime.fromtimestamp(now / 1e9, dt.UTC)
    segs = [Segment("UNB", ["UNOC", "3"], sender, recipient, [f"{when:%y%m%d}", f"{when:%H%M}"], reference)]
    bodies: list[list[Segment]] = []
    if truck is None:
        for n, rack in enumerate(racks, start=1):
            bodies.append(
                [
                    Segment("UNH", str(n), ["DESADV", "D", "04B", "UN"]),
                    Segment("BGM", "351", f"{reference}-{n}", "9"),
                    Segment("DTM", ["137", _stamp(now), "203"]),
                    Segment("DTM", ["11", _stamp(rack.dispatched_at), "203"]),
                    Segment("DTM", ["132", _stamp(rack.eta), "203"]),
                    Segment("NAD", "SE", [rack.supplier_id]),
                    Segment("LOC", "11", rack.line_id),
                    *_rack_package(rack, ["1"]),
                    *_slots(rack, calls, include_seq_no, line=False),
                ]
            )
    else:
        lines = list(dict.fromkeys(r.line_id for r in racks))
        body = [
            Segment("UNH", "1", ["DESADV", "D", "04B", "UN"]),
            Segment("BGM", "351", f"{reference}-1", "9"),
            Segment("DTM", ["137", _stamp(now), "203"]),
            Segment("DTM", ["11", _stamp(min(r.dispatched_at for r in racks)), "203"]),
            Segment("DTM", ["132", _stamp(max(r.eta for r in racks)), "203"]),
            Segment("RFF", ["ZZZ", truck.spec.appointment_id]),
            Segment("NAD", "SE", [truck.spec.supplier_id]),
        ]
        if len(lines) == 1:
            body.append(Segment("LOC", "11", lines[0]))
        if truck.spec.carrier:
            body.append(Segment("NAD", "CA", [truck.spec.carrier]))
        if truck.spec.trailer:
            body.append(Segment("EQD", "TE", truck.spec.trailer))
        body.append(Segment("CPS", "1"))
        for k, rack in enumerate(racks, start=2):
            body += _rack_package(rack, [str(k), "1"])
            body += _slots(rack, calls, include_seq_no, line=len(lines) > 1)
        bodies.append(body)
    for n, body in enumerate(bodies, start=1):
        body.append(Segment("UNT", str(len(body) + 1), str(n)))
        segs += body
    segs.append(Segment("UNZ", str(len(bodies)), reference))
    return Serializer().serialize(segs, with_una_header=True).encode("utf-8")


def read_desadv_racks(data: bytes) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """(rack id, [(vehicle id, part number) in rack order]) per rack (each GIN starts one),
    in one message per rack or one per truck: the reading side of :func:`write_desadv`, for
    checks and for partners' round trips."""
    rack, part = "", ""
    slots: list[tuple[str, str]] = []
    for seg in _parse(data):
        if seg.tag == "UNH":
            rack, slots = "", []
        elif seg.tag == "GIN":
            if rack:
                yield rack, slots
            rack, slots = _el(seg, 1), []
        elif seg.tag == "PIA":
            part = _el(seg, 1, 0)
        elif seg.tag == "GIR":
            slots.append((_el(seg, 1, 0), part))
        elif seg.tag == "UNT" and rack:
            yield rack, slots
