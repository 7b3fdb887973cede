"""The template the local runtime runs: synthesized from the infrastructure package (pure Python, no
layer bundling: handlers run from source here), cached until the constructs, the functions, the layer
package they import or ``cdk.json`` change.

The constructs are ``infra/`` in the repository and ``lipsync_infra`` once installed (the editable
install maps that name to ``infra/`` too): ``lipsync_infra.sources`` says where their files are.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
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


def _fingerprint() -> str:
    digest = hashlib.sha256()
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
    """Path to ``LipSync.template.json``, synthesizing only when the sources changed. Each ``context``
    (CDK context values, such as ``{"lipsync:job_deadline_seconds": 60}``) has a cache of its own, so
    tests that run differently configured stacks side by side do not take turns re-synthesizing."""
    settings = repr(sorted((context or {}).items()))
    fingerprint = _fingerprint() + settings
    cache = cache_dir()
    if context:
        cache = cache / hashlib.sha256(settings.encode()).hexdigest()[:16]
    cache.mkdir(parents=True, exist_ok=True)
    with (cache.parent / "local-cdk.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers share the cache
        return _synthesize_if_stale(cache, fingerprint, context)


def _synthesize_if_stale(cache: Path, fingerprint: str, context: dict[str, object] | None) -> Path:
    stamp = cache / ".fingerprint"
    template = cache / STACK_TEMPLATE
    if template.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return template
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if TYPE_CHECKING:
        from infra.app_factory import build_app
    else:
        from lipsync_infra.app_factory import build_app

    app, _ = build_app(
        outdir=str(cache), context={"aws:cdk:bundling-stacks": [], **(context or {})}, nag=False
    )
    app.synth()
    stamp.write_text(fingerprint)
    return template
