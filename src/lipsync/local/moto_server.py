"""moto in server mode for the local runtime: its ``ThreadedMotoServer``, stopping quickly."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .iam.gate import IamGate
from .moto_patches import MotoPatches, Patch, source_contains


def _polling_often(make_server: Callable[..., Any]) -> Callable[..., Any]:
    def make_quick_server(*args: Any, **kwargs: Any) -> Any:
        server = make_server(*args, **kwargs)
        server.serve_forever = functools.partial(server.serve_forever, poll_interval=0.05)
        return server

    return make_quick_server


def _gated_by(gate: IamGate) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def replacement(make_server: Callable[..., Any]) -> Callable[..., Any]:
        def make_gated_server(host: str, port: int, app: Any, *args: Any, **kwargs: Any) -> Any:
            return make_server(host, port, gate.wrap(app), *args, **kwargs)

        return make_gated_server

    return replacement


# werkzeug's ``serve_forever`` notices a shutdown only at its next poll (every 0.5 s by default).
QUICK_STOP = Patch(
    "moto.moto_server.threaded_moto_server",
    "make_server",
    _polling_often,
    why="the server notices a stop within 50 ms",
    expects=(
        source_contains(
            "make_server(",
            ".serve_forever()",
            where="moto.moto_server.threaded_moto_server:ThreadedMotoServer._server_entry",
        ),
    ),
)


def quick_stop_moto_server(ip_address: str, port: int, gate: IamGate | None = None) -> Any:
    """A started ``ThreadedMotoServer`` whose ``stop()`` returns within 50 ms instead of up to 0.5 s,
    and whose every request passes ``gate`` (IAM, once the gate knows the stack's policies)."""
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=ip_address, port=port, verbose=False)
    patches = [QUICK_STOP]
    if gate is not None:
        patches.append(
            Patch(
                QUICK_STOP.owner,
                "make_server",
                _gated_by(gate),
                why="every request to the server is authorised by IAM first",
                expects=QUICK_STOP.expects,
            )
        )
    with MotoPatches(patches).installed():
        server.start()  # make_server is called before start() returns
    return server
