"""Presigned PUT URLs (``POST /uploads``): a caller puts its video and voice track in the stack's
bucket, then names them in a request as ``s3://`` inputs."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .context import EntryContext


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    video_content_type: str = Field(default="video/mp4", pattern=r"^video/[\w.+-]+$")
    audio_content_type: str = Field(default="audio/wav", pattern=r"^audio/[\w.+-]+$")


def upload_urls(request: UploadRequest, context: EntryContext) -> dict[str, Any]:
    """Presigned PUT URLs for a video and a voice track under ``inputs/<id>/``."""
    s3, settings = context.s3, context.settings
    batch = uuid.uuid4().hex
    answer: dict[str, Any] = {"expires_in": settings.upload_url_seconds}
    for name, content_type in (("video", request.video_content_type), ("audio", request.audio_content_type)):
        key = f"inputs/{batch}/{name}"
        answer[name] = {
            "upload_url": s3.generate_presigned_url(
                "put_object",
                Params={"Bucket": settings.bucket_name, "Key": key, "ContentType": content_type},
                ExpiresIn=settings.upload_url_seconds,
            ),
            "method": "PUT",
            "headers": {"Content-Type": content_type},
            "s3_uri": f"s3://{settings.bucket_name}/{key}",
        }
    return answer
