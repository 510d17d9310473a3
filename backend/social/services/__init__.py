"""Writes for the social domain: accounts, profiles, follows, likes, comments."""

from backend.social.services.accounts import (
    check_email,
    check_new_password,
    check_username,
    clean_device,
    do_issue_token,
    do_log_in,
    do_log_out,
    do_log_out_everywhere,
    do_sign_up,
)
from backend.social.services.comments import do_add_comment, do_delete_comment
from backend.social.services.follows import (
    do_approve_follow_request,
    do_follow,
    do_reject_follow_request,
    do_unfollow,
)
from backend.social.services.likes import do_like_photo, do_unlike_photo
from backend.social.services.profiles import do_update_profile

__all__ = [
    "check_email",
    "check_new_password",
    "check_username",
    "clean_device",
    "do_add_comment",
    "do_approve_follow_request",
    "do_delete_comment",
    "do_follow",
    "do_issue_token",
    "do_like_photo",
    "do_log_in",
    "do_log_out",
    "do_log_out_everywhere",
    "do_reject_follow_request",
    "do_sign_up",
    "do_unfollow",
    "do_unlike_photo",
    "do_update_profile",
]
