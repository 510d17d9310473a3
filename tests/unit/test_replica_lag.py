"""How far behind a standby is, from its own answer to replicas.CHECK_SQL
(no server: the rows are what PostgreSQL returns in each situation)."""

from __future__ import annotations

import math
from typing import Any

import psycopg
import pytest
from django.conf import settings
from psycopg_pool import PoolTimeout

from backend.shards.replicas import KINDS, is_connection_failure, lag_of

pytestmark = pytest.mark.unit


def row(**over: Any) -> dict[str, Any]:
    base = {
        "standby": True,
        "paused": False,
        "receiver": "streaming",
        "behind_bytes": 0,
        "replay_age": 0.2,
    }
    return base | over


def test_a_standby_that_applied_all_it_received_is_not_behind_however_idle() -> None:
    # The last transaction was replayed an hour ago, and nothing came since.
    assert lag_of(row(replay_age=3600.0)) == 0.0


def test_a_standby_with_wal_to_apply_is_as_far_behind_as_its_last_applied_commit() -> None:
    assert lag_of(row(behind_bytes=8192, replay_age=2.5)) == 2.5


def test_a_paused_replay_with_wal_waiting_is_infinitely_behind() -> None:
    assert lag_of(row(behind_bytes=120, paused=True, replay_age=0.01)) == math.inf


def test_a_paused_replay_with_nothing_waiting_is_not_behind() -> None:
    assert lag_of(row(paused=True, replay_age=50.0)) == 0.0


def test_a_standby_not_streaming_from_its_primary_cannot_be_trusted() -> None:
    assert lag_of(row(receiver=None)) == math.inf
    assert lag_of(row(receiver="waiting")) == math.inf


def test_a_receiver_whose_status_the_role_may_not_see_counts_as_running() -> None:
    assert lag_of(row(receiver="running", behind_bytes=0)) == 0.0


def test_a_route_to_a_primary_is_never_behind() -> None:
    primary = row(standby=False, receiver=None, behind_bytes=None, replay_age=None)
    assert lag_of(primary) == 0.0


def test_a_standby_that_never_replayed_a_transaction_is_behind_when_wal_waits() -> None:
    assert lag_of(row(behind_bytes=10, replay_age=None)) == math.inf


def test_only_connection_failures_mark_a_standby_down() -> None:
    assert is_connection_failure(psycopg.OperationalError("connection refused"))
    assert is_connection_failure(PoolTimeout("no connection in 5 s"))
    assert is_connection_failure(psycopg.errors.AdminShutdown())
    assert is_connection_failure(psycopg.errors.ProtocolViolation())  # PgBouncer's 08P01
    # A statement the standby cancelled costs only itself.
    assert not is_connection_failure(psycopg.errors.SerializationFailure())
    assert not is_connection_failure(psycopg.errors.QueryCanceled())
    assert not is_connection_failure(psycopg.errors.UndefinedTable())


def test_the_kinds_settings_accepts_are_the_kinds_selectors_name() -> None:
    assert set(KINDS) == set(settings.REPLICA_READ_KINDS)
