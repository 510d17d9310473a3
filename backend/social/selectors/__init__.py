"""Reads for the social domain."""

from backend.social.selectors.accounts import (
    AccountRecord,
    UserRecord,
    get_account_by_username,
    get_account_id_for_token,
    get_accounts_by_ids,
    get_all_account_ids,
    get_profiles_by_user_ids,
    get_users_by_ids,
    token_hash,
)

__all__ = [
    "AccountRecord",
    "UserRecord",
    "get_account_by_username",
    "get_account_id_for_token",
    "get_accounts_by_ids",
    "get_all_account_ids",
    "get_profiles_by_user_ids",
    "get_users_by_ids",
    "token_hash",
]
