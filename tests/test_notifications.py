"""Push notifications through the real pipeline.

Devices are registered over GraphQL (gunicorn); pushes are scheduled with the
real service, run by the stack's Dramatiq worker process and sent by aioapns
over HTTP/2 + TLS to the stack's APNs stand-in (tests/apns_standin.py),
which checks the protocol (path, JWT signature, headers, payload) and
records what it got. Every test uses fresh device tokens, so parallel tests
never see each other's pushes.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from backend.notifications.models import DeviceToken
from backend.notifications.services import PushKind, ado_cancel_notification
from backend.notifications.tasks import schedule as ado_notify
from backend.notifications.tasks import schedule_post_pushes
from tests import imagegen
from tests.graphql import error_codes, gql, sign_up, upload
from tests.queues import drain

REGISTER = "mutation($t: String!) { registerDevice(token: $t) }"
UNREGISTER = "mutation($t: String!) { unregisterDevice(token: $t) }"
SET_POST = "mutation($id: ID!, $on: Boolean!) { setPostNotifications(userId: $id, enabled: $on) }"
RESET_BADGE = "mutation { resetBadge }"
LIKE = "mutation($id: ID!) { likePhoto(id: $id) { id } }"
UNLIKE = "mutation($id: ID!) { unlikePhoto(id: $id) { id } }"
FOLLOW = "mutation($id: ID!) { follow(userId: $id) { id } }"

# Longer than PUSH_DELAY_MS (2 s) plus a retry's backoff.
DEADLINE = 20.0


@pytest.fixture
async def standin() -> AsyncIterator[httpx.AsyncClient]:
    port = os.environ.get("APNS_STANDIN_CONTROL_PORT")
    if not port:
        pytest.fail("no APNs stand-in: run against a test profile of scripts/stack.sh")
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
        yield c


def new_device() -> str:
    return secrets.token_hex(32)


def new_photo_id() -> int:
    # Any positive 63-bit ID: the push names the photo, nothing reads it.
    return secrets.randbits(62) | 1


async def requests_for(standin: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
    response = await standin.get("/requests", params={"token": token})
    response.raise_for_status()
    found: list[dict[str, Any]] = response.json()["requests"]
    return found


async def wait_for(
    standin: httpx.AsyncClient, token: str, count: int, *, deadline: float = DEADLINE
) -> list[dict[str, Any]]:
    """The requests for `token` once there are at least `count` (fails after the deadline)."""
    end = time.monotonic() + deadline
    while True:
        found = await requests_for(standin, token)
        if len(found) >= count or time.monotonic() > end:
            assert len(found) >= count, f"expected {count} requests for {token}, got {found}"
            return found
        await asyncio.sleep(0.1)


async def script(standin: httpx.AsyncClient, token: str, responses: list[dict[str, Any]]) -> None:
    response = await standin.post("/script", json={"token": token, "responses": responses})
    response.raise_for_status()


async def user_with_devices(live: httpx.AsyncClient, name: str, count: int = 1) -> dict[str, Any]:
    user = await sign_up(live, name)
    user["devices"] = [new_device() for _ in range(count)]
    for device in user["devices"]:
        body = await gql(live, REGISTER, {"t": device}, token=user["token"])
        assert body.get("errors") is None and body["data"] == {"registerDevice": True}, body
    return user


async def sentinel(
    standin: httpx.AsyncClient, recipient: dict[str, Any], actor: dict[str, Any]
) -> list[dict[str, Any]]:
    """Send a push that must arrive, and return what the recipient's device got by then.

    It is scheduled after whatever the test expects to be dropped, so once it
    arrived the dropped push had its chance to arrive too.
    """
    device = recipient["devices"][0]
    before = len(await requests_for(standin, device))
    await ado_notify(
        kind=PushKind.COMMENT,
        recipient_id=int(recipient["user"]["id"]),
        actor_id=int(actor["user"]["id"]),
        photo_id=new_photo_id(),
    )
    await wait_for(standin, device, before + 1)
    await drain("send_push", "deliver_push", "send_post_pushes")
    return await requests_for(standin, device)


def loc_key(request: dict[str, Any]) -> str:
    key: str = request["payload"]["aps"]["alert"]["loc-key"]
    return key


async def test_register_device_checks_the_token(live, unique):
    user = await sign_up(live, f"dev_{unique}")
    for bad in ["zz" * 32, "ab" * 10, "ab" * 101, "a" * 65, ""]:
        body = await gql(live, REGISTER, {"t": bad}, token=user["token"])
        assert error_codes(body) == ["BAD_USER_INPUT"], (bad, body)
    body = await gql(live, REGISTER, {"t": new_device()})
    assert error_codes(body) == ["UNAUTHENTICATED"]

    device = new_device()
    body = await gql(live, REGISTER, {"t": f" {device.upper()} "}, token=user["token"])
    assert body.get("errors") is None and body["data"] == {"registerDevice": True}
    row = await DeviceToken.objects.aget(token=device)
    assert row.account_id == int(user["user"]["id"])
    # Registering again is harmless.
    body = await gql(live, REGISTER, {"t": device}, token=user["token"])
    assert body.get("errors") is None and body["data"] == {"registerDevice": True}
    assert await DeviceToken.objects.filter(token=device).acount() == 1


async def test_a_token_moves_to_the_account_that_registers_it_last(live, unique):
    first = await user_with_devices(live, f"mv1_{unique}")
    second = await sign_up(live, f"mv2_{unique}")
    device = first["devices"][0]
    body = await gql(live, REGISTER, {"t": device}, token=second["token"])
    assert body.get("errors") is None and body["data"] == {"registerDevice": True}
    row = await DeviceToken.objects.aget(token=device)
    assert row.account_id == int(second["user"]["id"])

    body = await gql(live, UNREGISTER, {"t": device}, token=first["token"])
    assert body.get("errors") is None and body["data"] == {"unregisterDevice": False}, (
        "not theirs any more"
    )
    assert await DeviceToken.objects.filter(token=device).aexists()
    body = await gql(live, UNREGISTER, {"t": device}, token=second["token"])
    assert body.get("errors") is None and body["data"] == {"unregisterDevice": True}
    assert not await DeviceToken.objects.filter(token=device).aexists()
    body = await gql(live, UNREGISTER, {"t": device})
    assert error_codes(body) == ["UNAUTHENTICATED"]


async def test_a_like_sends_one_well_formed_push_to_each_device(live, standin, unique):
    owner = await user_with_devices(live, f"own_{unique}", count=2)
    fan = await sign_up(live, f"fan_{unique}")
    photo_id = new_photo_id()
    await gql(live, RESET_BADGE, token=owner["token"])

    await ado_notify(
        kind=PushKind.LIKE,
        recipient_id=int(owner["user"]["id"]),
        actor_id=int(fan["user"]["id"]),
        photo_id=photo_id,
    )
    for device in owner["devices"]:
        [request] = await wait_for(standin, device, 1)
        assert request["status"] == 200 and request["reason"] is None, request
        headers = request["headers"]
        assert headers[":method"] == "POST"
        assert headers[":path"] == f"/3/device/{device}"
        assert headers["apns-topic"] == os.environ["APNS_TOPIC"]
        assert headers["apns-push-type"] == "alert"
        assert headers["apns-priority"] == "10"
        assert headers["apns-collapse-id"] == f"like-{photo_id}"
        jwt = request["jwt"]
        assert jwt["verified"] is True, jwt
        assert jwt["header"]["kid"] == os.environ["APNS_KEY_ID"]
        assert jwt["claims"]["iss"] == os.environ["APNS_TEAM_ID"]
        assert request["payload"] == {
            "aps": {
                "alert": {"loc-key": "LIKE_NOTIFICATION", "loc-args": [f"fan_{unique}"]},
                "badge": 1,
                "sound": "default",
                "thread-id": f"photo-{photo_id}",
            },
            "kind": "like",
            "actorId": fan["user"]["id"],
            "photoId": str(photo_id),
        }
        row = await DeviceToken.objects.aget(token=device)
        assert row.last_used_at is not None

    # Exactly one each, also once every push job is done.
    await drain("send_push", "deliver_push", "send_post_pushes")
    for device in owner["devices"]:
        assert len(await requests_for(standin, device)) == 1


async def test_unregistered_410_removes_the_token(live, standin, unique):
    owner = await user_with_devices(live, f"gone_{unique}")
    fan = await sign_up(live, f"gonefan_{unique}")
    device = owner["devices"][0]
    await script(standin, device, [{"status": 410, "reason": "Unregistered"}])

    await ado_notify(
        kind=PushKind.FOLLOW,
        recipient_id=int(owner["user"]["id"]),
        actor_id=int(fan["user"]["id"]),
    )
    [request] = await wait_for(standin, device, 1)
    assert request["status"] == 410 and request["jwt"]["verified"]
    assert loc_key(request) == "FOLLOW_NOTIFICATION"
    end = time.monotonic() + DEADLINE
    while await DeviceToken.objects.filter(token=device).aexists():
        assert time.monotonic() < end, "the token was not removed after 410"
        await asyncio.sleep(0.1)
    # Gone means gone: no retry reached the stand-in.
    await drain("send_push", "deliver_push", "send_post_pushes")
    assert len(await requests_for(standin, device)) == 1


async def test_503_then_200_is_delivered_exactly_once(live, standin, unique):
    owner = await user_with_devices(live, f"busy_{unique}")
    fan = await sign_up(live, f"busyfan_{unique}")
    device = owner["devices"][0]
    await script(standin, device, [{"status": 503, "reason": "ServiceUnavailable"}])

    await ado_notify(
        kind=PushKind.COMMENT,
        recipient_id=int(owner["user"]["id"]),
        actor_id=int(fan["user"]["id"]),
        photo_id=new_photo_id(),
    )
    first, second = await wait_for(standin, device, 2)
    assert (first["status"], second["status"]) == (503, 200)
    assert first["payload"] == second["payload"]
    assert first["headers"]["apns-collapse-id"] == second["headers"]["apns-collapse-id"]
    assert second["jwt"]["verified"]
    await drain("send_push", "deliver_push", "send_post_pushes")
    assert len(await requests_for(standin, device)) == 2, "delivered more than once"
    assert await DeviceToken.objects.filter(token=device).aexists()


async def test_429_is_retried_too(live, standin, unique):
    owner = await user_with_devices(live, f"slow_{unique}")
    fan = await sign_up(live, f"slowfan_{unique}")
    device = owner["devices"][0]
    await script(
        standin,
        device,
        [
            {"status": 429, "reason": "TooManyRequests"},
            {"status": 500, "reason": "InternalServerError"},
        ],
    )
    await ado_notify(
        kind=PushKind.FOLLOW_REQUEST,
        recipient_id=int(owner["user"]["id"]),
        actor_id=int(fan["user"]["id"]),
    )
    found = await wait_for(standin, device, 3, deadline=30)
    assert [r["status"] for r in found] == [429, 500, 200]
    assert loc_key(found[-1]) == "FOLLOW_REQUEST_NOTIFICATION"


async def test_no_push_about_yourself(live, standin, unique):
    owner = await user_with_devices(live, f"self_{unique}")
    other = await sign_up(live, f"selfother_{unique}")
    owner_id = int(owner["user"]["id"])
    await ado_notify(
        kind=PushKind.LIKE, recipient_id=owner_id, actor_id=owner_id, photo_id=new_photo_id()
    )
    found = await sentinel(standin, owner, other)
    assert [loc_key(r) for r in found] == ["COMMENT_NOTIFICATION"]


async def test_one_push_per_photo_and_kind_within_the_window(live, standin, unique):
    owner = await user_with_devices(live, f"dup_{unique}")
    fans = [await sign_up(live, f"dupfan{i}_{unique}") for i in range(3)]
    photo_id = new_photo_id()
    for fan in fans:
        await ado_notify(
            kind=PushKind.LIKE,
            recipient_id=int(owner["user"]["id"]),
            actor_id=int(fan["user"]["id"]),
            photo_id=photo_id,
        )
    found = await sentinel(standin, owner, fans[0])
    # Worker threads may send the two in either order.
    assert sorted(loc_key(r) for r in found) == ["COMMENT_NOTIFICATION", "LIKE_NOTIFICATION"]


async def test_a_cancelled_push_is_not_sent(live, standin, unique):
    owner = await user_with_devices(live, f"undo_{unique}")
    fan = await sign_up(live, f"undofan_{unique}")
    args: dict[str, Any] = {
        "kind": PushKind.LIKE,
        "recipient_id": int(owner["user"]["id"]),
        "actor_id": int(fan["user"]["id"]),
        "photo_id": new_photo_id(),
    }
    await ado_notify(**args)
    await ado_cancel_notification(**args)
    found = await sentinel(standin, owner, fan)
    assert [loc_key(r) for r in found] == ["COMMENT_NOTIFICATION"]

    # Like, unlike, like again: one push, for the like that stands.
    await ado_notify(**args)
    await ado_cancel_notification(**args)
    await ado_notify(**args)
    await wait_for(standin, owner["devices"][0], 2)
    await drain("send_push", "deliver_push", "send_post_pushes")
    found = await requests_for(standin, owner["devices"][0])
    assert [loc_key(r) for r in found] == ["COMMENT_NOTIFICATION", "LIKE_NOTIFICATION"]


async def test_post_pushes_go_only_to_followers_who_opted_in(live, standin, unique):
    poster = await sign_up(live, f"poster_{unique}")
    keen = await user_with_devices(live, f"keen_{unique}", count=2)
    quiet = await user_with_devices(live, f"quiet_{unique}")
    changed = await user_with_devices(live, f"changed_{unique}")
    for follower, on in [(keen, True), (changed, True), (changed, False)]:
        body = await gql(
            live, SET_POST, {"id": poster["user"]["id"], "on": on}, token=follower["token"]
        )
        assert body.get("errors") is None and body["data"] == {"setPostNotifications": on}, body
    body = await gql(live, SET_POST, {"id": poster["user"]["id"], "on": True})
    assert error_codes(body) == ["UNAUTHENTICATED"]
    body = await gql(live, SET_POST, {"id": "nope", "on": True}, token=keen["token"])
    assert error_codes(body) == ["BAD_USER_INPUT"]

    for follower in (keen, quiet, changed):
        body = await gql(live, FOLLOW, {"id": poster["user"]["id"]}, token=follower["token"])
        assert body.get("errors") is None, body
    # One opted-in account that does not follow the poster gets nothing.
    stranger = await user_with_devices(live, f"stranger_{unique}")
    body = await gql(
        live, SET_POST, {"id": poster["user"]["id"], "on": True}, token=stranger["token"]
    )
    assert body.get("errors") is None, body

    # What PHOTO_POSTED's push consumer does, twice (delivery is at least
    # once): each opted-in follower gets one push.
    photo_id = new_photo_id()
    for _ in range(2):
        await schedule_post_pushes(actor_id=int(poster["user"]["id"]), photo_id=photo_id)
    for device in keen["devices"]:
        [request] = await wait_for(standin, device, 1)
        assert request["status"] == 200 and request["jwt"]["verified"]
        assert request["payload"]["aps"]["alert"] == {
            "loc-key": "POST_NOTIFICATION",
            "loc-args": [f"poster_{unique}"],
        }
        assert request["payload"]["photoId"] == str(photo_id)
        assert request["headers"]["apns-collapse-id"] == f"post-{photo_id}"
    for follower in (quiet, changed, stranger):
        found = await sentinel(standin, follower, poster)
        assert [loc_key(r) for r in found] == ["COMMENT_NOTIFICATION"]
    await drain("send_post_pushes", "deliver_push")
    for device in keen["devices"]:
        assert len(await requests_for(standin, device)) == 1, "the second delivery pushed again"


async def test_liking_a_photo_over_graphql_pushes_to_its_owner(live, standin, unique):
    """The whole path: likePhoto → after commit → worker → aioapns → stand-in."""
    owner = await user_with_devices(live, f"e2e_{unique}")
    fan = await sign_up(live, f"e2efan_{unique}")
    body = await upload(live, owner["token"], imagegen.png_bytes(32, 24), caption="secret caption")
    assert "errors" not in body, body
    photo_id = body["data"]["uploadPhoto"]["id"]

    # Liking your own photo notifies nobody; a like taken back at once is not pushed.
    assert "errors" not in await gql(live, LIKE, {"id": photo_id}, token=owner["token"])
    assert "errors" not in await gql(live, LIKE, {"id": photo_id}, token=fan["token"])
    assert "errors" not in await gql(live, UNLIKE, {"id": photo_id}, token=fan["token"])
    found = await sentinel(standin, owner, fan)
    assert [loc_key(r) for r in found] == ["COMMENT_NOTIFICATION"]

    assert "errors" not in await gql(live, LIKE, {"id": photo_id}, token=fan["token"])
    found = await wait_for(standin, owner["devices"][0], 2)
    like = found[1]
    assert loc_key(like) == "LIKE_NOTIFICATION" and like["jwt"]["verified"]
    assert like["payload"]["photoId"] == photo_id
    assert like["payload"]["aps"]["alert"]["loc-args"] == [f"e2efan_{unique}"]
    assert "secret caption" not in str(like["payload"])
