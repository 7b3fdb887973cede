"""Where Volcengine credentials come from: a Secrets Manager secret on AWS, the environment locally.

The secret is a JSON object ``{"access_key_id", "secret_access_key", "session_token"?}`` read
through Powertools Parameters, cached for ``max_age`` seconds so a rotation is picked up without a
redeploy. Error messages name the missing field, never a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .volc.signer import Credentials

SECRET_FIELDS = ("access_key_id", "secret_access_key", "session_token")
DEFAULT_MAX_AGE_SECONDS = 300

# Our variable names first, then the official SDK's, so an existing setup keeps working.
_ENV_NAMES = {
    "access_key_id": ("VOLC_ACCESS_KEY_ID", "VOLC_ACCESSKEY"),
    "secret_access_key": ("VOLC_SECRET_ACCESS_KEY", "VOLC_SECRETKEY"),
    "session_token": ("VOLC_SESSION_TOKEN",),
}


class CredentialsError(RuntimeError):
    """Credentials are missing or malformed. The message never contains a secret."""


def credentials_from_mapping(values: Mapping[str, Any], *, source: str) -> Credentials:
    unknown = sorted(set(values) - set(SECRET_FIELDS))
    if unknown:
        raise CredentialsError(f"{source} has unexpected field(s): {', '.join(unknown)}")
    missing = [
        name for name in SECRET_FIELDS[:2] if not isinstance(values.get(name), str) or not values[name]
    ]
    if missing:
        raise CredentialsError(f"{source} lacks a non-empty string for: {', '.join(missing)}")
    token = values.get("session_token")
    if token is not None and not isinstance(token, str):
        raise CredentialsError(f"{source} has a session_token that is not a string")
    return Credentials(values["access_key_id"], values["secret_access_key"], token or None)


def credentials_from_secret(
    secret_id: str, *, max_age: int = DEFAULT_MAX_AGE_SECONDS, force_fetch: bool = False
) -> Credentials:
    """Read the credentials secret (cached by Powertools Parameters)."""
    from aws_lambda_powertools.utilities import parameters

    try:
        value = parameters.get_secret(secret_id, transform="json", max_age=max_age, force_fetch=force_fetch)
    except parameters.exceptions.TransformParameterError:
        raise CredentialsError(f"secret {secret_id!r} is not a JSON object") from None
    except parameters.exceptions.GetParameterError as exc:
        # The AWS error text names the secret and the reason; it carries no secret value.
        raise CredentialsError(f"cannot read secret {secret_id!r}: {exc}") from None
    if not isinstance(value, dict):
        raise CredentialsError(f"secret {secret_id!r} is not a JSON object")
    return credentials_from_mapping(value, source=f"secret {secret_id!r}")


def credentials_from_env(environ: Mapping[str, str] | None = None) -> Credentials:
    environ = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for field_name, names in _ENV_NAMES.items():
        value = next((environ[n] for n in names if environ.get(n)), None)
        if value:
            values[field_name] = value
    return credentials_from_mapping(values, source="the environment (VOLC_ACCESS_KEY_ID, ...)")


def load_credentials(secret_id: str | None = None, *, force_fetch: bool = False) -> Credentials:
    """From the secret when one is named (``VOLC_SECRET_ID`` by default), else the environment."""
    secret_id = secret_id or os.environ.get("VOLC_SECRET_ID")
    if secret_id:
        return credentials_from_secret(secret_id, force_fetch=force_fetch)
    return credentials_from_env()
