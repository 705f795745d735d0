"""The E an evaluation extends (jis.engine.sequence.ExpectedCache) against the E built
whole, after random feeds through the per-message and the packed path."""

from __future__ import annotations

import contextlib
import random
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jis.engine.engine import Engine
from jis.engine.sequence import ScopeE
from jis.errors import DomainError
from jis.kernels import matching
from tests.test_packed import T0, Feed, builds, pack, setup


def e_built_whole(e: Engine, scope: Any) -> list[list[int]]:
    v, d = e.seq.vehicles.col, e.seq.demand.col
    vehicle, part, need, _, row = matching.expected(
        e.seq.scope_demand[scope].view(),
        d("vehicle"), d("part"), v("dem_off"), v("dem_len"), v("state"), v("seq_no"), v("need_time"),
    )  # fmt: skip
    return [vehicle.tolist(), part.tolist(), need.tolist(), row.tolist()]


def check(e: Engine) -> None:
    for scope in list(e.seq.scope_demand):
        got = [a.tolist() for a in e.evaluator._expected(scope)]
        assert got == e_built_whole(e, scope), scope


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32), st.sampled_from([0.6, 0.95]))
def test_an_extended_e_is_the_e_built_whole(seed: int, plain: float) -> None:
    rng = random.Random(seed)
    feed = Feed(rng, plain, rare=0.5)
    one, packed = Engine(), Engine()
    setup(one)
    setup(packed)
    t = T0
    appended = 0
    real_append = ScopeE.append

    def counting(self: ScopeE, *args: Any) -> None:
        nonlocal appended
        appended += 1
        real_append(self, *args)

    with mock.patch.object(ScopeE, "append", counting):
        for _ in range(6):
            t += rng.randint(0, 90) * 10**9
            msgs = feed.batch(t)
            while msgs:  # in groups of a few messages, so that some groups only ADD
                k = rng.randint(1, 8)
                group, msgs = msgs[:k], msgs[k:]
                one.begin_group()  # one by one, in one group, as the server's engine thread does
                for m in group:
                    with contextlib.suppress(DomainError):  # a refused message changes nothing
                        one.publish(m, t)
                one.end_group()
                packed.publish_columns(pack(group, rng), t)
                if rng.random() < 0.2:
                    seed_builds = rng.random()
                    builds(one, random.Random(seed_builds), t)
                    builds(packed, random.Random(seed_builds), t)
                check(one)
                check(packed)
    assert appended > 0  # the extending path ran, not only the one that builds E whole
