"""Attachments in MongoDB through GridFS."""

from __future__ import annotations

from typing import Any

from bson import ObjectId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase

Doc = dict[str, Any]


def bucket(db: AsyncDatabase[Doc]) -> AsyncGridFSBucket:
    return AsyncGridFSBucket(db, bucket_name="attachments_fs")


async def store(db: AsyncDatabase[Doc], data: bytes, filename: str, metadata: Doc) -> ObjectId:
    file_id: ObjectId = await bucket(db).upload_from_stream(filename, data, metadata=metadata)
    return file_id


async def read(db: AsyncDatabase[Doc], file_id: ObjectId) -> bytes | None:
    try:
        stream = await bucket(db).open_download_stream(file_id)
    except NoFile:
        return None
    data: bytes = await stream.read()
    return data
