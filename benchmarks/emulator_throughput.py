"""How many status queries per second one emulator answers, and how long a 60 s output takes to render.

Queries: ``LOAD_PROCESSES`` processes (so the load itself is not bound by one GIL), each with
``CLIENTS // LOAD_PROCESSES`` threads, each thread with its own keep-alive ``VolcClient``, ask
``CVGetResult`` for one task as fast as they can; the figure is answered queries over wall time.
Render: the emulator's ``render`` on a 3 s template and a 60 s voice, at two sizes.
"""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

from lipsync.emulator import DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, Emulator
from lipsync.emulator.rendering import Retime, render
from lipsync.media.samples import make_talking_head, make_voice
from lipsync.media.serving import serve_directory, url_for
from lipsync_core.volc import VolcClient

CLIENTS = 16
LOAD_PROCESSES = 2
QUERIES_PER_CLIENT = 200


def hammer(endpoint: str, task_id: str, threads: int) -> int:
    """One load process: ``threads`` keep-alive clients querying one task."""
    clients = [
        VolcClient(DEFAULT_ACCESS_KEY_ID, DEFAULT_SECRET_ACCESS_KEY, endpoint=endpoint)
        for _ in range(threads)
    ]

    def ask(client: VolcClient) -> int:
        for _ in range(QUERIES_PER_CLIENT):
            client.get_result("lite", task_id)
        return QUERIES_PER_CLIENT

    with ThreadPoolExecutor(threads) as pool:
        return sum(pool.map(ask, clients))


def status_queries_per_second(media: Path) -> float:
    with serve_directory(media) as base, Emulator() as emulator:
        task_id = (
            emulator.client()
            .submit_task("lite", url_for(base, "face.mp4"), url_for(base, "voice.wav"))
            .task_id
        )
        context = multiprocessing.get_context("forkserver")
        with ProcessPoolExecutor(LOAD_PROCESSES, mp_context=context) as load:
            load.submit(int).result()  # the processes are up before the clock starts
            started = time.perf_counter()
            futures = [
                load.submit(hammer, emulator.endpoint, task_id, CLIENTS // LOAD_PROCESSES)
                for _ in range(LOAD_PROCESSES)
            ]
            answered = sum(f.result() for f in futures)
        return answered / (time.perf_counter() - started)


def render_seconds(media: Path, width: int, height: int) -> float:
    template = make_talking_head(media / f"t{width}.mp4", seconds=3.0, width=width, height=height)
    started = time.perf_counter()
    render(template, media / "voice60.wav", media / f"out{width}.mp4", retime=Retime.PING_PONG)
    return time.perf_counter() - started


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        media = Path(tmp)
        make_talking_head(media / "face.mp4", seconds=1.0, width=160, height=120)
        make_voice(media / "voice.wav", seconds=2.0)
        make_voice(media / "voice60.wav", seconds=60.0)
        qps = status_queries_per_second(media)
        print(
            f"emulator: {qps:,.0f} CVGetResult answers/s ({CLIENTS} keep-alive clients in "
            f"{LOAD_PROCESSES} processes, each signature checked)"
        )
        for width, height in ((640, 360), (1280, 720)):
            print(
                f"emulator: 60 s output at {width}x{height} 25 fps rendered in "
                f"{render_seconds(media, width, height):.1f} s"
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
