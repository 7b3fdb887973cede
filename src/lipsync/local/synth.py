"""The template the local runtime runs: synthesized from ``infra/`` (pure Python, no layer bundling:
handlers run from source here), cached until the infrastructure, functions or ``cdk.json`` change."""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
from pathlib import Path

from .stack import ROOT

CACHE = ROOT / "build" / "local-cdk.out"
SOURCES = ("infra", "functions", "cdk.json", "app.py")


def _fingerprint() -> str:
    digest = hashlib.sha256()
    for source in SOURCES:
        path = ROOT / source
        files = sorted(p for p in path.rglob("*.py")) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def synthesized_template(context: dict[str, object] | None = None) -> Path:
    """Path to ``LipSync.template.json``, synthesizing only when the sources changed."""
    fingerprint = _fingerprint() + repr(sorted((context or {}).items()))
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE.parent / "local-cdk.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers share the cache
        return _synthesize_if_stale(fingerprint, context)


def _synthesize_if_stale(fingerprint: str, context: dict[str, object] | None) -> Path:
    stamp = CACHE / ".fingerprint"
    template = CACHE / "LipSync.template.json"
    if template.exists() and stamp.exists() and stamp.read_text() == fingerprint:
        return template
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    if str(ROOT) not in sys.path:  # infra/ lives in the repository, beside the installed packages
        sys.path.insert(0, str(ROOT))
    from infra.app_factory import build_app

    app, _ = build_app(
        outdir=str(CACHE), context={"aws:cdk:bundling-stacks": [], **(context or {})}, nag=False
    )
    app.synth()
    stamp.write_text(fingerprint)
    return template
