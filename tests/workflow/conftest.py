from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from infra.app_factory import build_app
from lipsync.emulator import Emulator, ServiceConfig
from lipsync.local.stack import LocalStack, local_aws
from lipsync_core.jobs.domain.records import JobRecord
from tests.support.media import Media

# Tasks take 30 s in the queue and 60 s + 10 s per voice second to generate (emulated), and the
# emulator's clock moves exactly as far as each Wait state: a job needs several polls, always.
WORKFLOW_EMULATOR = ServiceConfig(
    queue_seconds=30, generating_base_seconds=60, generating_per_voice_second=10
)
# The test media is tiny (160x120) to keep the suite fast; under the reported minimum of 512 pixels,
# every job would be scaled up first. The stacks here accept it; converting is tested on its own.
TINY_MEDIA_SPECS = '{"lite": {"min_side": 96}, "basic": {"min_side": 96}}'


@pytest.fixture(scope="session")
def template_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The stack, synthesized once (layer bundling skipped: the handlers run from source here)."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app, _ = build_app(outdir=str(outdir), context={"aws:cdk:bundling-stacks": []}, nag=False)
    app.synth()
    return outdir / "LipSync.template.json"


@dataclass
class Pipeline:
    local: LocalStack
    emulator: Emulator
    media: Media

    @property
    def bucket(self) -> str:
        assert self.local.endpoints
        return self.local.endpoints.bucket

    def request(self, **overrides: Any) -> dict[str, Any]:
        return {
            "mode": "lite",
            "video": self.media.url("face.mp4"),
            "audio": self.media.url("voice.wav"),
            **overrides,
        }

    def run(self, job_id: str, request: dict[str, Any] | None = None) -> dict[str, Any]:
        arn = self.local.start_job(job_id, request or self.request())
        return self.local.wait(arn, timeout=120)

    def record(self, job_id: str) -> JobRecord:
        from lipsync_core.jobs.clients import job_store

        return job_store().get(job_id)

    def function_history(self, description: dict[str, Any]) -> list[dict[str, Any]]:
        return self.local.history(description["executionArn"])

    def objects(self) -> list[str]:
        answer = boto3.client("s3").list_objects_v2(Bucket=self.bucket)
        return sorted(o["Key"] for o in answer.get("Contents", []))

    def multipart_uploads(self) -> list[dict[str, Any]]:
        return list(boto3.client("s3").list_multipart_uploads(Bucket=self.bucket).get("Uploads", []))


@pytest.fixture
def pipeline(template_path: Path, media: Media) -> Iterator[Pipeline]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)  # moto logs every caught task error
    with Emulator(config=WORKFLOW_EMULATOR) as emulator, local_aws():
        local = LocalStack(
            template_path,
            volc_endpoint=emulator.endpoint,
            volc_credentials=emulator.principal,
            time_scale=0.0,
            on_wait=emulator.service.clock.advance,
            environment={"INPUT_SPECS": TINY_MEDIA_SPECS},
        )
        try:
            local.start()
            yield Pipeline(local, emulator, media)
        finally:
            local.stop()


@pytest.fixture
def specs(pipeline: Pipeline) -> Iterator[Callable[[str], None]]:
    """Sets ``INPUT_SPECS`` (the stack's input_specs: JSON overrides of the reported figures, "" for
    the reported figures alone) for the functions, as their environment would."""
    from lipsync_core.jobs import clients

    before = os.environ.get("INPUT_SPECS", "")

    def apply(value: str) -> None:
        os.environ["INPUT_SPECS"] = value
        clients.reset()  # the settings are cached per execution environment

    yield apply
    apply(before)
