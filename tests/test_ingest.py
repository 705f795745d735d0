"""SPEC.md 2.1 and 3.1 through a real gRPC channel: actions, delivery rules, errors."""

from __future__ import annotations

import grpc
import pytest

from jis.v1 import breaks_pb2, broadcast_pb2, common_pb2, lines_pb2, sequence_pb2
from tests.conftest import Client
from tests.factories import ADD, CANCEL, CHANGE, INSTALLED, PULL, REINSERT, bc, part, pub

APPLIED = broadcast_pb2.DISPOSITION_APPLIED
DUPLICATE = broadcast_pb2.DISPOSITION_DUPLICATE
REJECTED = broadcast_pb2.DISPOSITION_REJECTED
ACTIVE = common_pb2.VEHICLE_STATE_ACTIVE


def seq(client: Client, line_id: str) -> list[tuple[str, int]]:
    r = client.sequence.ListSequence(sequence_pb2.ListSequenceRequest(line_id=line_id), timeout=10)
    return [(v.vehicle_id, v.seq_no) for v in r.vehicles]


def vehicle(client: Client, vehicle_id: str) -> sequence_pb2.Vehicle:
    return client.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id=vehicle_id), timeout=10)


def rejected(client: Client, b: broadcast_pb2.Broadcast) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        client.broadcast.Publish(pub(b), timeout=10)
    return info.value


def gaps(client: Client, line_id: str) -> list[tuple[int, int]]:
    r = client.breaks.ListBreaks(
        breaks_pb2.ListBreaksRequest(line_id=line_id, types=[breaks_pb2.BREAK_TYPE_GAP]), timeout=10
    )
    return sorted((b.first_call_no, b.last_call_no) for b in r.breaks)


# -- the six actions -------------------------------------------------------------------------


def test_add_enters_the_sequence_ordered_by_seq_no(client: Client, line_id: str) -> None:
    v = f"{line_id}-V"
    r = client.broadcast.Publish(pub(bc(line_id, 1, ADD, v + "2", 20, [part()])), timeout=10)
    assert (r.disposition, r.call_no, r.highest_call_no) == (APPLIED, 1, 1)
    client.broadcast.Publish(pub(bc(line_id, 2, ADD, v + "1", 10, [part(part_number="S-RED")])), timeout=10)
    assert seq(client, line_id) == [(v + "1", 10), (v + "2", 20)]
    got = vehicle(client, v + "1")
    assert got.state == ACTIVE and got.line_id == line_id and got.last_call_no == 2
    assert [(p.group, p.part_number, p.supplier_id, p.quantity) for p in got.parts] == [
        ("SEAT", "S-RED", "SUP1", 1)
    ]


def test_add_derives_need_time_from_epoch_takt_and_seq_no(client: Client, line_id: str) -> None:
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, f"{line_id}-V", 30, [part()])), timeout=10)
    # line fixture: epoch 2026-01-01T00:00:00Z, takt 60 s -> seq_no 30 is needed 30 minutes later
    assert vehicle(client, f"{line_id}-V").need_time.ToJsonString() == "2026-01-01T00:30:00Z"


def test_add_keeps_an_explicit_need_time(client: Client, line_id: str) -> None:
    b = bc(line_id, 1, ADD, f"{line_id}-V", 30, [part()], need_time="2026-03-01T06:00:00Z")
    client.broadcast.Publish(pub(b), timeout=10)
    assert vehicle(client, f"{line_id}-V").need_time.ToJsonString() == "2026-03-01T06:00:00Z"


def test_change_replaces_the_whole_part_list_and_may_move_seq_no(client: Client, line_id: str) -> None:
    v = f"{line_id}-V"
    client.broadcast.Publish(
        pub(bc(line_id, 1, ADD, v, 10, [part(), part("COCKPIT", "C-1", "SUP2")])), timeout=10
    )
    client.broadcast.Publish(pub(bc(line_id, 2, CHANGE, v, 15, [part(part_number="S-TAN")])), timeout=10)
    got = vehicle(client, v)
    assert got.seq_no == 15 and [p.part_number for p in got.parts] == ["S-TAN"]
    assert seq(client, line_id) == [(v, 15)]


def test_change_without_seq_no_keeps_the_position(client: Client, line_id: str) -> None:
    v = f"{line_id}-V"
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, v, 10, [part()])), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 2, CHANGE, v, None, [part(part_number="S-TAN")])), timeout=10)
    got = vehicle(client, v)
    assert got.seq_no == 10 and got.need_time.ToJsonString() == "2026-01-01T00:10:00Z"


def test_pull_leaves_the_sequence_and_reinsert_brings_it_back_with_its_parts(
    client: Client, line_id: str
) -> None:
    v = f"{line_id}-V"
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, v, 10, [part(part_number="S-RED")])), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 2, PULL, v, checkpoint="PAINT_REPAIR")), timeout=10)
    assert seq(client, line_id) == []
    pulled = vehicle(client, v)
    assert pulled.state == common_pb2.VEHICLE_STATE_PULLED and not pulled.HasField("seq_no")
    assert pulled.checkpoint == "PAINT_REPAIR"
    client.broadcast.Publish(pub(bc(line_id, 3, REINSERT, v, 40)), timeout=10)
    back = vehicle(client, v)
    assert back.state == ACTIVE and back.seq_no == 40 and [p.part_number for p in back.parts] == ["S-RED"]
    assert back.need_time.ToJsonString() == "2026-01-01T00:40:00Z"


def test_reinsert_with_a_part_list_replaces_it(client: Client, line_id: str) -> None:
    v = f"{line_id}-V"
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, v, 10, [part(part_number="S-RED")])), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 2, PULL, v)), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 3, REINSERT, v, 12, [part(part_number="S-BLU")])), timeout=10)
    assert [p.part_number for p in vehicle(client, v).parts] == ["S-BLU"]


def test_pulled_vehicle_frees_its_seq_no(client: Client, line_id: str) -> None:
    v = f"{line_id}-V"
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, v + "1", 10, [part()])), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 2, PULL, v + "1")), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 3, ADD, v + "2", 10, [part()])), timeout=10)
    assert seq(client, line_id) == [(v + "2", 10)]


@pytest.mark.parametrize("pull_first", [False, True], ids=["active", "pulled"])
def test_cancel_removes_an_active_or_pulled_vehicle_for_good(
    client: Client, line_id: str, pull_first: bool
) -> None:
    v = f"{line_id}-V"
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, v, 10, [part()])), timeout=10)
    if pull_first:
        client.broadcast.Publish(pub(bc(line_id, 2, PULL, v)), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 3, CANCEL, v)), timeout=10)
    assert vehicle(client, v).state == common_pb2.VEHICLE_STATE_CANCELLED
    assert seq(client, line_id) == []
    err = rejected(client, bc(line_id, 4, REINSERT, v, 11))
    assert err.code() == grpc.StatusCode.FAILED_PRECONDITION and "vehicle_id" in err.details()


def test_installed_leaves_the_sequence(client: Client, line_id: str) -> None:
    v = f"{line_id}-V"
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, v, 10, [part()])), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 2, INSTALLED, v)), timeout=10)
    assert vehicle(client, v).state == common_pb2.VEHICLE_STATE_INSTALLED
    assert seq(client, line_id) == []


# -- delivery semantics ------------------------------------------------------------------------


def test_duplicate_is_acknowledged_applied_once_and_counted(client: Client, line_id: str) -> None:
    v = f"{line_id}-V"
    m = bc(line_id, 1, ADD, v, 10, [part()])
    assert client.broadcast.Publish(pub(m), timeout=10).disposition == APPLIED
    assert client.broadcast.Publish(pub(m), timeout=10).disposition == DUPLICATE
    line = client.lines.GetLine(lines_pb2.GetLineRequest(line_id=line_id), timeout=10)
    assert line.duplicates == 1 and line.highest_call_no == 1 and line.active_vehicles == 1


def test_duplicate_check_comes_before_other_validation(client: Client, line_id: str) -> None:
    v = f"{line_id}-V"
    m = bc(line_id, 1, ADD, v, 10, [part()])
    client.broadcast.Publish(pub(m), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 2, PULL, v)), timeout=10)
    # Re-sent ADD of call 1 would now be impossible (vehicle known) - it is still a duplicate.
    assert client.broadcast.Publish(pub(m), timeout=10).disposition == DUPLICATE


def test_conflicting_resend_is_already_exists_and_changes_nothing(client: Client, line_id: str) -> None:
    v = f"{line_id}-V"
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, v, 10, [part()])), timeout=10)
    err = rejected(client, bc(line_id, 1, ADD, v, 11, [part()]))
    assert err.code() == grpc.StatusCode.ALREADY_EXISTS and "call_no" in err.details()
    assert seq(client, line_id) == [(v, 10)]


def test_gap_opens_for_skipped_call_numbers_and_closes_when_they_arrive(client: Client, line_id: str) -> None:
    v = f"{line_id}-V"
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, v + "1", 10, [part()])), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 4, ADD, v + "4", 40, [part()])), timeout=10)
    assert gaps(client, line_id) == [(2, 3)]
    assert seq(client, line_id) == [(v + "1", 10), (v + "4", 40)]  # the message past the gap is applied
    line = client.lines.GetLine(lines_pb2.GetLineRequest(line_id=line_id), timeout=10)
    assert (line.highest_call_no, line.missing_calls) == (4, 2)
    client.broadcast.Publish(pub(bc(line_id, 2, ADD, v + "2", 20, [part()])), timeout=10)
    assert gaps(client, line_id) == [(3, 3)]
    client.broadcast.Publish(pub(bc(line_id, 3, ADD, v + "3", 30, [part()])), timeout=10)
    assert gaps(client, line_id) == []
    assert [s for _, s in seq(client, line_id)] == [10, 20, 30, 40]


def test_late_message_inside_a_gap_splits_it_into_the_remaining_runs(client: Client, line_id: str) -> None:
    v = f"{line_id}-V"
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, v + "1", 10, [part()])), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 7, ADD, v + "7", 70, [part()])), timeout=10)
    gap_only = [breaks_pb2.BREAK_TYPE_GAP]
    before = client.breaks.ListBreaks(breaks_pb2.ListBreaksRequest(line_id=line_id, types=gap_only)).breaks
    client.broadcast.Publish(pub(bc(line_id, 4, ADD, v + "4", 40, [part()])), timeout=10)
    assert gaps(client, line_id) == [(2, 3), (5, 6)]
    resolved = client.breaks.ListBreaks(
        breaks_pb2.ListBreaksRequest(line_id=line_id, types=gap_only, resolved_from=before[0].detected_at)
    ).breaks
    assert [(b.break_id, b.first_call_no, b.last_call_no) for b in resolved] == [(before[0].break_id, 2, 6)]
    assert resolved[0].action.kind == breaks_pb2.RECOVERY_KIND_RESEND_CALLS


def test_rejected_message_does_not_use_up_its_call_no(client: Client, line_id: str) -> None:
    v = f"{line_id}-V"
    assert rejected(client, bc(line_id, 1, ADD, v, None, [part()])).code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (
        client.broadcast.Publish(pub(bc(line_id, 1, ADD, v, 10, [part()])), timeout=10).disposition == APPLIED
    )
    assert gaps(client, line_id) == []


# -- invalid input -----------------------------------------------------------------------------

INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRECONDITION = grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda ln: bc(ln, 1, 99, f"{ln}-V", 10, [part()]), "action"),
        (lambda ln: bc(ln, 1, common_pb2.ACTION_UNSPECIFIED, f"{ln}-V", 10, [part()]), "action"),
        (lambda ln: bc("", 1, ADD, f"{ln}-V", 10, [part()]), "line_id"),
        (lambda ln: bc(ln, 1, ADD, "", 10, [part()]), "vehicle_id"),
        (lambda ln: bc(ln, 0, ADD, f"{ln}-V", 10, [part()]), "call_no"),
        (lambda ln: bc(ln, 1, ADD, f"{ln}-V", None, [part()]), "seq_no"),
        (lambda ln: bc(ln, 1, ADD, f"{ln}-V", 10, [part(quantity=-1)]), "parts[0].quantity"),
        (lambda ln: bc(ln, 1, ADD, f"{ln}-V", 10, [part(), part(part_number="X")]), "parts[1]"),
        (lambda ln: bc(ln, 1, ADD, f"{ln}-V", 10, [part(group="")]), "parts[0].group"),
        (lambda ln: bc(ln, 1, ADD, f"{ln}-V" + "x" * 200, 10, [part()]), "vehicle_id"),
    ],
    ids=[
        "unknown-action",
        "unspecified-action",
        "empty-line",
        "empty-vehicle",
        "call-no-zero",
        "add-without-seq-no",
        "negative-quantity",
        "same-supplier-group-twice",
        "empty-group",
        "long-id",
    ],
)
def test_malformed_message_is_invalid_argument_naming_the_field(
    client: Client, line_id: str, make, field
) -> None:  # type: ignore[no-untyped-def]
    err = rejected(client, make(line_id))
    assert err.code() == INVALID, err.details()
    assert err.details().startswith(field + ":"), err.details()
    assert seq(client, line_id) == []


def test_reinsert_without_seq_no_is_invalid_argument(client: Client, line_id: str) -> None:
    v = f"{line_id}-V"
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, v, 10, [part()])), timeout=10)
    client.broadcast.Publish(pub(bc(line_id, 2, PULL, v)), timeout=10)
    err = rejected(client, bc(line_id, 3, REINSERT, v))
    assert err.code() == INVALID and err.details().startswith("seq_no:")


def test_broadcast_for_unknown_line_is_failed_precondition(client: Client) -> None:
    err = rejected(client, bc("NO-SUCH-LINE", 1, ADD, "NSL-V", 10, [part()]))
    assert err.code() == PRECONDITION and err.details().startswith("line_id:")


@pytest.mark.parametrize(
    ("steps", "bad", "field"),
    [
        ([], lambda ln: bc(ln, 1, CHANGE, f"{ln}-V", 10, [part()]), "vehicle_id"),
        ([], lambda ln: bc(ln, 1, PULL, f"{ln}-V"), "vehicle_id"),
        (
            [lambda ln: bc(ln, 1, ADD, f"{ln}-V", 10, [part()])],
            lambda ln: bc(ln, 2, ADD, f"{ln}-V", 11, [part()]),
            "vehicle_id",
        ),
        (
            [lambda ln: bc(ln, 1, ADD, f"{ln}-V", 10, [part()])],
            lambda ln: bc(ln, 2, ADD, f"{ln}-W", 10, [part()]),
            "seq_no",
        ),
        (
            [
                lambda ln: bc(ln, 1, ADD, f"{ln}-V", 10, [part()]),
                lambda ln: bc(ln, 2, ADD, f"{ln}-W", 20, [part()]),
            ],
            lambda ln: bc(ln, 3, CHANGE, f"{ln}-W", 10, [part()]),
            "seq_no",
        ),
        (
            [lambda ln: bc(ln, 1, ADD, f"{ln}-V", 10, [part()])],
            lambda ln: bc(ln, 2, REINSERT, f"{ln}-V", 11),
            "vehicle_id",
        ),
        (
            [lambda ln: bc(ln, 1, ADD, f"{ln}-V", 10, [part()]), lambda ln: bc(ln, 2, PULL, f"{ln}-V")],
            lambda ln: bc(ln, 3, PULL, f"{ln}-V"),
            "vehicle_id",
        ),
        (
            [lambda ln: bc(ln, 1, ADD, f"{ln}-V", 10, [part()]), lambda ln: bc(ln, 2, PULL, f"{ln}-V")],
            lambda ln: bc(ln, 3, CHANGE, f"{ln}-V", None, [part()]),
            "vehicle_id",
        ),
        (
            [lambda ln: bc(ln, 1, ADD, f"{ln}-V", 10, [part()]), lambda ln: bc(ln, 2, INSTALLED, f"{ln}-V")],
            lambda ln: bc(ln, 3, CANCEL, f"{ln}-V"),
            "vehicle_id",
        ),
    ],
    ids=[
        "change-unknown-vehicle",
        "pull-unknown-vehicle",
        "add-known-vehicle",
        "add-seq-no-held",
        "change-to-held-seq-no",
        "reinsert-active",
        "pull-pulled",
        "change-pulled",
        "cancel-installed",
    ],
)
def test_impossible_message_is_failed_precondition_and_changes_nothing(
    client: Client, line_id: str, steps, bad, field
) -> None:  # type: ignore[no-untyped-def]
    for step in steps:
        client.broadcast.Publish(pub(step(line_id)), timeout=10)
    before = (
        seq(client, line_id),
        client.lines.GetLine(lines_pb2.GetLineRequest(line_id=line_id)).highest_call_no,
    )
    err = rejected(client, bad(line_id))
    assert err.code() == PRECONDITION, err.details()
    assert err.details().startswith(field + ":"), err.details()
    after = (
        seq(client, line_id),
        client.lines.GetLine(lines_pb2.GetLineRequest(line_id=line_id)).highest_call_no,
    )
    assert after == before


def test_vehicle_ids_are_unique_across_lines(client: Client, line_id: str) -> None:
    from tests.conftest import configure_line

    other = f"{line_id}-B"
    configure_line(client, other)
    client.broadcast.Publish(pub(bc(line_id, 1, ADD, f"{line_id}-V", 10, [part()])), timeout=10)
    err = rejected(client, bc(other, 1, ADD, f"{line_id}-V", 10, [part()]))
    assert err.code() == PRECONDITION and err.details().startswith("vehicle_id:")
    err = rejected(client, bc(other, 1, PULL, f"{line_id}-V"))
    assert err.code() == PRECONDITION and "belongs to line" in err.details()


def test_need_time_absent_without_line_epoch_is_failed_precondition(client: Client, line_id: str) -> None:
    from google.protobuf.duration_pb2 import Duration

    name = f"{line_id}-NOEPOCH"
    client.lines.ConfigureLine(
        lines_pb2.ConfigureLineRequest(
            line_id=name, takt=Duration(seconds=60), heartbeat=Duration(seconds=60)
        )
    )
    err = rejected(client, bc(name, 1, ADD, f"{name}-V", 10, [part()]))
    assert err.code() == PRECONDITION and err.details().startswith("need_time:")


# -- batches -----------------------------------------------------------------------------------


def test_batch_is_atomic_per_message_and_says_what_happened_to_each(client: Client, line_id: str) -> None:
    v = f"{line_id}-V"
    batch = broadcast_pb2.PublishBatchRequest(
        broadcasts=[
            bc(line_id, 1, ADD, v + "1", 10, [part()]),
            bc(line_id, 2, ADD, v + "2", 10, [part()]),  # seq_no held by V1
            bc(line_id, 2, ADD, v + "2", 20, [part(quantity=-3)]),  # malformed
            bc(line_id, 2, ADD, v + "2", 20, [part()]),  # the corrected re-send takes call 2
            bc(line_id, 1, ADD, v + "1", 10, [part()]),  # duplicate of the first
            bc(line_id, 3, CHANGE, v + "9", 30, [part()]),  # unknown vehicle
        ]
    )
    r = client.broadcast.PublishBatch(batch, timeout=10)
    assert [x.disposition for x in r.results] == [APPLIED, REJECTED, REJECTED, APPLIED, DUPLICATE, REJECTED]
    assert [x.code for x in r.results] == [0, 9, 3, 0, 0, 9]
    assert [x.field for x in r.results] == ["", "seq_no", "parts[0].quantity", "", "", "vehicle_id"]
    assert (r.applied, r.duplicates, r.rejected) == (2, 1, 3)
    assert seq(client, line_id) == [(v + "1", 10), (v + "2", 20)]
    assert gaps(client, line_id) == []


def test_batch_over_the_limit_is_invalid_argument(client: Client, line_id: str) -> None:
    batch = broadcast_pb2.PublishBatchRequest(
        broadcasts=[bc(line_id, i + 1, ADD, f"{line_id}-V{i}", i, [part()]) for i in range(10_001)]
    )
    with pytest.raises(grpc.RpcError) as info:
        client.broadcast.PublishBatch(batch, timeout=30)
    assert info.value.code() == INVALID and info.value.details().startswith("broadcasts:")
    assert seq(client, line_id) == []


# -- queries -----------------------------------------------------------------------------------


def test_list_sequence_pages_through_a_seq_no_window(client: Client, line_id: str) -> None:
    batch = broadcast_pb2.PublishBatchRequest(
        broadcasts=[bc(line_id, i + 1, ADD, f"{line_id}-V{i:03d}", 100 - i, [part()]) for i in range(50)]
    )
    assert client.broadcast.PublishBatch(batch, timeout=10).applied == 50
    got: list[int] = []
    token = ""
    pages = 0
    while True:
        r = client.sequence.ListSequence(
            sequence_pb2.ListSequenceRequest(
                line_id=line_id, from_seq_no=60, to_seq_no=90, page_size=7, page_token=token
            ),
            timeout=10,
        )
        got += [v.seq_no for v in r.vehicles]
        pages += 1
        token = r.next_page_token
        if not token:
            break
    assert got == list(range(60, 91)) and pages == 5


def test_get_vehicle_never_broadcast_is_not_found(client: Client) -> None:
    with pytest.raises(grpc.RpcError) as info:
        client.sequence.GetVehicle(sequence_pb2.GetVehicleRequest(vehicle_id="NEVER-SEEN"), timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND and info.value.details().startswith("vehicle_id:")


def test_bad_page_token_is_invalid_argument(client: Client, line_id: str) -> None:
    with pytest.raises(grpc.RpcError) as info:
        client.sequence.ListSequence(
            sequence_pb2.ListSequenceRequest(line_id=line_id, page_token="zz"), timeout=10
        )
    assert info.value.code() == INVALID and info.value.details().startswith("page_token:")


def test_configure_line_needs_positive_takt_and_heartbeat(client: Client) -> None:
    from google.protobuf.duration_pb2 import Duration

    for req, field in [
        (
            lines_pb2.ConfigureLineRequest(
                line_id="LX", takt=Duration(seconds=0), heartbeat=Duration(seconds=9)
            ),
            "takt",
        ),
        (lines_pb2.ConfigureLineRequest(line_id="LX", takt=Duration(seconds=9)), "heartbeat"),
        (lines_pb2.ConfigureLineRequest(takt=Duration(seconds=9), heartbeat=Duration(seconds=9)), "line_id"),
    ]:
        with pytest.raises(grpc.RpcError) as info:
            client.lines.ConfigureLine(req, timeout=10)
        assert info.value.code() == INVALID and info.value.details().startswith(field + ":")
    with pytest.raises(grpc.RpcError) as info:
        client.lines.GetLine(lines_pb2.GetLineRequest(line_id="LX"), timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND
