"""GraphQL types for accounts and profiles."""

from __future__ import annotations

import strawberry

from backend.social.selectors import UserRecord


@strawberry.type(name="User")
class User:
    id: strawberry.ID
    username: str
    full_name: str | None
    bio: str | None
    is_private: bool

    @classmethod
    def from_record(cls, record: UserRecord) -> User:
        return cls(
            id=strawberry.ID(str(record.id)),
            username=record.username,
            full_name=record.full_name or None,
            bio=record.bio or None,
            is_private=record.is_private,
        )


@strawberry.type
class AuthPayload:
    token: str
    user: User
