"""Each Lambda environment's clients and configuration, built once and reused across invocations:
the wiring between the handlers in ``functions/`` and the job domain. (Not ``lipsync.local.runtime``,
which runs the whole stack on one machine.)"""

from __future__ import annotations

from functools import lru_cache, partial
from typing import Any

import boto3
from botocore.config import Config

from lipsync_core.credentials import load_credentials
from lipsync_core.jobs.access.flow_control import FlowControl
from lipsync_core.jobs.access.job_store import JobStore
from lipsync_core.jobs.access.line import Line
from lipsync_core.jobs.domain.errors import JobNotFoundError
from lipsync_core.jobs.domain.metrics import MetricsSink
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.jobs.entry.context import EntryContext
from lipsync_core.jobs.steps.context import StepContext
from lipsync_core.jobs.steps.dispatch import Dispatcher
from lipsync_core.jobs.steps.reconcile import Reconciler
from lipsync_core.volc import VolcClient
from lipsync_core.volc.signer import Credentials


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()


@lru_cache(maxsize=1)
def job_store() -> JobStore:
    return JobStore(boto3.resource("dynamodb").Table(settings().table_name))


@lru_cache(maxsize=1)
def flow_control() -> FlowControl:
    table_name = settings().flow_table_name
    table = boto3.resource("dynamodb").Table(table_name) if table_name else None
    return FlowControl(table, settings().flow_limits)


@lru_cache(maxsize=1)
def s3_client() -> Any:
    # SigV4 presigned URLs (boto3 may otherwise presign with the deprecated SigV2 in us-east-1).
    return boto3.client("s3", config=Config(signature_version="s3v4"))


@lru_cache(maxsize=1)
def events_client() -> Any:
    return boto3.client("events")


@lru_cache(maxsize=1)
def stepfunctions_client() -> Any:
    return boto3.client("stepfunctions")


def step_context(metrics: MetricsSink) -> StepContext:
    return StepContext(store=job_store(), settings=settings(), flow=flow_control(), metrics=metrics)


@lru_cache(maxsize=1)
def entry_context() -> EntryContext:
    """Every client the entry side may call, made once (a few ms each after the first)."""
    return EntryContext(
        store=job_store(),
        settings=settings(),
        stepfunctions=stepfunctions_client(),
        s3=s3_client(),
        events_client=events_client(),
        flow=flow_control(),
        volc=volc_client,
    )


def _job_ended(store: JobStore, job_id: str) -> bool:
    try:
        return store.get(job_id).terminal
    except JobNotFoundError:
        return True


def dispatcher(metrics: MetricsSink) -> Dispatcher:
    store = job_store()
    return Dispatcher(
        line=Line(store.table),
        flow=flow_control(),
        stepfunctions=stepfunctions_client(),
        ended=partial(_job_ended, store),
        metrics=metrics,
    )


def reconciler() -> Reconciler:
    return Reconciler(
        store=job_store(),
        flow=flow_control(),
        events_client=events_client(),
        stepfunctions=stepfunctions_client(),
        settings=settings(),
    )


_volc: tuple[Credentials, VolcClient] | None = None


def volc_client() -> VolcClient:
    """A client with the current credentials; rebuilt when a rotation changes them."""
    global _volc
    credentials = load_credentials(settings().volc_secret_id or None)
    if _volc is None or _volc[0] != credentials:
        _volc = (credentials, VolcClient.from_credentials(credentials, endpoint=settings().volc_endpoint))
    return _volc[1]


def reset() -> None:
    """Forget cached clients and secrets (tests, and the local runtime between stacks)."""
    global _volc
    _volc = None
    clients = (settings, job_store, flow_control, s3_client, events_client, stepfunctions_client)
    for cached in (*clients, entry_context):
        cached.cache_clear()
    from aws_lambda_powertools.utilities.parameters import base

    base.clear_caches()  # type: ignore[no-untyped-call]
    base.DEFAULT_PROVIDERS.clear()  # type: ignore[attr-defined]  # they hold clients for an old endpoint
