"""Mutations: uploadPhoto, deletePhoto, removePhoto."""

from __future__ import annotations

from typing import Annotated

import strawberry
from django.conf import settings
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from backend.errors import InvalidInput
from backend.graph.context import Info
from backend.graph.ids import parse_id
from backend.graph.limits import check_rate, limit
from backend.graph.social.loaders import UserByIdLoader
from backend.graph.types import Photo, User
from backend.photos import services
from backend.ratelimit import Take

PhotoId = Annotated[strawberry.ID, strawberry.argument(description="The photo's ID.")]


async def _read_upload(file: UploadFile) -> bytes:
    if file.size is not None and file.size > settings.PHOTO_MAX_BYTES:
        raise InvalidInput(f"the file is larger than {settings.PHOTO_MAX_BYTES} bytes")
    return await file.read()


@strawberry.type(description="What removePhoto returns: the deleted ID and the owner as it is now.")
class RemovePhotoPayload:
    deleted_photo_id: strawberry.ID = strawberry.field(
        description="The ID of the photo deleted: evict it from a client cache."
    )
    owner: User = strawberry.field(
        description="The photo's owner (the viewer), with its photoCount after the delete."
    )


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Upload a JPEG, PNG, WebP or HEIC image (GraphQL multipart request)."
    )
    async def upload_photo(
        self,
        info: Info,
        file: Annotated[
            Upload,
            strawberry.argument(
                description="The image: a file part of the multipart request, at most "
                "PHOTO_MAX_BYTES (25 MiB by default)."
            ),
        ],
        caption: Annotated[
            str | None, strawberry.argument(description="A caption, at most 2200 characters.")
        ] = None,
    ) -> Photo:
        viewer_id = info.context.require_viewer()
        await check_rate(Take(limit("uploads"), f"user:{viewer_id}"))
        if not isinstance(file, UploadFile):
            raise InvalidInput("file must be a file part of a multipart request")
        record = await services.do_upload_photo(
            owner_id=viewer_id, data=await _read_upload(file), caption=caption
        )
        return Photo(record=record)

    @strawberry.mutation(
        description="Delete one of your photos and its images.",
        deprecation_reason="Use removePhoto: it returns the deleted ID and the updated owner.",
    )
    async def delete_photo(self, info: Info, id: PhotoId) -> bool:
        viewer_id = info.context.require_viewer()
        return await services.do_delete_photo(viewer_id=viewer_id, photo_id=await parse_id(id))

    @strawberry.mutation(
        description="Delete one of your photos and its images; returns its ID and you, with "
        "your new photoCount."
    )
    async def remove_photo(self, info: Info, id: PhotoId) -> RemovePhotoPayload:
        viewer_id = info.context.require_viewer()
        photo_id = await parse_id(id)
        await services.do_delete_photo(viewer_id=viewer_id, photo_id=photo_id)
        loader = info.context.loader(UserByIdLoader)
        loader.forget(viewer_id)  # this request may hold the count from before
        owner = await loader.load(viewer_id)
        if owner is None:
            raise LookupError(f"owner {viewer_id} of a deleted photo is missing")
        return RemovePhotoPayload(
            deleted_photo_id=strawberry.ID(str(photo_id)), owner=User.from_record(owner)
        )
