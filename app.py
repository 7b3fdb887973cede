#!/usr/bin/env python3
"""CDK entry point: ``npx cdk synth`` (or ``python app.py`` for a pure-Python synth into cdk.out)."""

from infra.app_factory import build_app

app, _ = build_app()
app.synth()
