"""The template the local runtime runs: synthesized from the infrastructure package (pure Python, no
layer bundling: handlers run from source here), cached until the constructs, the functions, the layer
package they import or ``cdk.json`` change.

The constructs are ``infra/`` in the repository and ``lipsync_infra`` once installed (the editable
install maps that name to ``infra/`` too): ``lipsync_infra.sources`` says where their files are.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import lipsync_core

if TYPE_CHECKING:  # mypy reads the repository, where the package is the folder infra/
    from infra import sources as sources
else:
    from lipsync_infra import sources as sources

STACK_TEMPLATE = "LipSync.template.json"


def cache_dir() -> Path:
    """``build/`` in a checkout; installed, the user's cache (never the installation's own folders)."""
    if not sources.INSTALLED:
        return sources.ROOT / "build" / "local-cdk.out"
    user_cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return user_cache / "lipsync" / "local-cdk.out"


KEEP = 6  # synthesized templates kept (one per set of sources and context: tests use a few contexts)


def _fingerprint(context: dict[str, object] | None) -> str:
    digest = hashlib.sha256(json.dumps(context or {}, sort_keys=True, default=str).encode())
    for source in (
        sources.PACKAGE,
        sources.FUNCTIONS_ROOT,
        Path(lipsync_core.__file__).parent,  # the constructs import its names and limits
        sources.CDK_JSON,
    ):
        files = sorted(source.rglob("*.py")) if source.is_dir() else [source]
        for file in files:
            digest.update(str(file.relative_to(source.parent)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def synthesized_template(context: dict[str, object] | None = None) -> Path:
    """Path to ``LipSync.template.json`` synthesized with ``context``, made only when the sources or
    the context are new; each lives in a folder of its own, so runs with different contexts (in
    parallel test workers, say) do not take turns rewriting one."""
    fingerprint = _fingerprint(context)
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers share the cache
        folder = cache / fingerprint[:16]
        template = folder / STACK_TEMPLATE
        if not template.exists():
            _synthesize(folder, context)
        os.utime(folder)  # recently used: kept when older ones are pruned
        _prune(cache)
        return template


def _synthesize(folder: Path, context: dict[str, object] | None) -> None:
    """In a process of its own: the CDK's jsii runs a Node.js kernel for as long as its Python process
    lives, and a local stack should neither carry it nor leave it behind when it is interrupted."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    arguments = json.dumps({"outdir": str(partial), "context": context or {}}, default=str)
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", __name__, arguments], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        reason = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"synthesizing the local stack failed: {reason}")
    partial.rename(folder)


def _prune(cache: Path) -> None:
    folders = sorted(
        (f for f in cache.iterdir() if f.is_dir() and not f.name.endswith(".partial")),
        key=lambda f: f.stat().st_mtime,
        reverse=True,
    )
    for stale in folders[KEEP:]:
        shutil.rmtree(stale, ignore_errors=True)


def main(arguments: str) -> None:
    """The synthesizing process: ``python -m lipsync.local.synth '{"outdir": ..., "context": ...}'``."""
    if TYPE_CHECKING:
        from infra.app_factory import build_app
    else:
        from lipsync_infra.app_factory import build_app

    request = json.loads(arguments)
    context = {"aws:cdk:bundling-stacks": [], **request["context"]}
    app, _ = build_app(outdir=request["outdir"], context=context, nag=False)
    app.synth()


if __name__ == "__main__":
    main(sys.argv[1])
