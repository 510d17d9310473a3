"""GraphQL types for photos."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from backend.graph.context import Info
from backend.graph.pagination import Connection, build_connection, check_first, decode_cursor
from backend.photos import images
from backend.photos.selectors import PhotoRecord
from backend.photos.storage import photo_url

if TYPE_CHECKING:
    from backend.graph.social.types import Comment, User


@strawberry.enum(description="Rendition sizes: longest side in pixels (THUMBNAIL: square crop).")
class PhotoSize(enum.Enum):
    THUMBNAIL = "THUMBNAIL"
    MEDIUM = "MEDIUM"
    LARGE = "LARGE"


@strawberry.type(name="Photo")
class Photo:
    record: strawberry.Private[PhotoRecord]

    @strawberry.field
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.record.id))

    @strawberry.field
    def caption(self) -> str | None:
        return self.record.caption or None

    @strawberry.field
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
        return photo_url(self.record.key, images.Size[size.value], signed=signed)

    @strawberry.field
    def like_count(self) -> int:
        return self.record.like_count

    @strawberry.field
    def comment_count(self) -> int:
        return self.record.comment_count

    @strawberry.field
    async def viewer_has_liked(self, info: Info) -> bool:
        from backend.graph.social.loaders import ViewerHasLikedByPhotoIdLoader

        return await info.context.loader(ViewerHasLikedByPhotoIdLoader).load(self.record.id)

    @strawberry.field(description="Comments, newest first.")
    async def comments(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> Connection[Annotated[Comment, strawberry.lazy("backend.graph.social.types")]]:
        from backend.graph.social.loaders import CommentPageByPhotoIdLoader
        from backend.graph.social.types import Comment

        first = check_first(first)
        key = (self.record.id, decode_cursor(after), first + 1)
        records = await info.context.loader(CommentPageByPhotoIdLoader).load(key)
        return build_connection(
            records, first=first, key=lambda c: c.id, node=lambda c: Comment(record=c)
        )

    @strawberry.field
    async def owner(
        self, info: Info
    ) -> Annotated[User, strawberry.lazy("backend.graph.social.types")]:
        from backend.graph.social.loaders import UserByIdLoader
        from backend.graph.social.types import User

        record = await info.context.loader(UserByIdLoader).load(self.record.owner_id)
        if record is None:
            raise LookupError(f"owner {self.record.owner_id} of photo {self.record.id} is missing")
        return User.from_record(record)
