"""Compile every kernel on a tiny input, so that no request pays the JIT."""

from __future__ import annotations

import numpy as np

from jis.kernels import inventory, matching, runs, sets
from jis.kernels.sequence import sequence_window


def compile_all() -> None:
    """Run each public kernel wrapper once (loads from the on-disk cache when warm)."""
    i32, i64, i8 = np.int32, np.int64, np.int8
    sequence_window(np.zeros(2, i32), np.ones(2, i8), np.arange(2, dtype=i64), 0, 0, 1, 2)
    cand = np.arange(2, dtype=i64)
    matching.expected(
        cand,
        np.zeros(2, i32),
        np.zeros(2, i32),
        np.zeros(1, i64),
        np.full(1, 2, i32),
        np.ones(1, i8),
        np.zeros(1, i64),
        np.zeros(1, i64),
    )
    matching.supplied(
        cand, np.ones(2, i8), np.full(2, -1, i32), np.zeros(2, i32), np.ones(1, i8), np.zeros(1, i64)
    )
    e = np.arange(2, dtype=i32)
    s_e = matching.match(e, e, np.zeros(2, i64), e[::-1].copy(), e, matching.MatchScratch()).s_e
    matching.rack_needs(np.zeros(2, i32), s_e, np.zeros(2, i64))
    matching.missing_due(np.zeros(2, np.uint8), np.zeros(2, i64), 0, 0)
    matching.missing_ahead(np.zeros(2, np.uint8), np.zeros(2, i64), 0, 0, 1)
    inventory.scope_counts(
        np.arange(2, dtype=i64), np.full(2, -1, i32), np.ones(1, i8), np.ones(8, i8), s_e,
        np.zeros(2, np.uint8), np.zeros(2, np.uint8),
    )  # fmt: skip
    sets.only(np.arange(2, dtype=i32), np.arange(2, dtype=i32))  # vehicle codes
    # a run's feed rows, with the engine's column dtypes (one part list short, one long)
    long = runs._INSERTION + 1
    runs.run_rows(
        np.arange(2, dtype=i64),
        np.array([0, 1], i64),
        np.array([1, long], i32),
        np.zeros(long + 1, i32),
        np.zeros(long + 1, i32),
        np.zeros(long + 1, i32),
        np.zeros(long + 1, i32),
        np.ones(2, i8),
        np.ones(2, np.bool_),
        0,
    )
    # message digests, through the same wrappers (and so the same array types) as requests
    from jis.engine.model import Broadcast, PartDemand
    from jis.engine.packed import PackedBroadcasts, broadcast_digest

    b = Broadcast("L", 1, 1, "V", 1, parts=(PartDemand("G", "P", "S", 1),))
    broadcast_digest(b)
    PackedBroadcasts.build(
        line_ids=["L"],
        line=[],
        call_no=[1],
        action=[1],
        vehicle_id=["V"],
        seq_no=[1],
        seq_no_absent=[],
        checkpoints=[],
        checkpoint=[],
        event_time_ns=[],
        need_time_ns=[],
        part_count=[1],
        groups=["G"],
        part_numbers=["P"],
        supplier_ids=["S"],
        part_group=[0],
        part_number=[0],
        part_supplier=[0],
        part_quantity=[],
        max_messages=1,
    ).digests()
    # PublishBatch's wire decoder (jis.api.wire), on a batch of one message with a part
    from jis.kernels import wire

    raw = np.frombuffer(bytes.fromhex("0a0e0a014c100118014a050a01472001"), np.uint8)
    wire.decode_batch(raw)
    offsets, lengths = np.zeros(1, i64), np.ones(1, i64)
    wire.slices_equal(raw, offsets, lengths, wire.slice_hashes(raw, offsets, lengths).astype(i64) * 0)
