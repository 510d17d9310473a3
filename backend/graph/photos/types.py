"""GraphQL types for photos."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from backend.graph.context import Info
from backend.graph.node import ID_DESCRIPTION, Node
from backend.graph.pagination import (
    After,
    Connection,
    First,
    build_connection,
    check_first,
    decode_cursor,
)
from backend.photos import images
from backend.photos.selectors import PhotoRecord
from backend.photos.storage import photo_url

if TYPE_CHECKING:
    from backend.graph.social.types import Comment, User


@strawberry.enum(
    description="The renditions of a photo. Images are never enlarged: a small upload's "
    "renditions are as large as the upload."
)
class PhotoSize(enum.Enum):
    THUMBNAIL = strawberry.enum_value(
        "THUMBNAIL", description="A square centre crop, 150x150 (smaller for a small upload)."
    )
    SQUARE = strawberry.enum_value(
        "SQUARE",
        description="A square centre crop, 640x640 (smaller for a small upload): a 3-column "
        "grid on a 3x phone. Photos posted before it existed answer with THUMBNAIL's URL.",
    )
    MEDIUM = strawberry.enum_value(
        "MEDIUM", description="The whole photo, longest side 640 pixels."
    )
    LARGE = strawberry.enum_value(
        "LARGE", description="The whole photo, longest side 1080 pixels (width and height)."
    )


@strawberry.type(name="Photo", description="A posted photo: its renditions, caption and counts.")
class Photo(Node):
    record: strawberry.Private[PhotoRecord]

    @strawberry.field(description=ID_DESCRIPTION)
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.record.id))

    @strawberry.field(description="The owner's caption; null when there is none.")
    def caption(self) -> str | None:
        return self.record.caption or None

    @strawberry.field(description="When it was posted.")
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field(description="Width of the LARGE rendition.")
    def width(self) -> int:
        return self.record.width

    @strawberry.field(description="Height of the LARGE rendition.")
    def height(self) -> int:
        return self.record.height

    @strawberry.field(description="A BlurHash placeholder to show while the image loads.")
    def blurhash(self) -> str:
        return self.record.blurhash

    @strawberry.field(
        description=(
            "The URL of one rendition. A public account's photo has a stable CDN URL "
            "that may be cached for good; a private account's is a signed URL that "
            "expires (an hour by default): cache such an image by photo ID and size, "
            "not by URL, and ask again for a URL once it has expired."
        )
    )
    async def url(
        self,
        info: Info,
        size: Annotated[
            PhotoSize, strawberry.argument(description="Which rendition (default MEDIUM).")
        ] = PhotoSize.MEDIUM,
    ) -> str:
        from backend.graph.social.loaders import UserByIdLoader

        # The owner is loaded for `owner` too: one batched (memcached) read per page.
        owner = await info.context.loader(UserByIdLoader).load(self.record.owner_id)
        signed = owner is None or owner.photos_signed
        rendition = images.Size[size.name]
        if rendition is images.Size.SQUARE and not self.record.has_square:
            rendition = images.Size.THUMBNAIL  # posted before SQUARE existed
        return photo_url(self.record.key, rendition, signed=signed)

    @strawberry.field(description="How many accounts like it.")
    def like_count(self) -> int:
        return self.record.like_count

    @strawberry.field(description="How many comments it has.")
    def comment_count(self) -> int:
        return self.record.comment_count

    @strawberry.field(description="The viewer likes it; false when anonymous.")
    async def viewer_has_liked(self, info: Info) -> bool:
        from backend.graph.social.loaders import ViewerHasLikedByPhotoIdLoader

        return await info.context.loader(ViewerHasLikedByPhotoIdLoader).load(self.record.id)

    @strawberry.field(description="Comments, newest first.")
    async def comments(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Annotated[Comment, strawberry.lazy("backend.graph.social.types")]]:
        from backend.graph.social.loaders import CommentPageByPhotoIdLoader
        from backend.graph.social.types import Comment

        first = check_first(first)
        key = (self.record.id, decode_cursor(after), first + 1)
        records = await info.context.loader(CommentPageByPhotoIdLoader).load(key)
        return build_connection(
            records, first=first, after=after, key=lambda c: c.id, node=lambda c: Comment(record=c)
        )

    @strawberry.field(description="Who likes it, most recent like first.")
    async def likers(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Annotated[User, strawberry.lazy("backend.graph.social.types")]]:
        from backend.graph.social.loaders import UserByIdLoader
        from backend.graph.social.types import User
        from backend.social.selectors.likes import get_likers

        first = check_first(first)
        likes = await get_likers(
            photo_id=self.record.id, before=decode_cursor(after), limit=first + 1
        )
        users = await info.context.loader(UserByIdLoader).load_many([k.user_id for k in likes])
        found = {u.id: u for u in users if u is not None}
        return build_connection(
            [k for k in likes if k.user_id in found] if len(found) < len(likes) else likes,
            first=first,
            after=after,
            key=lambda k: k.id,
            node=lambda k: User.from_record(found[k.user_id]),
        )

    @strawberry.field(description="Who posted it.")
    async def owner(
        self, info: Info
    ) -> Annotated[User, strawberry.lazy("backend.graph.social.types")]:
        from backend.graph.social.loaders import UserByIdLoader
        from backend.graph.social.types import User

        record = await info.context.loader(UserByIdLoader).load(self.record.owner_id)
        if record is None:
            raise LookupError(f"owner {self.record.owner_id} of photo {self.record.id} is missing")
        return User.from_record(record)
