"""Reads for the social domain."""

from backend.social.selectors.accounts import (
    UserRecord,
    get_account_by_username,
    get_account_id_for_token,
    get_accounts_by_ids,
    get_profiles_by_user_ids,
    get_users_by_ids,
    token_hash,
)

__all__ = [
    "UserRecord",
    "get_account_by_username",
    "get_account_id_for_token",
    "get_accounts_by_ids",
    "get_profiles_by_user_ids",
    "get_users_by_ids",
    "token_hash",
]
