"""The web client (frontend-sample/, served at /app/) in Chromium, against the real stack."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx
from playwright.async_api import Page, expect

from tests.browser.conftest import NewPage, Screens
from tests.graphql import gql, sign_up, upload
from tests.imagegen import phone_jpeg

PASSWORD = "correct horse battery"
FEED_PAGE_SIZE = 6  # frontend-sample/src/screens/Feed.tsx


def jpeg(seed: int) -> bytes:
    return phone_jpeg(320, 240, gps=False, seed=seed)


async def until(
    page: Page, ready: Callable[[], Awaitable[bool]], *, reload: bool = True, within: float = 20
) -> None:
    """Wait for something another process does (a fan-out, an activity row),
    reloading the screen between looks; never a fixed sleep."""
    deadline = time.monotonic() + within
    while not await ready():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.3)
        if reload:
            await page.reload(wait_until="networkidle")


async def sign_up_in_browser(page: Page, username: str) -> None:
    await page.goto("/app/")
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await page.get_by_role("link", name="Create an account").click()
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign up").click()
    await expect(page.get_by_role("heading", name="Home")).to_be_visible()


async def sign_in_in_browser(page: Page, username: str, password: str = PASSWORD) -> None:
    await page.goto("/app/#/signin")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def image_loaded(page: Page, selector: str) -> bool:
    return bool(
        await page.eval_on_selector_all(
            selector, "imgs => imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0)"
        )
    )


async def test_two_users_post_follow_like_comment_and_see_activity(
    new_page: NewPage, screens: Screens, unique: str
) -> None:
    ann, ben = f"ann_{unique}", f"ben_{unique}"
    a = await new_page()

    # Sign-up refuses a short password with the server's own words.
    await a.goto("/app/#/signup")
    await a.get_by_label("Username").fill(ann)
    await a.get_by_label("Password").fill("short")
    await a.get_by_role("button", name="Sign up").click()
    await expect(a.get_by_role("alert")).to_contain_text("at least 8 characters")
    await screens.shot(a, "signup-error")
    await a.get_by_label("Password").fill(PASSWORD)
    await a.get_by_role("button", name="Sign up").click()
    await expect(a.get_by_role("heading", name="Home")).to_be_visible()
    await expect(a.get_by_text("Nothing here yet")).to_be_visible()
    await screens.shot(a, "feed-empty")

    # Upload with a preview and a caption; the photo is in the grid.
    await a.get_by_role("link", name="Upload").click()
    await a.get_by_label("Photo (JPEG, PNG, WebP or HEIC)").set_input_files(
        {"name": "beach.jpg", "mimeType": "image/jpeg", "buffer": jpeg(1)}
    )
    await expect(a.get_by_alt_text("Preview of the photo to upload")).to_be_visible()
    await a.get_by_label("Caption").fill("first light")
    await screens.shot(a, "upload-preview")
    await a.get_by_role("button", name="Share").click()
    await expect(a.get_by_role("heading", name=ann)).to_be_visible()
    grid = a.locator("ul.grid li[data-photo-id]")
    await expect(grid).to_have_count(1)
    photo_id = await grid.first.get_attribute("data-photo-id")
    await until(a, lambda: image_loaded(a, "ul.grid img"), reload=False)
    await expect(a.get_by_test_id("photo-count")).to_have_text("1")
    await screens.shot(a, "profile-grid")

    # Ben finds Ann by a prefix of her name, typed in capitals, follows, sees
    # the photo in his feed.
    b = await new_page()
    await sign_up_in_browser(b, ben)
    await b.get_by_role("link", name="Search").click()
    await b.get_by_label("Username or name").fill(ann[:-2].upper())
    await b.get_by_role("button", name="Search").click()
    await screens.shot(b, "search")
    await b.locator(f"li[data-user='{ann}']").get_by_role("link", name=ann).click()
    await b.get_by_role("button", name="Follow").click()
    await expect(b.get_by_role("button", name="Unfollow")).to_be_visible()
    await expect(b.get_by_test_id("follower-count")).to_have_text("1")
    await screens.shot(b, "profile-followed")
    await b.get_by_role("link", name="Home").click()
    card = b.locator(f"article[data-photo-id='{photo_id}']")
    await until(b, lambda: card.is_visible())
    await expect(card).to_contain_text("first light")
    await until(
        b, lambda: image_loaded(b, f"article[data-photo-id='{photo_id}'] img"), reload=False
    )
    await screens.shot(b, "feed")

    # Like from the feed; comment twice on the photo's page and delete one.
    await card.get_by_role("button", name="Like").click()
    await expect(card.get_by_role("button", name="Unlike")).to_have_attribute(
        "aria-pressed", "true"
    )
    await expect(card.get_by_test_id("like-count")).to_contain_text("1")
    await card.get_by_role("link", name="0 comments").click()
    await expect(b.get_by_role("heading", name=f"Photo by {ann}")).to_be_visible()
    comment = b.get_by_label("Add a comment")
    await comment.fill("lovely colours")
    await comment.press("Enter")
    await expect(b.locator("ul.comments li")).to_have_count(1)
    await comment.fill("typo, sorry")
    await b.get_by_role("button", name="Post").click()
    await expect(b.locator("ul.comments li")).to_have_count(2)
    await b.get_by_role("button", name='Delete comment "typo, sorry"').click()
    await expect(b.locator("ul.comments li")).to_have_count(1)
    await screens.shot(b, "photo-comments")
    await b.reload()
    await expect(b.locator("ul.comments li")).to_have_count(1)
    await expect(b.locator("ul.comments li")).to_contain_text(f"{ben} lovely colours")

    # Ann sees the follow, the like and the comment in her activity.
    await a.get_by_role("link", name="Activity").click()
    activity = a.locator("ul.activity li")
    kinds = {"FOLLOW", "LIKE", "COMMENT"}

    async def all_there() -> bool:
        found = await activity.evaluate_all("items => items.map(i => i.dataset.kind)")
        return kinds <= set(found)

    await until(a, all_there)
    await expect(a.locator("ul.activity li[data-kind='LIKE']")).to_contain_text(
        f"{ben} liked your photo"
    )
    await expect(a.locator("ul.activity li[data-kind='COMMENT']")).to_contain_text(
        f"{ben} commented on your photo"
    )
    await screens.shot(a, "activity")

    # Sign out: the token is gone for good, and a wrong password is explained.
    await a.get_by_role("button", name="Sign out").click()
    await expect(a.get_by_role("heading", name="Sign in")).to_be_visible()
    await a.reload()
    await expect(a.get_by_role("heading", name="Sign in")).to_be_visible()
    await sign_in_in_browser(a, ann, "not the password")
    await expect(a.get_by_role("alert")).to_be_visible()
    await screens.shot(a, "signin-error")


async def test_private_account_request_approve_then_photos_visible(
    new_page: NewPage, screens: Screens, live: httpx.AsyncClient, unique: str
) -> None:
    owner = await sign_up(live, f"priv_{unique}", PASSWORD)
    body = await upload(live, owner["token"], jpeg(2), caption="for friends only")
    assert "errors" not in body, body
    body = await gql(
        live, "mutation { updateProfile(isPrivate: true) { isPrivate } }", token=owner["token"]
    )
    assert body["data"]["updateProfile"]["isPrivate"] is True
    requester = await sign_up(live, f"req_{unique}", PASSWORD)
    owner_name, requester_name = owner["user"]["username"], requester["user"]["username"]

    # A stranger sees the profile but not the photos, and asks to follow.
    r = await new_page()
    await sign_in_in_browser(r, requester_name)
    await expect(r.get_by_role("heading", name="Home")).to_be_visible()
    await r.goto(f"/app/#/u/{owner_name}")
    await expect(r.get_by_text("This account is private")).to_be_visible()
    await expect(r.locator("ul.grid")).to_have_count(0)
    await r.get_by_role("button", name="Request to follow").click()
    await expect(r.get_by_role("status")).to_have_text("Follow request sent.")
    await expect(r.get_by_role("button", name="Cancel request")).to_be_visible()
    await screens.shot(r, "requested")

    # The owner approves the request.
    o = await new_page()
    await sign_in_in_browser(o, owner_name)
    await o.get_by_role("link", name="Requests").click()
    row = o.locator(f"li[data-user='{requester_name}']")
    await expect(row).to_be_visible()
    await screens.shot(o, "follow-requests")
    await row.get_by_role("button", name=f"Approve {requester_name}").click()
    await expect(o.get_by_role("status")).to_have_text(f"{requester_name} now follows you.")
    await expect(o.get_by_text("No pending requests.")).to_be_visible()

    # Now the photos (presigned URLs of the S3 server) are visible to the follower.
    await r.reload()
    await expect(r.get_by_role("button", name="Unfollow")).to_be_visible()
    await expect(r.locator("ul.grid li[data-photo-id]")).to_have_count(1)
    await until(r, lambda: image_loaded(r, "ul.grid img"), reload=False)
    await screens.shot(r, "private-photos-visible")


async def test_feed_infinite_scroll_three_pages_without_duplicates(
    new_page: NewPage, screens: Screens, live: httpx.AsyncClient, unique: str
) -> None:
    poster = await sign_up(live, f"many_{unique}", PASSWORD)
    reader = await sign_up(live, f"reader_{unique}", PASSWORD)
    count = 2 * FEED_PAGE_SIZE + 3
    posted = []
    for i in range(count):
        body = await upload(live, poster["token"], jpeg(10 + i % 4), caption=f"photo {i}")
        assert "errors" not in body, body
        posted.append(body["data"]["uploadPhoto"]["id"])
    follow = await gql(
        live,
        "mutation($id: ID!) { follow(userId: $id) { viewerFollows } }",
        {"id": poster["user"]["id"]},
        token=reader["token"],
    )
    assert follow["data"]["follow"]["viewerFollows"] is True

    page = await new_page(token=reader["token"])
    feed_requests: list[str] = []
    page.on(
        "request",
        lambda r: (
            feed_requests.append(r.url) if '"operationName":"Feed"' in (r.post_data or "") else None
        ),
    )
    await page.goto("/app/")
    cards = page.locator("ol.feed article[data-photo-id]")

    async def first_page_shown() -> bool:
        return await cards.count() == FEED_PAGE_SIZE

    # The fan-out is a worker's job: look again until the first page is full.
    await until(page, first_page_shown)
    await screens.shot(page, "feed-page-1")
    feed_requests.clear()  # the pages before the fan-out was done do not count
    for shown in (2 * FEED_PAGE_SIZE, count):
        await page.locator(".sentinel").scroll_into_view_if_needed()
        await expect(cards).to_have_count(shown)
    await expect(page.get_by_text("You are all caught up.")).to_be_visible()
    await screens.shot(page, "feed-page-3")
    ids = await cards.evaluate_all("cards => cards.map(c => c.dataset.photoId)")
    assert len(ids) == len(set(ids)) == count
    assert ids == list(reversed(posted))  # newest first, none skipped
    assert len(feed_requests) == 2, feed_requests  # pages 2 and 3, one request each
    # Every image slot got its own blurhash placeholder and a srcset.
    assert await page.locator("ol.feed canvas.blurhash").count() == count
    srcsets = await page.locator("ol.feed img").evaluate_all("imgs => imgs.map(i => i.srcset)")
    assert all(" 320w" in s and s.count("w,") == 1 for s in srcsets), srcsets
