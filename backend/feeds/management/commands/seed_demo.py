"""Load demo data (idempotent): accounts alice, bob, carol, … with one password,
a few photos each, and follows, so GraphiQL shows a feed at once."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

from django.core.management.base import CommandParser
from PIL import Image, ImageDraw

from backend.accounts import services as accounts
from backend.accounts.selectors import get_account_by_username, get_users_by_ids
from backend.commands import AsyncCommand
from backend.errors import InvalidInput
from backend.photos.services import do_upload_photo
from backend.shards.progress import progress_bar
from backend.social.services import follows

DEMO_USERS = ["alice", "bob", "carol", "dave", "erin", "frank"]
DEMO_PASSWORD = "demo-password"  # noqa: S105  (documented demo credentials)
PHOTOS_EACH = 2
COLOURS = [(231, 76, 60), (46, 204, 113), (52, 152, 219), (241, 196, 15), (155, 89, 182)]


def demo_image(n: int, label: str) -> bytes:
    """A 1200x900 picture with a gradient and a caption: a stand-in for a real photo."""
    image = Image.new("RGB", (1200, 900), COLOURS[n % len(COLOURS)])
    draw = ImageDraw.Draw(image)
    for y in range(0, 900, 6):
        shade = int(255 * y / 900)
        draw.line((0, y, 1200, y), fill=(shade, shade // 2, 255 - shade), width=3)
    draw.ellipse((400, 250, 800, 650), fill=COLOURS[(n + 2) % len(COLOURS)])
    draw.text((40, 40), label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


class Command(AsyncCommand):
    help = f"Create demo accounts ({', '.join(DEMO_USERS)}; password {DEMO_PASSWORD!r})."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="print a JSON summary")

    async def ahandle(self, *args: Any, **options: Any) -> None:
        created: dict[str, int] = {}
        with progress_bar(len(DEMO_USERS), "demo accounts", unit="user") as bar:
            for n, username in enumerate(DEMO_USERS):
                account = await get_account_by_username(username)
                if account is None:
                    account, _ = await accounts.do_sign_up(
                        username=username, password=DEMO_PASSWORD, email=f"{username}@example.com"
                    )
                    created[username] = account.id
                [user] = await get_users_by_ids([account.id])
                if user is not None and user.photo_count == 0:
                    for k in range(PHOTOS_EACH):
                        await do_upload_photo(
                            owner_id=account.id,
                            data=demo_image(n + k, f"{username} #{k + 1}"),
                            caption=f"{username}'s demo photo #{k + 1}",
                        )
                bar.update(1)
        await self._follow_everyone()
        if options["json"]:
            self.stdout.write(json.dumps({"created": list(created), "users": DEMO_USERS}))
        else:
            self.stdout.write(
                f"demo accounts: {', '.join(DEMO_USERS)} (password {DEMO_PASSWORD!r}); "
                f"{len(created)} created"
            )

    async def _follow_everyone(self) -> None:
        """Every demo user follows every other one."""
        ids = []
        for username in DEMO_USERS:
            account = await get_account_by_username(username)
            if account is not None:
                ids.append(account.id)
        for follower in ids:
            for target in ids:
                if follower != target:
                    with contextlib.suppress(InvalidInput):  # already following
                        await follows.do_follow(viewer_id=follower, target_id=target)
