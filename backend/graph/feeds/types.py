"""GraphQL types for the activity feed."""

from __future__ import annotations

import enum
from datetime import datetime

import strawberry

from backend.graph.context import Info
from backend.graph.photos.loaders import PhotoByIdLoader
from backend.graph.social.loaders import UserByIdLoader
from backend.graph.types import Photo, User
from backend.social.selectors.activity import ActivityRecord


@strawberry.enum(description="What happened.")
class ActivityKind(enum.Enum):
    LIKE = strawberry.enum_value("LIKE", description="Someone liked one of the viewer's photos.")
    COMMENT = strawberry.enum_value(
        "COMMENT", description="Someone commented on one of the viewer's photos."
    )
    FOLLOW = strawberry.enum_value("FOLLOW", description="Someone started following the viewer.")


@strawberry.type(
    name="Activity", description="Something that happened to the viewer: a like, comment or follow."
)
class Activity:
    record: strawberry.Private[ActivityRecord]

    @strawberry.field(description="The entry's ID (an opaque string; see Node.id).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.record.id))

    @strawberry.field(description="What happened.")
    def kind(self) -> ActivityKind:
        return ActivityKind(self.record.kind)

    @strawberry.field(description="When it happened.")
    def created_at(self) -> datetime:
        return self.record.created_at

    @strawberry.field(description="Who liked, commented or followed.")
    async def actor(self, info: Info) -> User:
        record = await info.context.loader(UserByIdLoader).load(self.record.actor_id)
        if record is None:
            raise LookupError(
                f"actor {self.record.actor_id} of activity {self.record.id} is missing"
            )
        return User.from_record(record)

    @strawberry.field(description="The photo liked or commented on; null for FOLLOW.")
    async def photo(self, info: Info) -> Photo | None:
        if self.record.photo_id is None:
            return None
        record = await info.context.loader(PhotoByIdLoader).load(self.record.photo_id)
        return Photo(record=record) if record else None
