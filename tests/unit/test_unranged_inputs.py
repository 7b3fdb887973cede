"""An input URL whose server ignores ``Range`` (it answers 200 with the whole file, as Python's own
``http.server`` does) is still probed and converted: read once into a temporary file, up to a bound, and
read in ranges from there; over the bound it is refused with the reason."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from lipsync_core.jobs.access import media_sources
from lipsync_core.jobs.access.media_sources import download, open_input
from lipsync_core.jobs.access.result_urls import UrlPolicy
from lipsync_core.jobs.domain.errors import InputUnreadableError
from lipsync_core.jobs.domain.models import MediaRef
from lipsync_core.media.probe import probe
from tests.support.media import Media

POLICY = UrlPolicy(allow_local=True, connect_timeout=5.0, read_timeout=30.0, subject="input")


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # keep test output quiet
        return None


@pytest.fixture(scope="module")
def no_ranges(media: Media) -> Iterator[str]:
    """The sample media, served by a server that answers every GET with the whole file."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(media.root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


def ref(url: str) -> MediaRef:
    return MediaRef.model_validate({"url": url}, context={"allow_http": True})


def test_an_input_from_a_server_without_ranges_is_probed_and_downloaded(
    no_ranges: str, media: Media, tmp_path: Path
) -> None:
    reader = open_input(ref(f"{no_ranges}/face.mp4"), s3=None, policy=POLICY)
    assert reader.size == (media.root / "face.mp4").stat().st_size
    found = probe(reader, size=reader.size, name="the video")
    assert found.video is not None
    assert (found.video.width, found.video.height) == (160, 120)
    copy = download(ref(f"{no_ranges}/voice.wav"), tmp_path / "voice.wav", s3=None, policy=POLICY)
    assert copy.read_bytes() == (media.root / "voice.wav").read_bytes()


def test_an_input_over_the_bound_from_a_server_without_ranges_is_refused(
    no_ranges: str, media: Media, monkeypatch: pytest.MonkeyPatch
) -> None:
    size = (media.root / "face.mp4").stat().st_size
    monkeypatch.setattr(media_sources, "UNRANGED_MAX_BYTES", size - 1)
    with pytest.raises(InputUnreadableError, match="ignores range requests"):
        open_input(ref(f"{no_ranges}/face.mp4"), s3=None, policy=POLICY)
