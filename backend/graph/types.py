"""The GraphQL object types: users, sessions, follow lists, comments and
photos. They refer to each other (a photo's owner is a user, a user's photos
are photos), so they live in one module rather than in a circle of two."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated

import strawberry

from backend.accounts.selectors import SessionRecord, UserRecord, get_sessions
from backend.errors import NotFound
from backend.graph.context import Info
from backend.graph.node import ID_DESCRIPTION, Node
from backend.graph.pagination import (
    After,
    Connection,
    Edge,
    First,
    build_connection,
    check_first,
    decode_cursor,
    encode_cursor,
    page_info,
)
from backend.graph.permissions import viewer
from backend.graph.photos.loaders import PhotoByIdLoader
from backend.graph.social.loaders import (
    CommentPageByPhotoIdLoader,
    FollowStatusByTargetIdLoader,
    FollowsViewerByUserIdLoader,
    UserByIdLoader,
    ViewerHasLikedByPhotoIdLoader,
)
from backend.photos import images
from backend.photos.selectors import PhotoRecord
from backend.photos.storage import photo_url
from backend.social.models import FollowStatus
from backend.social.selectors.comments import CommentRecord
from backend.social.selectors.content import get_user_edges, get_user_photos
from backend.social.selectors.follows import Direction
from backend.social.selectors.likes import get_likers

PRIVATE_LIST = (
    " Null with FORBIDDEN when the account is private and the viewer is not an approved "
    "follower (the rest of the user still answers)."
)


@strawberry.type(
    name="User",
    description="An account as others see it: its profile, counts and lists, and how the "
    "viewer relates to it.",
)
class User(Node):
    record: strawberry.Private[UserRecord]

    @classmethod
    def from_record(cls, record: UserRecord) -> User:
        return cls(record=record)

    @strawberry.field(description=ID_DESCRIPTION)
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.record.id))

    @strawberry.field(
        description="The unique handle: 1 to 30 letters, digits, '.' and '_' (unique "
        "regardless of case)."
    )
    def username(self) -> str:
        return self.record.username

    @strawberry.field(description="The name the user shows; null when not set.")
    def full_name(self) -> str | None:
        return self.record.full_name or None

    @strawberry.field(description="A short text about the user; null when not set.")
    def bio(self) -> str | None:
        return self.record.bio or None

    @strawberry.field(
        description="Only approved followers see the photos and follow lists of a private "
        "account; anyone may ask to follow it."
    )
    def is_private(self) -> bool:
        return self.record.is_private

    @strawberry.field(description="How many photos the user has posted.")
    def photo_count(self) -> int:
        return self.record.photo_count

    @strawberry.field(description="How many accounts follow this user (approved follows).")
    def follower_count(self) -> int:
        return self.record.follower_count

    @strawberry.field(description="How many accounts this user follows (approved follows).")
    def following_count(self) -> int:
        return self.record.following_count

    async def _status(self, info: Info) -> str | None:

        if info.context.viewer_id is None or info.context.viewer_id == self.record.id:
            return None
        return await info.context.loader(FollowStatusByTargetIdLoader).load(self.record.id)

    @strawberry.field(description="The viewer follows this user (an approved follow).")
    async def viewer_follows(self, info: Info) -> bool:
        return await self._status(info) == FollowStatus.ACTIVE

    @strawberry.field(
        description="The viewer asked to follow this private account; not approved yet."
    )
    async def viewer_has_requested(self, info: Info) -> bool:
        return await self._status(info) == FollowStatus.PENDING

    @strawberry.field(
        description="This user follows the viewer (an approved follow); false when anonymous."
    )
    async def follows_viewer(self, info: Info) -> bool:

        if info.context.viewer_id is None or info.context.viewer_id == self.record.id:
            return False
        return await info.context.loader(FollowsViewerByUserIdLoader).load(self.record.id)

    @strawberry.field(description="The user's photos, newest first." + PRIVATE_LIST)
    async def photos(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Photo] | None:

        first = check_first(first)
        records = await get_user_photos(
            viewer(info), self.record, before=decode_cursor(after), limit=first + 1
        )
        loader = info.context.loader(PhotoByIdLoader)
        for record in records:
            loader.prime(record.id, record)
        return build_connection(
            records, first=first, after=after, key=lambda r: r.id, node=lambda r: Photo(record=r)
        )

    @strawberry.field(description="Who follows this user, newest first." + PRIVATE_LIST)
    async def followers(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[User] | None:
        return await user_edges(info, self.record, "followers", first, after)

    @strawberry.field(description="Whom this user follows, newest first." + PRIVATE_LIST)
    async def following(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[User] | None:
        return await user_edges(info, self.record, "following", first, after)

    @strawberry.field(
        description="Where this user is signed in: their live sessions, most recently used "
        "first. Only the user themself may see it (FORBIDDEN for anyone else)."
    )
    async def sessions(self, info: Info) -> list[Session] | None:
        records = await get_sessions(viewer_id=info.context.viewer_id, account_id=self.record.id)
        current = info.context.session.session_id if info.context.session else None
        return [Session(record=r, is_current=r.session_id == current) for r in records]


@strawberry.type(
    name="Session",
    description="A signed-in session: one bearer token from signUp or logIn. It ends with "
    "logOut, logOutEverywhere, or after TOKEN_TTL (30 days by default) without use.",
)
class Session:
    record: strawberry.Private[SessionRecord]
    is_current: strawberry.Private[bool]

    @strawberry.field(description="The session's opaque ID (not its token).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(self.record.session_id)

    @strawberry.field(description="When the session signed in.")
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field(
        description="When the session was last used, to within a few minutes (the server "
        "records a use at most every 5 minutes)."
    )
    def last_used_at(self) -> datetime:
        return self.record.last_used_at

    @strawberry.field(
        description="The User-Agent of the app or browser that signed in (at most 200 "
        "characters); null when it sent none."
    )
    def device(self) -> str | None:
        return self.record.device

    @strawberry.field(description="This request was sent with this session's token.")
    def current(self) -> bool:
        return self.is_current


async def user_edges(
    info: Info, owner: UserRecord, direction: Direction, first: int | None, after: str | None
) -> Connection[User]:
    """A page of users on one side of the follow graph, resolved through the loader."""

    first = check_first(first)
    edges = await get_user_edges(
        viewer(info), owner, direction, before=decode_cursor(after), limit=first + 1
    )
    page = edges[:first]
    users = await info.context.loader(UserByIdLoader).load_many_available([e.user_id for e in page])
    out = [
        Edge(cursor=encode_cursor(e.id), node=User.from_record(u))
        for e, u in zip(page, users, strict=True)
        if u is not None  # an account deleted meanwhile, or on a server that is down
    ]
    info_ = page_info(out, after=after, has_next=len(edges) > first)
    if page and (not out or out[-1].cursor != encode_cursor(page[-1].id)):
        # The last edge read was an account deleted meanwhile: move past it all the same.
        info_.end_cursor = encode_cursor(page[-1].id)
    return Connection(edges=out, page_info=info_)


@strawberry.type(name="Comment", description="A comment on a photo.")
class Comment(Node):
    record: strawberry.Private[CommentRecord]

    @strawberry.field(description=ID_DESCRIPTION)
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.record.id))

    @strawberry.field(description="The comment: 1 to 1000 characters.")
    def text(self) -> str:
        return self.record.text

    @strawberry.field(description="When it was posted.")
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field(
        description="The photo commented on, as it is now (its commentCount included)."
    )
    async def photo(self, info: Info) -> Photo:

        record = await info.context.loader(PhotoByIdLoader).load(self.record.photo_id)
        if record is None:
            raise NotFound("the photo has been deleted")
        return Photo(record=record)

    @strawberry.field(description="Who wrote it.")
    async def author(self, info: Info) -> User:

        record = await info.context.loader(UserByIdLoader).load(self.record.author_id)
        if record is None:
            raise LookupError(
                f"author {self.record.author_id} of comment {self.record.id} is missing"
            )
        return User.from_record(record)


@strawberry.type(description="What signUp and logIn return: a session's token and its user.")
class AuthPayload:
    token: str = strawberry.field(
        description="The bearer token: send it as `Authorization: Bearer <token>`. Keep it "
        "secret; it lives until logOut or TOKEN_TTL (30 days) without use."
    )
    user: User = strawberry.field(description="The signed-in user.")


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

        # The owner is loaded for `owner` too: one batched (memcached) read per page.
        # An owner on a server that is down gets a signed URL: it opens for
        # anyone allowed to see the photo, public or not.
        [owner] = await info.context.loader(UserByIdLoader).load_many_available(
            [self.record.owner_id]
        )
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

    @strawberry.field(
        description="The viewer likes it; false when anonymous. Null with UNAVAILABLE while "
        "the photo's database server is down (the rest of the photo still answers)."
    )
    async def viewer_has_liked(self, info: Info) -> bool | None:

        return await info.context.loader(ViewerHasLikedByPhotoIdLoader).load(self.record.id)

    @strawberry.field(
        description="Comments, newest first. Null with UNAVAILABLE while the photo's "
        "database server is down."
    )
    async def comments(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[Comment] | None:

        first = check_first(first)
        key = (self.record.id, decode_cursor(after), first + 1)
        records = await info.context.loader(CommentPageByPhotoIdLoader).load(key)
        # Authors are shown with their comments (one batched read); a comment
        # whose author's server is down, and who is not cached, is left out.
        authors = await info.context.loader(UserByIdLoader).load_many_available(
            [c.author_id for c in records]
        )
        if any(a is None for a in authors):
            records = [c for c, a in zip(records, authors, strict=True) if a is not None]
        return build_connection(
            records, first=first, after=after, key=lambda c: c.id, node=lambda c: Comment(record=c)
        )

    @strawberry.field(
        description="Who likes it, most recent like first. Null with UNAVAILABLE while the "
        "photo's database server is down."
    )
    async def likers(
        self, info: Info, first: First = 20, after: After = None
    ) -> Connection[User] | None:

        first = check_first(first)
        likes = await get_likers(
            photo_id=self.record.id, before=decode_cursor(after), limit=first + 1
        )
        users = await info.context.loader(UserByIdLoader).load_many_available(
            [k.user_id for k in likes]
        )
        found = {u.id: u for u in users if u is not None}
        return build_connection(
            [k for k in likes if k.user_id in found] if len(found) < len(likes) else likes,
            first=first,
            after=after,
            key=lambda k: k.id,
            node=lambda k: User.from_record(found[k.user_id]),
        )

    @strawberry.field(description="Who posted it.")
    async def owner(self, info: Info) -> User:

        record = await info.context.loader(UserByIdLoader).load(self.record.owner_id)
        if record is None:
            raise LookupError(f"owner {self.record.owner_id} of photo {self.record.id} is missing")
        return User.from_record(record)
