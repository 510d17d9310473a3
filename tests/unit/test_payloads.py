"""What a push says, with no server: localizable keys, never private text;
one collapse ID per photo (or per actor for follows)."""

from __future__ import annotations

import pytest

from backend.notifications.payloads import LOC_KEYS, build_push

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("kind", sorted(LOC_KEYS))
def test_every_kind_names_its_key_and_the_public_username_only(kind: str) -> None:
    photo_id = None if kind.startswith("follow") else 123456789012345678
    push = build_push(kind=kind, actor_id=77, actor_username="ana", photo_id=photo_id, badge=3)
    aps = push.message["aps"]
    assert aps["alert"] == {"loc-key": LOC_KEYS[kind], "loc-args": ["ana"]}
    assert aps["badge"] == 3
    assert push.message["actorId"] == "77"
    assert ("photoId" in push.message) is (photo_id is not None)
    assert len(push.collapse_id.encode()) <= 64  # APNs' limit


def test_a_photo_s_pushes_share_a_thread_and_collapse_per_kind() -> None:
    like = build_push(kind="like", actor_id=1, actor_username="a", photo_id=9, badge=1)
    comment = build_push(kind="comment", actor_id=2, actor_username="b", photo_id=9, badge=2)
    assert like.message["aps"]["thread-id"] == comment.message["aps"]["thread-id"] == "photo-9"
    assert like.collapse_id == "like-9" and comment.collapse_id == "comment-9"
    follow = build_push(kind="follow", actor_id=5, actor_username="c", photo_id=None, badge=1)
    assert "photoId" not in follow.message
    assert follow.collapse_id == "follow-5"
    assert follow.message["aps"]["thread-id"] == "user-5"
