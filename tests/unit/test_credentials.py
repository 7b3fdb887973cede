"""Credentials from Secrets Manager (through moto) and from the environment."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from lipsync_core.credentials import (
    CredentialsError,
    credentials_from_env,
    credentials_from_secret,
    load_credentials,
)

SECRET_VALUE = "wJalrXUtnFEMI-super-secret"


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("secretsmanager")


def test_reads_the_secret_json(secrets: object) -> None:
    client = boto3.client("secretsmanager")
    client.create_secret(
        Name="volc",
        SecretString=json.dumps(
            {"access_key_id": "AK1", "secret_access_key": SECRET_VALUE, "session_token": "tok"}
        ),
    )
    creds = credentials_from_secret("volc", force_fetch=True)
    assert (creds.access_key_id, creds.secret_access_key, creds.session_token) == ("AK1", SECRET_VALUE, "tok")
    assert SECRET_VALUE not in repr(creds)


def test_the_secret_is_cached_and_a_rotation_is_seen_when_forced(secrets: object) -> None:
    client = boto3.client("secretsmanager")
    client.create_secret(
        Name="volc-rot", SecretString=json.dumps({"access_key_id": "AK1", "secret_access_key": "one"})
    )
    assert credentials_from_secret("volc-rot", force_fetch=True).secret_access_key == "one"
    client.put_secret_value(
        SecretId="volc-rot", SecretString=json.dumps({"access_key_id": "AK1", "secret_access_key": "two"})
    )
    assert credentials_from_secret("volc-rot").secret_access_key == "one", "served from the cache"
    assert credentials_from_secret("volc-rot", force_fetch=True).secret_access_key == "two"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not json", "is not a JSON object"),
        ('["a"]', "is not a JSON object"),
        ('{"access_key_id": "AK"}', "lacks a non-empty string for: secret_access_key"),
        (
            '{"access_key_id": "AK", "secret_access_key": "' + SECRET_VALUE + '", "extra": 1}',
            "unexpected field",
        ),
    ],
)
def test_malformed_secrets_are_named_without_values(secrets: object, value: str, message: str) -> None:
    boto3.client("secretsmanager").create_secret(Name="bad", SecretString=value)
    with pytest.raises(CredentialsError, match=message) as caught:
        credentials_from_secret("bad", force_fetch=True)
    assert SECRET_VALUE not in str(caught.value)


def test_a_missing_secret_is_a_clear_error(secrets: object) -> None:
    with pytest.raises(CredentialsError, match="cannot read secret 'absent'"):
        credentials_from_secret("absent", force_fetch=True)


def test_environment_variables_ours_then_the_sdks() -> None:
    creds = credentials_from_env({"VOLC_ACCESSKEY": "AK2", "VOLC_SECRETKEY": "s2"})
    assert (creds.access_key_id, creds.secret_access_key, creds.session_token) == ("AK2", "s2", None)
    creds = credentials_from_env(
        {
            "VOLC_ACCESS_KEY_ID": "AK3",
            "VOLC_ACCESSKEY": "AK2",
            "VOLC_SECRET_ACCESS_KEY": "s3",
            "VOLC_SESSION_TOKEN": "t",
        }
    )
    assert (creds.access_key_id, creds.session_token) == ("AK3", "t")
    with pytest.raises(CredentialsError, match="access_key_id, secret_access_key"):
        credentials_from_env({})


def test_load_prefers_the_secret_named_in_the_environment(
    secrets: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    boto3.client("secretsmanager").create_secret(
        Name="from-env", SecretString=json.dumps({"access_key_id": "AKS", "secret_access_key": "s"})
    )
    monkeypatch.setenv("VOLC_SECRET_ID", "from-env")
    monkeypatch.setenv("VOLC_ACCESS_KEY_ID", "AKE")
    monkeypatch.setenv("VOLC_SECRET_ACCESS_KEY", "e")
    assert load_credentials(force_fetch=True).access_key_id == "AKS"
    monkeypatch.delenv("VOLC_SECRET_ID")
    assert load_credentials().access_key_id == "AKE"
