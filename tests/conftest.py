"""Test-wide settings: never reach real AWS, keep the CDK quiet and offline."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.media import Media

# Set before any test module imports boto3 or the CDK.
for name, value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "CDK_DISABLE_VERSION_CHECK": "1",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "LipSyncTests",
}.items():
    os.environ[name] = value
os.environ.pop("AWS_PROFILE", None)


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Media]:
    from lipsync.media.samples import make_talking_head, make_voice
    from lipsync.media.serving import serve_directory
    from tests.support.media import make_audio_only_mp4, make_indexed_video

    root = tmp_path_factory.mktemp("media")
    make_talking_head(root / "face.mp4", seconds=1.5, width=160, height=120)
    make_voice(root / "voice.wav", seconds=2.0)
    make_voice(root / "short voice.wav", seconds=1.25)
    make_indexed_video(root / "indexed.mp4", frames=5, fps=10)
    make_audio_only_mp4(root / "audio-only.mp4")
    (root / "empty.mp4").write_bytes(b"")
    (root / "garbage.mp4").write_bytes(b"\x00\x01 not a video at all " * 100)
    make_indexed_video(root / "huge.mp4", frames=1, fps=10, width=640, height=64)
    with serve_directory(root) as base:
        yield Media(base, root)
