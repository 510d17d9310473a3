"""Reads for the social domain."""

from backend.accounts.selectors import (
    AccountRecord,
    SessionRecord,
    TokenSession,
    UserRecord,
    get_account_by_username,
    get_accounts_by_ids,
    get_all_account_ids,
    get_profiles_by_user_ids,
    get_session_for_token,
    get_sessions,
    get_users_by_ids,
    token_hash,
    token_ttl,
)

__all__ = [
    "AccountRecord",
    "SessionRecord",
    "TokenSession",
    "UserRecord",
    "get_account_by_username",
    "get_accounts_by_ids",
    "get_all_account_ids",
    "get_profiles_by_user_ids",
    "get_session_for_token",
    "get_sessions",
    "get_users_by_ids",
    "token_hash",
    "token_ttl",
]
