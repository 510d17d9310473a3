"""Mutations: registerDevice, unregisterDevice, setPostNotifications, resetBadge."""

from __future__ import annotations

from typing import Annotated

import strawberry

from backend.graph.context import Info
from backend.graph.ids import parse_id
from backend.notifications import services


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Receive push notifications on this device (an APNs device token, hex). "
        "A token registered to another account moves to yours. The device belongs to this "
        "session: logOut (or logOutEverywhere) unregisters it."
    )
    async def register_device(
        self,
        info: Info,
        token: Annotated[
            str, strawberry.argument(description="The APNs device token: 64 to 200 hex digits.")
        ],
    ) -> bool:
        session = info.context.require_session()
        await services.ado_register_device(
            account_id=session.account_id, token=token, auth_token=session.key_hash
        )
        return True

    @strawberry.mutation(
        description="Stop push notifications to this device; false when it was not registered "
        "to you."
    )
    async def unregister_device(
        self,
        info: Info,
        token: Annotated[
            str, strawberry.argument(description="The APNs device token given to registerDevice.")
        ],
    ) -> bool:
        viewer_id = info.context.require_viewer()
        return await services.ado_unregister_device(account_id=viewer_id, token=token)

    @strawberry.mutation(
        description="Get (or stop getting) a push whenever this user posts a photo; "
        "returns `enabled`."
    )
    async def set_post_notifications(
        self,
        info: Info,
        user_id: Annotated[
            strawberry.ID, strawberry.argument(description="The ID of an account you follow.")
        ],
        enabled: Annotated[
            bool, strawberry.argument(description="True: push its new photos; false: stop.")
        ],
    ) -> bool:
        viewer_id = info.context.require_viewer()
        return await services.ado_set_post_notifications(
            account_id=viewer_id,
            followed_id=await parse_id(user_id, what="userId"),
            enabled=enabled,
        )

    @strawberry.mutation(
        description="The viewer has seen their activity: the app icon badge of the next "
        "push starts again at 1."
    )
    async def reset_badge(self, info: Info) -> bool:
        viewer_id = info.context.require_viewer()
        await services.ado_reset_badge(account_id=viewer_id)
        return True
