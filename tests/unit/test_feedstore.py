"""Feed store packing, with no server: members are 8-byte big-endian IDs, so
Redis's lexicographic order on equal scores is the IDs' (time) order."""

from __future__ import annotations

import random

import pytest

from backend.feeds import feedstore
from backend.shards.ids import MAX_ID

pytestmark = pytest.mark.unit


def test_pack_round_trips_and_keeps_the_order_of_ids() -> None:
    ids = sorted(random.sample(range(2, MAX_ID), 1000))
    packed = [feedstore.pack(i) for i in ids]
    assert all(len(p) == 8 for p in packed)
    assert sorted(packed) == packed, "byte order must be ID order"
    assert [feedstore.unpack(p) for p in packed] == ids


def test_photo_ids_leave_the_markers_out() -> None:
    members = [feedstore.BUILDING, feedstore.pack(42), feedstore.COMPLETE, feedstore.pack(7)]
    assert feedstore.photo_ids(members) == [42, 7]


def test_markers_sort_below_every_photo_id() -> None:
    # IDs carry 41 bits of milliseconds above 23 others: a real ID is far above 1.
    smallest_real = 1 << 23
    assert max(feedstore.BUILDING, feedstore.COMPLETE) < feedstore.pack(smallest_real)
