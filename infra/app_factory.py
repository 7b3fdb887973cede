"""Builds the CDK app the same way for the CLI (``cdk synth``), pure-Python synth and tests."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk

from .nag import add_checks
from .sources import CDK_JSON
from .stack import LipSyncStack

STACK_NAME = "LipSync"


def cdk_json_context() -> dict[str, Any]:
    """``cdk.json``'s context: the CLI passes it to the app, a plain ``cdk.App()`` would not."""
    return dict(json.loads(CDK_JSON.read_text())["context"])


def build_app(
    *, outdir: str | None = None, context: dict[str, Any] | None = None, nag: bool = True
) -> tuple[cdk.App, LipSyncStack]:
    # What the CLI would add: resource paths and asset paths in the template's metadata.
    cli_defaults = {"aws:cdk:enable-path-metadata": True, "aws:cdk:enable-asset-metadata": True}
    merged = {**cli_defaults, **cdk_json_context(), **(context or {})}
    app = cdk.App(outdir=outdir, context=merged) if outdir else cdk.App(context=merged)
    if nag:
        add_checks(app)
    # Another name (``-c lipsync:stack_name=...``) deploys a second copy beside this one (`make smoke`).
    stack_name = str(app.node.try_get_context("lipsync:stack_name") or STACK_NAME)
    stack = LipSyncStack(app, stack_name, description="Lip-sync video jobs with Volcengine")
    return app, stack
