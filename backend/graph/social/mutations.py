"""Mutations: signUp, logIn, logOut, logOutEverywhere; profile, follows, likes, comments."""

from __future__ import annotations

from typing import Annotated

import strawberry

from backend.accounts import services as accounts
from backend.errors import NotAuthenticated, NotFound
from backend.graph.context import Info
from backend.graph.ids import parse_id
from backend.graph.limits import check_rate, limit
from backend.graph.photos.loaders import PhotoByIdLoader
from backend.graph.social.loaders import UserByIdLoader, ViewerHasLikedByPhotoIdLoader
from backend.graph.types import AuthPayload, Comment, Photo, User
from backend.ratelimit import Take
from backend.social.services import comments, follows, likes


async def _payload(info: Info, user_id: int, token: str) -> AuthPayload:
    record = await info.context.loader(UserByIdLoader).load(user_id)
    assert record is not None
    return AuthPayload(token=token, user=User.from_record(record))


def _user_agent(info: Info) -> str | None:
    """The User-Agent the request came with: what a new session records as its device."""
    value = info.context.request.headers.get("user-agent")
    return str(value) if value is not None else None


# Argument types with their descriptions (the schema describes every argument).
Username = Annotated[
    str,
    strawberry.argument(
        description="1 to 30 letters, digits, '.' and '_'; unique regardless of case."
    ),
]
Password = Annotated[str, strawberry.argument(description="The account's password.")]
NewPassword = Annotated[str, strawberry.argument(description="8 to 128 characters.")]
Email = Annotated[
    str | None, strawberry.argument(description="An email address to reach the user; optional.")
]
UserId = Annotated[strawberry.ID, strawberry.argument(description="The other user's ID.")]
PhotoId = Annotated[strawberry.ID, strawberry.argument(description="The photo's ID.")]
CommentId = Annotated[strawberry.ID, strawberry.argument(description="The comment's ID.")]


@strawberry.type(
    description="What removeComment returns: the deleted ID and the photo as it is now."
)
class RemoveCommentPayload:
    deleted_comment_id: strawberry.ID = strawberry.field(
        description="The ID of the comment deleted: evict it from a client cache."
    )
    photo: Photo = strawberry.field(
        description="The photo it was on, with its comment count after the delete."
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create an account; returns a bearer token.")
    async def sign_up(
        self, info: Info, username: Username, password: NewPassword, email: Email = None
    ) -> AuthPayload:
        await check_rate(Take(limit("signup_ip"), f"ip:{info.context.client_ip}"))
        account, token = await accounts.do_sign_up(
            username=username, password=password, email=email, device=_user_agent(info)
        )
        return await _payload(info, account.id, token)

    @strawberry.mutation(description="Exchange username and password for a bearer token.")
    async def log_in(
        self,
        info: Info,
        username: Annotated[
            str, strawberry.argument(description="The account's username, in any case.")
        ],
        password: Password,
    ) -> AuthPayload:
        # Every attempt counts against the client IP; only failures count
        # against the username, which then allows one guess per few seconds:
        # slow for a guesser, a short wait at most for its owner.
        per_name = Take(limit("login_username"), f"name:{username.lower()[:64]}", cost=0)
        await check_rate(Take(limit("login_ip"), f"ip:{info.context.client_ip}"), per_name)
        try:
            account, token = await accounts.do_log_in(
                username=username, password=password, device=_user_agent(info)
            )
        except NotAuthenticated:
            await check_rate(Take(per_name.limit, per_name.subject))
            raise
        return await _payload(info, account.id, token)

    @strawberry.mutation(
        description="End this session: revoke the bearer token this request was sent with, "
        "and unregister the device registered through it (registerDevice)."
    )
    async def log_out(self, info: Info) -> bool:
        info.context.require_viewer()
        assert info.context.token is not None
        return await accounts.do_log_out(token=info.context.token)

    @strawberry.mutation(
        description="End every session of the viewer, this one included, and unregister the "
        "devices registered through them; returns how many sessions were ended."
    )
    async def log_out_everywhere(self, info: Info) -> int:
        viewer_id = info.context.require_viewer()
        return await accounts.do_log_out_everywhere(account_id=viewer_id)


async def _fresh_user(info: Info, user_id: int) -> User:
    """The user as it is after a change (this request's loader may hold an older copy)."""
    loader = info.context.loader(UserByIdLoader)
    loader.forget(user_id)
    record = await loader.load(user_id)
    if record is None:
        raise NotFound("no such user")
    return User.from_record(record)


@strawberry.type
class GraphMutation:
    @strawberry.mutation(description="Change your profile; omitted fields stay as they are.")
    async def update_profile(
        self,
        info: Info,
        full_name: Annotated[
            str | None,
            strawberry.argument(description="The name to show, at most 64 characters."),
        ] = None,
        bio: Annotated[
            str | None, strawberry.argument(description="About you, at most 300 characters.")
        ] = None,
        is_private: Annotated[
            bool | None,
            strawberry.argument(
                description="Private: only approved followers see your photos and lists."
            ),
        ] = None,
    ) -> User:
        viewer_id = info.context.require_viewer()
        await accounts.do_update_profile(
            viewer_id=viewer_id, full_name=full_name, bio=bio, is_private=is_private
        )
        return await _fresh_user(info, viewer_id)

    @strawberry.mutation(
        description="Follow a user. A private account gets a follow request instead "
        "(see User.viewerHasRequested)."
    )
    async def follow(self, info: Info, user_id: UserId) -> User:
        viewer_id = info.context.require_viewer()
        target_id = await parse_id(user_id, what="userId")
        await follows.do_follow(viewer_id=viewer_id, target_id=target_id)
        return await _fresh_user(info, target_id)

    @strawberry.mutation(description="Stop following a user, or withdraw a follow request.")
    async def unfollow(self, info: Info, user_id: UserId) -> User:
        viewer_id = info.context.require_viewer()
        target_id = await parse_id(user_id, what="userId")
        await follows.do_unfollow(viewer_id=viewer_id, target_id=target_id)
        return await _fresh_user(info, target_id)

    @strawberry.mutation(
        description="Approve a request to follow your private account; returns the requester "
        "(now followsViewer: true)."
    )
    async def approve_follow_request(self, info: Info, user_id: UserId) -> User:
        viewer_id = info.context.require_viewer()
        requester_id = await parse_id(user_id, what="userId")
        await follows.do_approve_follow_request(viewer_id=viewer_id, requester_id=requester_id)
        return await _fresh_user(info, requester_id)

    @strawberry.mutation(description="Turn down a request to follow your private account.")
    async def reject_follow_request(self, info: Info, user_id: UserId) -> User:
        viewer_id = info.context.require_viewer()
        requester_id = await parse_id(user_id, what="userId")
        await follows.do_reject_follow_request(viewer_id=viewer_id, requester_id=requester_id)
        return await _fresh_user(info, requester_id)

    @strawberry.mutation(description="Like a photo (idempotent).")
    async def like_photo(self, info: Info, id: PhotoId) -> Photo:
        viewer_id = info.context.require_viewer()
        record = await likes.do_like_photo(viewer_id=viewer_id, photo_id=await parse_id(id))
        info.context.loader(ViewerHasLikedByPhotoIdLoader).prime(record.id, True, force=True)
        return Photo(record=record)

    @strawberry.mutation(description="Take back a like (idempotent).")
    async def unlike_photo(self, info: Info, id: PhotoId) -> Photo:
        viewer_id = info.context.require_viewer()
        record = await likes.do_unlike_photo(viewer_id=viewer_id, photo_id=await parse_id(id))
        info.context.loader(ViewerHasLikedByPhotoIdLoader).prime(record.id, False, force=True)
        return Photo(record=record)

    @strawberry.mutation(
        description="Comment on a photo (1 to 1000 characters). Select the comment's `photo` "
        "for the photo's new commentCount."
    )
    async def add_comment(
        self,
        info: Info,
        photo_id: PhotoId,
        text: Annotated[str, strawberry.argument(description="1 to 1000 characters.")],
    ) -> Comment:
        viewer_id = info.context.require_viewer()
        record, photo = await comments.do_add_comment(
            viewer_id=viewer_id, photo_id=await parse_id(photo_id, what="photoId"), text=text
        )
        info.context.loader(PhotoByIdLoader).prime(photo.id, photo, force=True)
        return Comment(record=record)

    @strawberry.mutation(
        description="Delete a comment: its author or the photo's owner may.",
        deprecation_reason="Use removeComment: it returns the deleted ID and the updated photo.",
    )
    async def delete_comment(self, info: Info, id: CommentId) -> bool:
        viewer_id = info.context.require_viewer()
        await comments.do_delete_comment(viewer_id=viewer_id, comment_id=await parse_id(id))
        return True

    @strawberry.mutation(
        description="Delete a comment (its author or the photo's owner may); returns its ID "
        "and the photo with its new commentCount."
    )
    async def remove_comment(self, info: Info, id: CommentId) -> RemoveCommentPayload:
        viewer_id = info.context.require_viewer()
        comment_id = await parse_id(id)
        photo = await comments.do_delete_comment(viewer_id=viewer_id, comment_id=comment_id)
        info.context.loader(PhotoByIdLoader).prime(photo.id, photo, force=True)
        return RemoveCommentPayload(
            deleted_comment_id=strawberry.ID(str(comment_id)), photo=Photo(record=photo)
        )
