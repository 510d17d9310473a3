"""Mutations: uploadPhoto, deletePhoto."""

from __future__ import annotations

import strawberry
from django.conf import settings
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from backend.errors import InvalidInput
from backend.graph.context import Info
from backend.graph.ids import parse_id
from backend.graph.limits import check_rate, limit
from backend.graph.photos.types import Photo
from backend.photos import services
from backend.ratelimit import Take


async def _read_upload(file: UploadFile) -> bytes:
    if file.size is not None and file.size > settings.PHOTO_MAX_BYTES:
        raise InvalidInput(f"the file is larger than {settings.PHOTO_MAX_BYTES} bytes")
    return await file.read()


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Upload a JPEG, PNG, WebP or HEIC image (GraphQL multipart request)."
    )
    async def upload_photo(self, info: Info, file: Upload, caption: str | None = None) -> Photo:
        viewer_id = info.context.require_viewer()
        await check_rate(Take(limit("uploads"), f"user:{viewer_id}"))
        if not isinstance(file, UploadFile):
            raise InvalidInput("file must be a file part of a multipart request")
        record = await services.do_upload_photo(
            owner_id=viewer_id, data=await _read_upload(file), caption=caption
        )
        return Photo(record=record)

    @strawberry.mutation(description="Delete one of your photos and its images.")
    async def delete_photo(self, info: Info, id: strawberry.ID) -> bool:
        viewer_id = info.context.require_viewer()
        return await services.do_delete_photo(viewer_id=viewer_id, photo_id=await parse_id(id))
