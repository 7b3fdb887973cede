"""Test-wide settings: never reach real AWS, keep the CDK quiet and offline."""

from __future__ import annotations

import os

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
