"""Presigned PUT URLs (``POST /uploads``): a caller puts its video and voice track in the stack's
bucket, then names them in a request as ``s3://`` inputs."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lipsync_core.jobs.access.presigning import url_signer

from .context import EntryContext


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    video_content_type: str = Field(default="video/mp4", pattern=r"^video/[\w.+-]+$")
    audio_content_type: str = Field(default="audio/wav", pattern=r"^audio/[\w.+-]+$")


def upload_urls(request: UploadRequest, context: EntryContext) -> dict[str, Any]:
    """Presigned PUT URLs for a video and a voice track under ``inputs/<id>/``."""
    settings = context.settings
    signer = url_signer(settings, context.s3, settings.upload_url_seconds)
    batch = uuid.uuid4().hex
    answer: dict[str, Any] = {"expires_in": signer.lifetime}  # what the signing session allows
    for name, content_type in (("video", request.video_content_type), ("audio", request.audio_content_type)):
        key = f"inputs/{batch}/{name}"
        answer[name] = {
            "upload_url": signer.presign(
                "put_object", {"Bucket": settings.bucket_name, "Key": key, "ContentType": content_type}
            ),
            "method": "PUT",
            "headers": {"Content-Type": content_type},
            "s3_uri": f"s3://{settings.bucket_name}/{key}",
        }
    return answer
