"""Writes for accounts: sign-up, log-in, tokens, profile edits."""

from __future__ import annotations

import re
import secrets
from typing import Any

import psycopg
from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from backend.accounts.cache import ainvalidate_users
from backend.accounts.events import PRIVACY_CHANGED, PROFILE_NAME_CHANGED
from backend.accounts.models import PROFILE, SEARCH_TERM, Profile, SearchTerm
from backend.accounts.search import name_terms, search_form
from backend.accounts.selectors import (
    ACCOUNT,
    TOKEN,
    AccountRecord,
    get_account_by_username,
    get_accounts_by_ids,
    get_profiles_by_user_ids,
    token_hash,
    token_ttl,
)
from backend.aftercommit import after_commit
from backend.errors import InvalidInput, NotAuthenticated, NotFound
from backend.runtime import in_thread
from backend.shards import db, outbox, routing, topology
from backend.shards.ids import shard_of
from backend.validation import check_text

USERNAME_RE = re.compile(r"^[A-Za-z0-9._]{1,30}$")
PASSWORD_MAX_LENGTH = 128
BAD_CREDENTIALS = "invalid username or password"
# A session's device is the User-Agent that signed in, cut to this length.
DEVICE_MAX_LENGTH = 200
# Live sessions kept per account; signing in beyond this ends the least
# recently used one (a script logging in in a loop cannot grow the list).
MAX_SESSIONS = 100

# Hashed once so that an unknown username costs the same time as a wrong password.
_DUMMY_HASH: str | None = None


def check_username(username: str) -> str:
    if not USERNAME_RE.fullmatch(username):
        raise InvalidInput("username must be 1-30 characters of letters, digits, '.' and '_'")
    return username


def check_new_password(password: str) -> str:
    if len(password) < settings.PASSWORD_MIN_LENGTH:
        raise InvalidInput(f"password must be at least {settings.PASSWORD_MIN_LENGTH} characters")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise InvalidInput(f"password must be at most {PASSWORD_MAX_LENGTH} characters")
    return password


def check_email(email: str | None) -> str:
    email = (email or "").strip()
    if not email:
        return ""
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput("email address is not valid") from None
    return email


async def _create_profile(logical: int) -> int:
    async def insert(conn: psycopg.AsyncConnection[Any], schema: str) -> int:
        cur = await conn.execute(
            f'INSERT INTO {schema}."{PROFILE}" (full_name, bio, is_private) '
            "VALUES ('', '', false) RETURNING user_id"
        )
        row = await cur.fetchone()
        assert row is not None
        return int(row["user_id"])

    return await routing.awrite(logical, insert)


async def _delete_profile(user_id: int) -> None:
    await routing.aquery(
        shard_of(user_id),
        f'DELETE FROM {{schema}}."{PROFILE}" WHERE user_id = %s',
        [user_id],
    )


def clean_device(user_agent: str | None) -> str:
    """What a session records of the device that signed in: its User-Agent, cut short."""
    return (user_agent or "").strip()[:DEVICE_MAX_LENGTH]


async def do_issue_token(*, account_id: int, device: str | None = None) -> str:
    """Start a session: a new bearer token for the account (only its hash is stored).

    The same statement drops the account's expired sessions and, beyond
    MAX_SESSIONS, its least recently used ones, so neither the table nor the
    viewer's session list grows without bound; their devices go with them
    (DeviceToken.auth_token cascades).
    """
    token = secrets.token_urlsafe(32)
    await db.aexecute(
        db.DIRECTORY,
        f"WITH stale AS ("
        f' DELETE FROM "{TOKEN}" WHERE account_id = %(account)s'
        " AND (last_used_at <= now() - %(ttl)s OR key_hash IN ("
        f'  SELECT key_hash FROM "{TOKEN}" WHERE account_id = %(account)s'
        "  ORDER BY last_used_at DESC, created_at DESC OFFSET %(keep)s))"
        ") "
        f'INSERT INTO "{TOKEN}" (key_hash, account_id, created_at, last_used_at, device) '
        "VALUES (%(hash)s, %(account)s, now(), now(), %(device)s)",
        {
            "account": account_id,
            "ttl": token_ttl(),
            # The statement's snapshot does not see the row it inserts.
            "keep": MAX_SESSIONS - 1,
            "hash": token_hash(token),
            "device": clean_device(device),
        },
    )
    return token


async def do_sign_up(
    *, username: str, password: str, email: str | None, device: str | None = None
) -> tuple[AccountRecord, str]:
    """Create an account on a random logical shard and return it with a token.

    The profile row is written first (it mints the user ID on the shard), then
    the directory row; if the directory refuses the username, the profile is
    removed again, so a failed sign-up leaves nothing behind.
    """
    check_username(username)
    check_new_password(password)
    email = check_email(email)
    if await get_account_by_username(username) is not None:
        raise InvalidInput(f"username {username!r} is taken")
    shard_map = await topology.aget_map()
    logical = secrets.randbelow(shard_map.logical_count)
    # Hashing is CPU-bound for ~0.3 s: in a thread, so the loop serves others.
    password_hash = await in_thread(make_password, password)
    user_id = await _create_profile(logical)
    try:
        # The account and its username's search term: one statement, so both or neither.
        rows = await db.aexecute(
            db.DIRECTORY,
            f'WITH a AS (INSERT INTO "{ACCOUNT}" (id, username, email, password, created_at) '
            "VALUES (%(id)s, %(username)s, %(email)s, %(password)s, now()) "
            "RETURNING id, username, email, password, created_at), "
            f't AS (INSERT INTO "{SEARCH_TERM}" (user_id, kind, term) '
            "SELECT id, %(kind)s, %(term)s FROM a) "
            "SELECT * FROM a",
            {
                "id": user_id,
                "username": username,
                "email": email,
                "password": password_hash,
                "kind": SearchTerm.USERNAME,
                "term": search_form(username),
            },
        )
        account = AccountRecord(**rows[0])
    except psycopg.errors.UniqueViolation:
        await _delete_profile(user_id)
        raise InvalidInput(f"username {username!r} is taken") from None
    except BaseException:
        await _delete_profile(user_id)
        raise
    return account, await do_issue_token(account_id=account.id, device=device)


async def do_log_in(
    *, username: str, password: str, device: str | None = None
) -> tuple[AccountRecord, str]:
    """Check credentials; the same error for an unknown user and a wrong password."""
    global _DUMMY_HASH
    account = await get_account_by_username(username) if USERNAME_RE.fullmatch(username) else None
    if account is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = await in_thread(make_password, "x")
        await in_thread(check_password, password, _DUMMY_HASH)
        raise NotAuthenticated(BAD_CREDENTIALS)
    ok = await in_thread(check_password, password, account.password)
    if not ok:
        raise NotAuthenticated(BAD_CREDENTIALS)
    return account, await do_issue_token(account_id=account.id, device=device)


async def do_log_out(*, token: str) -> bool:
    """End one session: revoke its token; True when it existed.

    The devices registered through it are unregistered by the same
    statement (DeviceToken.auth_token cascades).
    """
    rows = await db.aexecute(
        db.DIRECTORY,
        f'DELETE FROM "{TOKEN}" WHERE key_hash = %s RETURNING key_hash',
        [token_hash(token)],
    )
    return bool(rows)


async def do_log_out_everywhere(*, account_id: int) -> int:
    """End every session of the account; returns how many were live.

    Expired rows are deleted too but not counted: they signed no one in.
    Devices registered through any of them are unregistered with them.
    """
    rows = await db.aexecute(
        db.DIRECTORY,
        f'DELETE FROM "{TOKEN}" WHERE account_id = %s RETURNING last_used_at > now() - %s AS live',
        [account_id, token_ttl()],
    )
    return sum(1 for r in rows if r["live"])


# Profile edits.

FULL_NAME_MAX = Profile._meta.get_field("full_name").max_length or 64
BIO_MAX = Profile._meta.get_field("bio").max_length or 300


async def do_update_profile(
    *, viewer_id: int, full_name: str | None, bio: str | None, is_private: bool | None
) -> None:
    """Change the given fields of the viewer's profile (None leaves a field as it is).

    Turning private takes effect for photo URLs at once (presigned from the
    next read); the objects' ACLs follow by the PRIVACY_CHANGED event's consumer
    (backend/photos/visibility.py).
    """
    changes: dict[str, Any] = {}
    if full_name is not None:
        changes["full_name"] = check_text(full_name, what="fullName", max_length=FULL_NAME_MAX)
    if bio is not None:
        changes["bio"] = check_text(bio, what="bio", max_length=BIO_MAX)
    if is_private is not None:
        changes["is_private"] = is_private
        if is_private:
            changes["photos_public"] = False
    if not changes:
        return
    assignments = ", ".join(f"{column} = %s" for column in changes)

    async def update(conn: psycopg.AsyncConnection[Any], schema: str) -> None:
        cur = await conn.execute(
            f'SELECT is_private, full_name FROM {schema}."{PROFILE}" WHERE user_id = %s FOR UPDATE',
            [viewer_id],
        )
        row = await cur.fetchone()
        if row is None:
            raise NotFound("no such user")
        await conn.execute(
            f'UPDATE {schema}."{PROFILE}" SET {assignments} WHERE user_id = %s',
            [*changes.values(), viewer_id],
        )
        if "full_name" in changes and changes["full_name"] != row["full_name"]:
            await outbox.record(conn, shard_of(viewer_id), PROFILE_NAME_CHANGED, user_id=viewer_id)
        if is_private is not None and bool(row["is_private"]) != is_private:
            await outbox.record(
                conn, shard_of(viewer_id), PRIVACY_CHANGED, user_id=viewer_id, is_private=is_private
            )

    await routing.awrite(shard_of(viewer_id), update)
    await after_commit(ainvalidate_users([viewer_id]), "user cache invalidation")


async def do_index_user_name(*, user_id: int) -> None:
    """Make the user's search terms for their full name match the profile
    (idempotent: reads the name as it is now; a missing profile leaves none)."""
    rows = await routing.aquery(
        shard_of(user_id),
        f'SELECT full_name FROM {{schema}}."{PROFILE}" WHERE user_id = %s',
        [user_id],
    )
    terms = name_terms(rows[0]["full_name"]) if rows else []
    # One statement: the old name's terms go and the new one's come, atomically.
    # Terms in both are neither deleted nor inserted (the parts of one statement
    # do not see each other's changes, so deleting and re-inserting a row in it
    # would lose the row).
    await db.aexecute(
        db.DIRECTORY,
        "WITH new AS (SELECT k::smallint AS kind, t AS term "
        "FROM unnest(%(kinds)s::smallint[], %(terms)s::text[]) AS x(k, t)), "
        f'gone AS (DELETE FROM "{SEARCH_TERM}" s WHERE s.user_id = %(user)s '
        "AND s.kind <> %(username)s "
        "AND NOT EXISTS (SELECT 1 FROM new WHERE new.kind = s.kind AND new.term = s.term)) "
        f'INSERT INTO "{SEARCH_TERM}" (user_id, kind, term) '
        "SELECT %(user)s, kind, term FROM new ON CONFLICT DO NOTHING",
        {
            "user": user_id,
            "username": SearchTerm.USERNAME,
            "kinds": [k for k, _ in terms],
            "terms": [t for _, t in terms],
        },
    )


async def do_reindex_users(*, user_ids: list[int]) -> int:
    """Rewrite the search terms of these users from their accounts and profiles
    (for accounts from before the index, or to repair it); returns terms written."""
    accounts = await get_accounts_by_ids(user_ids)
    profiles = await get_profiles_by_user_ids(accounts)
    rows: list[tuple[int, int, str]] = []
    for user_id, account in accounts.items():
        rows.append((user_id, SearchTerm.USERNAME, search_form(account.username)))
        profile = profiles.get(user_id)
        if profile is not None:
            rows += [(user_id, kind, term) for kind, term in name_terms(profile.full_name)]
    async with db.aconnection(db.DIRECTORY) as conn, conn.transaction():
        await conn.execute(f'DELETE FROM "{SEARCH_TERM}" WHERE user_id = ANY(%s)', [list(accounts)])
        await conn.execute(
            f'INSERT INTO "{SEARCH_TERM}" (user_id, kind, term) '
            "SELECT * FROM unnest(%s::bigint[], %s::smallint[], %s::text[]) "
            "ON CONFLICT DO NOTHING",
            [[r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]],
        )
    return len(rows)
