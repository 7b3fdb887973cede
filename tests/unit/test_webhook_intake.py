"""A webhook URL is refused at intake as a result URL would be: not https, or a host that resolves to
a private address (SSRF), each with a plain reason; locally (``ALLOW_LOCAL_URLS``) both are allowed."""

from __future__ import annotations

import re

import pytest

from lipsync_core.jobs.domain.errors import RequestRejectedError
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.jobs.entry.requests import parse_request
from lipsync_core.jobs.entry.webhooks import check_target

BASE = {"mode": "lite", "video": "s3://b-u-c/v.mp4", "audio": "s3://b-u-c/a.wav"}


def settings(local: bool) -> Settings:
    return Settings.model_validate({"JOB_TABLE_NAME": "jobs", "ALLOW_LOCAL_URLS": local})


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (
            "https://127.0.0.1:8443/hook",
            "webhook URL host '127.0.0.1' resolves to non-public address(es) 127.0.0.1",
        ),
        ("https://localhost/hook", "resolves to non-public address(es)"),
        ("https://10.1.2.3/hook", "resolves to non-public address(es) 10.1.2.3"),
    ],
)
def test_a_private_webhook_host_is_refused(url: str, reason: str) -> None:
    request = parse_request({**BASE, "webhook": {"url": url}}, settings(local=False))
    with pytest.raises(RequestRejectedError, match=re.escape(reason)) as refused:
        check_target(request, settings(local=False))
    assert refused.value.errors[0]["field"] == "webhook.url"
    check_target(parse_request({**BASE, "webhook": {"url": url}}, settings(local=True)), settings(local=True))


def test_the_webhook_must_be_https_and_name_known_events() -> None:
    with pytest.raises(RequestRejectedError, match="webhook url must be https"):
        parse_request({**BASE, "webhook": {"url": "http://example.com/hook"}}, settings(local=False))
    with pytest.raises(RequestRejectedError, match=r"webhook\.events"):
        parse_request(
            {**BASE, "webhook": {"url": "https://example.com/h", "events": ["started"]}}, settings(False)
        )
    request = parse_request({**BASE, "webhook": {"url": "https://example.com/h"}}, settings(local=False))
    assert request.webhook is not None
    assert request.webhook.events == ["succeeded", "failed", "cancelled"]
