"""Reads for accounts and profiles."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings

from backend import caching
from backend.accounts.cache import USER_TTL, user_key
from backend.accounts.models import ACCOUNT, SEARCH_TERM, TOKEN, Profile, SearchTerm
from backend.accounts.search import prefix_range, search_form
from backend.errors import Forbidden, InvalidInput
from backend.shards import db, replicas, routing


@dataclass(frozen=True)
class AccountRecord:
    """A directory account (the sign-in identity; `id` is the user ID)."""

    id: int
    username: str
    email: str
    password: str
    created_at: datetime


@dataclass(frozen=True)
class UserRecord:
    """A user as the API shows it: directory account joined with its profile."""

    id: int
    username: str
    full_name: str
    bio: str
    is_private: bool
    photo_count: int
    follower_count: int
    following_count: int
    # Every photo object is public-read (see Profile.photos_public).
    photos_public: bool

    @property
    def photos_signed(self) -> bool:
        """Photo URLs must be presigned: the account is private, or its objects
        are not all public-read yet (just after it turned public)."""
        return self.is_private or not self.photos_public


@dataclass(frozen=True)
class TokenSession:
    """What a valid bearer token signs in as: the account and the session."""

    account_id: int
    session_id: str
    key_hash: str


@dataclass(frozen=True)
class SessionRecord:
    """A signed-in session as its owner sees it (never the token or its hash)."""

    session_id: str
    created_at: datetime
    last_used_at: datetime
    device: str | None


# A session's last use is written at most this often, not on every request:
# a write per request would turn every read into a write (WAL, row versions)
# on the directory. Five minutes keeps `lastUsedAt` good enough to show and
# costs an active session at most 12 writes an hour. A TOKEN_TTL under
# 30000 s (tests use a few seconds) gets TOKEN_TTL / 100 instead, so a token
# in use is always written well before it would expire.
TOUCH_INTERVAL_MAX = timedelta(minutes=5)


def token_ttl() -> timedelta:
    return timedelta(seconds=settings.TOKEN_TTL)


def touch_interval() -> timedelta:
    return min(TOUCH_INTERVAL_MAX, token_ttl() / 100)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def get_session_for_token(token: str) -> TokenSession | None:
    """The session a bearer token signs in as, or None if unknown, revoked or expired.

    Straight from the directory on every request, so a revoked token is
    refused at once (no cache to lag): one indexed read. Only when the stored
    last use is older than `touch_interval()` (once per few minutes of a
    session's use) does a second statement slide the expiry. A data-modifying
    CTE would do both in one statement but costs every request more than the
    rare second round trip (docs/decisions/0011-sessions.md).
    """
    key_hash = token_hash(token)
    rows = await db.aexecute(
        db.DIRECTORY,
        f'SELECT account_id, session_id, last_used_at < now() - %(touch)s AS stale FROM "{TOKEN}"'
        " WHERE key_hash = %(hash)s AND last_used_at > now() - %(ttl)s",
        {"hash": key_hash, "ttl": token_ttl(), "touch": touch_interval()},
    )
    if not rows:
        return None
    if rows[0]["stale"]:
        # Concurrent requests may both get here; the condition makes the second a no-op.
        await db.aexecute(
            db.DIRECTORY,
            f'UPDATE "{TOKEN}" SET last_used_at = now()'
            " WHERE key_hash = %(hash)s AND last_used_at < now() - %(touch)s",
            {"hash": key_hash, "touch": touch_interval()},
        )
    return TokenSession(
        account_id=int(rows[0]["account_id"]),
        session_id=rows[0]["session_id"].hex,
        key_hash=key_hash,
    )


async def get_sessions(*, viewer_id: int | None, account_id: int) -> list[SessionRecord]:
    """The account's live sessions, most recently used first; only its owner may see them."""
    if viewer_id != account_id:
        raise Forbidden("only the user themself may see their sessions")
    rows = await db.aexecute(
        db.DIRECTORY,
        f'SELECT session_id, created_at, last_used_at, device FROM "{TOKEN}" '
        "WHERE account_id = %s AND last_used_at > now() - %s "
        "ORDER BY last_used_at DESC, created_at DESC, session_id",
        [account_id, token_ttl()],
    )
    return [
        SessionRecord(
            session_id=r["session_id"].hex,
            created_at=r["created_at"],
            last_used_at=r["last_used_at"],
            device=r["device"] or None,
        )
        for r in rows
    ]


async def get_account_by_username(username: str) -> AccountRecord | None:
    if "\x00" in username:  # PostgreSQL refuses NUL in text; no username has one
        raise InvalidInput("username must not contain NUL characters")
    rows = await db.aexecute(
        db.DIRECTORY,
        f'SELECT id, username, email, password, created_at FROM "{ACCOUNT}" '
        "WHERE lower(username) = lower(%s)",
        [username],
    )
    return AccountRecord(**rows[0]) if rows else None


async def get_accounts_by_ids(
    ids: Iterable[int], *, kind: str | None = None
) -> dict[int, AccountRecord]:
    """Accounts by ID (`kind`: a read that may be stale, see replicas)."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = await db.aexecute(
        db.DIRECTORY,
        f'SELECT id, username, email, password, created_at FROM "{ACCOUNT}" WHERE id = ANY(%s)',
        [wanted],
        kind=kind,
    )
    return {int(r["id"]): AccountRecord(**r) for r in rows}


async def get_all_account_ids(*, after: int = 0, limit: int = 1000) -> list[int]:
    """Account IDs in order, a page at a time (for commands that visit everyone)."""
    rows = await db.aexecute(
        db.DIRECTORY,
        f'SELECT id FROM "{ACCOUNT}" WHERE id > %s ORDER BY id LIMIT %s',
        [after, limit],
    )
    return [int(r["id"]) for r in rows]


async def count_accounts() -> int:
    rows = await db.aexecute(db.DIRECTORY, f'SELECT count(*) AS n FROM "{ACCOUNT}"')
    return int(rows[0]["n"])


async def get_profiles_by_user_ids(ids: Iterable[int]) -> dict[int, Profile]:
    """Profiles on their users' logical shards: one statement per physical server."""
    rows = await routing.afetch_many(Profile, "user_id", ids)
    return {int(r["user_id"]): Profile(**r) for r in rows}


async def get_users_by_ids(ids: list[int]) -> list[UserRecord | None]:
    """Users in the order of `ids` (None where there is no such user)."""
    found, unavailable = await get_users_by_ids_partial(ids)
    if unavailable:
        raise next(iter(unavailable.values()))
    return [found.get(i) for i in ids]


async def get_users_by_ids_partial(
    ids: list[int],
) -> tuple[dict[int, UserRecord], dict[int, BaseException]]:
    """Users by ID whose profile's server answered, and the IDs whose did not
    (the directory must answer: it names every account). Profiles may be
    read from the hot standbys (replicas.PROFILES) where the caller allows."""
    accounts = await get_accounts_by_ids(ids, kind=replicas.PROFILES)
    part = await routing.afetch_many_partial(Profile, "user_id", accounts, kind=replicas.PROFILES)
    profiles = {int(r["user_id"]): Profile(**r) for r in part.rows}
    out: dict[int, UserRecord] = {}
    for user_id in ids:
        account, profile = accounts.get(user_id), profiles.get(user_id)
        if account is None or profile is None:
            continue
        out[user_id] = UserRecord(
            id=account.id,
            username=account.username,
            full_name=profile.full_name,
            bio=profile.bio,
            is_private=profile.is_private,
            photo_count=profile.photo_count,
            follower_count=profile.follower_count,
            following_count=profile.following_count,
            photos_public=profile.photos_public,
        )
    return out, part.unavailable


async def get_users_cached(ids: list[int]) -> dict[int, UserRecord]:
    """Users by ID through Memcached (one get_many, then the shards for misses)."""

    async def load(missing: list[int]) -> dict[int, UserRecord]:
        return {u.id: u for u in await get_users_by_ids(missing) if u is not None}

    return await caching.aget_through(ids, key=user_key, load=load, ttl=USER_TTL)


async def get_users_cached_partial(
    ids: list[int],
) -> tuple[dict[int, UserRecord], dict[int, BaseException]]:
    """`get_users_cached` that degrades: users whose profile's server is down
    (and who are not cached) come back as unavailable, with the error."""
    return await caching.aget_through_partial(
        ids, key=user_key, load=get_users_by_ids_partial, ttl=USER_TTL
    )


# User search (docs/decisions/0041-user-search.md).

# Candidates read per kind of term, in index order; the ranked result is the
# best of them. Fixed (not derived from the page), so pages of one query are
# cut from one list and never overlap or skip; a prefix with more matches
# than this is narrowed by typing on.
SEARCH_CANDIDATES = 200
SEARCH_QUERY_MAX = 64


async def search_user_ids(*, query: str, offset: int, limit: int) -> list[int]:
    """Users whose username, full name, or a later word of the full name starts
    with `query`, best first: exact matches, then usernames, full names and
    later words, then the shorter match, then alphabetically.

    One statement on the directory: a range scan of (kind, term) per kind,
    each stopped at SEARCH_CANDIDATES rows, ranked in memory.
    """
    if "\x00" in query:
        raise InvalidInput("query must not contain NUL characters")
    if len(query) > SEARCH_QUERY_MAX:
        raise InvalidInput(f"query must be at most {SEARCH_QUERY_MAX} characters")
    prefix = search_form(query)
    if not prefix:
        return []
    low, high = prefix_range(prefix)
    scans = " UNION ALL ".join(
        f'(SELECT user_id, kind, term FROM "{SEARCH_TERM}" WHERE kind = {kind} '
        "AND term >= %(low)s AND term < %(high)s ORDER BY term LIMIT %(cap)s)"
        for kind in (SearchTerm.USERNAME, SearchTerm.FULL_NAME, SearchTerm.NAME_WORD)
    )
    rows = await db.aexecute(
        db.DIRECTORY,
        f"WITH hits AS ({scans}), best AS ("
        " SELECT DISTINCT ON (user_id) user_id, term <> %(exact)s AS inexact, kind,"
        " length(term) AS len, term FROM hits"
        " ORDER BY user_id, term <> %(exact)s, kind, length(term), term)"
        " SELECT user_id FROM best ORDER BY inexact, kind, len, term, user_id"
        " LIMIT %(limit)s OFFSET %(offset)s",
        {
            "low": low,
            "high": high,
            "exact": prefix,
            "cap": SEARCH_CANDIDATES,
            "limit": limit,
            "offset": offset,
        },
    )
    return [int(r["user_id"]) for r in rows]
