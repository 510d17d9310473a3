"""Mutations: signUp, logIn, logOut."""

from __future__ import annotations

import strawberry

from backend.graph.context import Info
from backend.graph.social.loaders import UserByIdLoader
from backend.graph.social.types import AuthPayload, User
from backend.social import services


async def _payload(info: Info, user_id: int, token: str) -> AuthPayload:
    record = await info.context.loader(UserByIdLoader).load(user_id)
    assert record is not None
    return AuthPayload(token=token, user=User.from_record(record))


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create an account; returns a bearer token.")
    async def sign_up(
        self, info: Info, username: str, password: str, email: str | None = None
    ) -> AuthPayload:
        account, token = await services.do_sign_up(
            username=username, password=password, email=email
        )
        return await _payload(info, account.id, token)

    @strawberry.mutation(description="Exchange username and password for a bearer token.")
    async def log_in(self, info: Info, username: str, password: str) -> AuthPayload:
        account, token = await services.do_log_in(username=username, password=password)
        return await _payload(info, account.id, token)

    @strawberry.mutation(description="Revoke the bearer token this request was sent with.")
    async def log_out(self, info: Info) -> bool:
        info.context.require_viewer()
        assert info.context.token is not None
        return await services.do_log_out(token=info.context.token)
