"""Every URL a request carries (the inputs and the webhook) is refused at intake, with the field named,
when it cannot be what it says (RFC 3986): credentials in its authority (userinfo, even empty), a scheme
other than http(s), no host, a port that is not one, control characters. A URL that passes goes out
without them: a webhook's ``Host`` header is its host and port, nothing else."""

from __future__ import annotations

from typing import Any

import pytest

from lipsync_core.jobs.access.result_urls import UrlPolicy, check_url
from lipsync_core.jobs.domain.errors import RequestRejectedError, ResultUrlRejectedError
from lipsync_core.jobs.domain.settings import Settings
from lipsync_core.jobs.entry.requests import parse_request

BASE = {"mode": "lite", "video": "s3://b-u-c/v.mp4", "audio": "s3://b-u-c/a.wav"}
FIELDS = {
    "video": lambda url: {**BASE, "video": url},
    "audio": lambda url: {**BASE, "audio": {"url": url}},
    "webhook.url": lambda url: {**BASE, "webhook": {"url": url}},
}
REFUSED = [
    ("https://user:secret@example.com/a.mp4", "must not embed credentials"),
    ("https://token@example.com/a.mp4", "must not embed credentials"),
    ("https://@example.com/a.mp4", "must not embed credentials"),
    ("https://user:@example.com:8443/a.mp4", "must not embed credentials"),
    ("ftp://example.com/a.mp4", "must be an http(s) URL"),
    ("https:///a.mp4", "has no host"),
    ("https://example.com:99999/a.mp4", "has an invalid port"),
    ("https://example.com:port/a.mp4", "has an invalid port"),
    ("https://example.com/a\r\nX-Injected: 1", "contains control characters"),
]


def settings() -> Settings:
    return Settings.model_validate({"JOB_TABLE_NAME": "jobs", "ALLOW_LOCAL_URLS": False})


@pytest.mark.parametrize("field", FIELDS)
@pytest.mark.parametrize(("url", "reason"), REFUSED)
def test_each_url_field_refuses(field: str, url: str, reason: str) -> None:
    with pytest.raises(RequestRejectedError) as refused:
        parse_request(FIELDS[field](url), settings())
    [error] = refused.value.errors
    assert error["field"].startswith(field.split(".")[0])
    assert reason in error["message"]


@pytest.mark.parametrize("field", FIELDS)
def test_a_good_url_is_kept_encoded(field: str) -> None:
    request: Any = parse_request(FIELDS[field]("https://Example.com:8443/a dir/é.mp4?x=1"), settings())
    value = {
        "video": lambda: request.video.url,
        "audio": lambda: request.audio.url,
        "webhook.url": lambda: request.webhook.url,
    }[field]()
    assert value == "https://example.com:8443/a%20dir/%C3%A9.mp4?x=1"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://user:pw@example.com/hook", "must not embed credentials"),
        ("https://@example.com/hook", "must not embed credentials"),
        ("https://example.com:99999/hook", "has an invalid port"),
    ],
)
def test_a_delivery_refuses_what_intake_refuses(url: str, reason: str) -> None:
    # A webhook recorded before intake refused these is refused at delivery, before any connection.
    with pytest.raises(ResultUrlRejectedError, match=reason):
        check_url(url, UrlPolicy(allow_local=True, subject="webhook"))
