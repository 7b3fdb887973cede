"""Opening a URL we did not choose safely (the service's result URL, a caller's webhook): https only,
public addresses only, connection pinned.

The host is resolved once, every address checked, and the connection made to the checked address
(with the original name for TLS and ``Host``), so a DNS answer that changes between the check and
the connection cannot point the function at something private.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import urllib3
from botocore.httpsession import get_cert_path

from lipsync_core.jobs.domain.errors import ResultDownloadError, ResultUrlExpiredError, ResultUrlRejectedError


@dataclass(frozen=True)
class UrlPolicy:
    allow_local: bool = False  # http and private addresses, for the offline runtime only
    allowed_hosts: tuple[str, ...] = ()  # host names or parent domains; empty: any public host
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    subject: str = "result"  # what the URL is, as errors name it ("result URL", "webhook host")


def _host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    return not allowed or any(host == entry or host.endswith("." + entry.lstrip(".")) for entry in allowed)


def check_url(url: str, policy: UrlPolicy) -> tuple[str, str, int, str]:
    """Returns (scheme, host, port, pinned address); raises ``ResultUrlRejectedError``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme != "https" and not (policy.allow_local and scheme == "http"):
        raise ResultUrlRejectedError(f"{policy.subject} URL scheme {scheme!r} is not allowed (https only)")
    host = (parts.hostname or "").lower()
    if not host:
        raise ResultUrlRejectedError(f"{policy.subject} URL has no host")
    if "@" in parts.netloc:
        raise ResultUrlRejectedError(f"{policy.subject} URL must not embed credentials")
    if not _host_allowed(host, policy.allowed_hosts):
        raise ResultUrlRejectedError(f"{policy.subject} URL host {host!r} is not in the allowed list")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise ResultUrlRejectedError(f"{policy.subject} URL has an invalid port") from None
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ResultDownloadError(f"cannot resolve {policy.subject} host {host!r}: {exc}") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not policy.allow_local:
        private = [str(a) for a in addresses if not a.is_global]
        if private:
            raise ResultUrlRejectedError(
                f"{policy.subject} URL host {host!r} resolves to non-public address(es) {', '.join(private)}"
            )
    return scheme, host, port, str(addresses[0])


def pinned_request(
    method: str,
    url: str,
    policy: UrlPolicy,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """One request to ``url`` after ``check_url``, connected to the checked address (the original name
    for TLS and ``Host``), never following redirects. Returns the ``urllib3`` response, unread."""
    scheme, host, port, address = check_url(url, policy)
    parts = urlsplit(url)
    timeout = urllib3.Timeout(connect=policy.connect_timeout, read=policy.read_timeout)
    pool: urllib3.HTTPConnectionPool
    if scheme == "https":
        pool = urllib3.HTTPSConnectionPool(
            address,
            port,
            server_hostname=host,
            assert_hostname=host,
            cert_reqs="CERT_REQUIRED",
            ca_certs=get_cert_path(True),  # the CA bundle boto3 trusts (the runtime's botocore)
            timeout=timeout,
            retries=False,
        )
    else:
        pool = urllib3.HTTPConnectionPool(address, port, timeout=timeout, retries=False)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return pool.urlopen(
        method,
        target,
        body=body,
        headers={"Host": _host_header(host, parts.port), **(headers or {})},
        preload_content=False,
        redirect=False,
    )


def _host_header(host: str, port: int | None) -> str:
    """``Host`` from the checked name and the URL's own port: never userinfo, whatever the URL held."""
    name = f"[{host}]" if ":" in host else host
    return f"{name}:{port}" if port is not None else name


def open_result(url: str, policy: UrlPolicy) -> Any:
    """A streaming ``urllib3`` response for ``url`` (the caller reads and releases it)."""
    try:
        response = pinned_request("GET", url, policy)
    except urllib3.exceptions.HTTPError as exc:
        raise ResultDownloadError(f"cannot fetch the result: {type(exc).__name__}") from None
    if response.status in (403, 404):
        response.release_conn()
        raise ResultUrlExpiredError(f"the result URL answered {response.status} (expired)")
    if response.status != 200:
        response.release_conn()
        raise ResultDownloadError(f"the result URL answered HTTP {response.status}")
    return response
