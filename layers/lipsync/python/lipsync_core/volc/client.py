"""``VolcClient``: signed calls to the lip-sync API over ``urllib3``.

The client owns transport only: the signer is pure (``signer.py``), validation lives in the models
(``models.py``) and the error taxonomy in ``errors.py``. It never retries: the state machine does,
with backoff and jitter, on the retryable error classes. It sends over urllib3, which the Lambda
runtime's botocore already brings (and a function's boto3 clients already import), so the layer ships
only our code; the pool is made on first use, so functions that only need the models pay nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from . import errors
from .models import (
    Mode,
    SubmitTaskRequest,
    SubmitTaskResult,
    TaskResult,
    build_req_json,
    parse_resp_data,
)
from .signer import Credentials, sign

if TYPE_CHECKING:
    import urllib3

DEFAULT_ENDPOINT = "https://visual.volcengineapi.com"
API_VERSION = "2022-08-31"
CANCEL_API_VERSION = "2024-06-06"  # CVCancelTask, known to the official SDK, not in the contract
DEFAULT_TIMEOUT = (3.05, 30.0)  # (connect, read) seconds
_MAX_ERROR_BODY = 300

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The one place the client reads the clock (patch it in tests)."""
    return datetime.now(UTC)


class VolcClient:
    """A client for ``CVSubmitTask``, ``CVGetResult`` and ``CVCancelTask``."""

    def __init__(
        self,
        access_key_id: str,
        secret_access_key: str,
        session_token: str | None = None,
        endpoint: str = DEFAULT_ENDPOINT,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        *,
        http: urllib3.PoolManager | None = None,
        region: str = "cn-north-1",
        service: str = "cv",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.credentials = Credentials(access_key_id, secret_access_key, session_token or None)
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"endpoint must be an http(s) URL, got {endpoint!r}")
        self.endpoint = f"{parts.scheme}://{parts.netloc}"
        self.host = parts.netloc
        self.timeout = timeout
        self.region = region
        self.service = service
        self._clock = clock
        self._http = http

    @classmethod
    def from_credentials(cls, credentials: Credentials, **kwargs: Any) -> VolcClient:
        return cls(
            credentials.access_key_id,
            credentials.secret_access_key,
            credentials.session_token,
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"VolcClient(endpoint={self.endpoint!r}, access_key_id={self.credentials.access_key_id!r})"

    @property
    def http(self) -> urllib3.PoolManager:
        """The connection pool, made on first use with botocore's CA bundle (what boto3 trusts)."""
        if self._http is None:
            import urllib3  # deferred: see the module docstring
            from botocore.httpsession import get_cert_path

            self._http = urllib3.PoolManager(
                cert_reqs="CERT_REQUIRED", ca_certs=get_cert_path(True), retries=False, maxsize=4
            )
        return self._http

    # -- actions -----------------------------------------------------------------------------

    def submit_task(
        self,
        mode: str | Mode,
        video_url: str,
        audio_url: str,
        options: Mapping[str, Any] | None = None,
    ) -> SubmitTaskResult:
        """Submit a lip-sync task; returns its id. Validates everything before sending."""
        request = SubmitTaskRequest.create(mode, video_url, audio_url, options)
        envelope = self._call("CVSubmitTask", request.to_body(), ambiguous_after_send=True)
        data = envelope.get("data") or {}
        task_id = data.get("task_id") if isinstance(data, dict) else None
        if not task_id:
            raise errors.VolcUnknownError(
                "CVSubmitTask succeeded without a task_id",
                code=envelope.get("code"),
                request_id=envelope.get("request_id"),
            )
        return SubmitTaskResult(
            task_id=str(task_id),
            request_id=envelope.get("request_id"),
            time_elapsed=envelope.get("time_elapsed"),
        )

    def get_result(
        self,
        req_key: str | Mode,
        task_id: str,
        req_json: str | None = None,
        *,
        aigc_meta: Mapping[str, str] | None = None,
    ) -> TaskResult:
        """Query a task. A task that ended in failure raises ``VolcTaskFailedError``."""
        mode = Mode.parse(req_key)
        body: dict[str, Any] = {"req_key": mode.req_key, "task_id": str(task_id)}
        req_json = req_json or build_req_json(aigc_meta)
        if req_json:
            body["req_json"] = req_json
        envelope = self._call("CVGetResult", body, ambiguous_after_send=False, failure_is_task=True)
        data = envelope.get("data") or {}
        status = str(data.get("status") or "")
        result = TaskResult(
            status=status,
            video_url=data.get("url") or None,
            resp_data=parse_resp_data(data.get("resp_data")),
            code=int(envelope.get("code", errors.SUCCESS_CODE)),
            message=str(envelope.get("message", "")),
            request_id=envelope.get("request_id"),
            time_elapsed=envelope.get("time_elapsed"),
        )
        if status == "done" and not result.video_url:
            raise errors.VolcTaskFailedError(
                "task is done but the answer has no video url",
                code=result.code,
                request_id=result.request_id,
            )
        return result

    def cancel_task(self, req_key: str | Mode, task_id: str) -> str | None:
        """Ask the service to cancel a task (best effort); returns the request id."""
        body = {"req_key": Mode.parse(req_key).req_key, "task_id": str(task_id)}
        envelope = self._call("CVCancelTask", body, ambiguous_after_send=False, version=CANCEL_API_VERSION)
        return envelope.get("request_id")

    # -- transport -----------------------------------------------------------------------------

    def _call(
        self,
        action: str,
        body: Mapping[str, Any],
        *,
        ambiguous_after_send: bool,
        failure_is_task: bool = False,
        version: str = API_VERSION,
    ) -> dict[str, Any]:
        import urllib3

        payload = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        query = {"Action": action, "Version": version}
        signed = sign(
            method="POST",
            host=self.host,
            path="/",
            query=query,
            headers={"Content-Type": "application/json"},
            body=payload,
            credentials=self.credentials,
            timestamp=self._clock(),
            region=self.region,
            service=self.service,
        )
        started = time.monotonic()
        connect, read = self.timeout if isinstance(self.timeout, tuple) else (self.timeout, self.timeout)
        try:
            response = self.http.request(
                "POST",
                f"{self.endpoint}/?{urlencode(query)}",
                body=payload,
                headers=signed.headers,
                timeout=urllib3.Timeout(connect=connect, read=read),
                redirect=False,
                retries=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise _transport_error(action, exc, ambiguous_after_send) from None
        elapsed_ms = (time.monotonic() - started) * 1000
        envelope = _parse_envelope(action, response.status, response.data, failure_is_task)
        logger.debug(
            "volcengine call",
            extra={
                "action": action,
                "http_status": response.status,
                "request_id": envelope.get("request_id"),
                "elapsed_ms": round(elapsed_ms, 1),
            },
        )
        return envelope


def _transport_error(action: str, exc: Exception, ambiguous_after_send: bool) -> errors.VolcError:
    """Turn a ``urllib3`` failure into a typed error, telling whether the request may have left."""
    from urllib3.exceptions import ConnectTimeoutError, LocationParseError

    never_sent = isinstance(exc, ConnectTimeoutError | LocationParseError) or _is_connect_failure(exc)
    reason = type(exc).__name__
    if never_sent or not ambiguous_after_send:
        return errors.VolcUnavailableError(f"{action} failed before an answer arrived: {reason}")
    return errors.VolcSubmitUnconfirmedError(
        f"{action} was sent but no answer arrived ({reason}); the task may exist. "
        "Not resubmitted automatically, to avoid paying twice"
    )


def _is_connect_failure(exc: Exception) -> bool:
    """True when the connection was never established (the request cannot have been sent)."""
    from urllib3.exceptions import NewConnectionError  # also DNS failures (NameResolutionError in 2.x)

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, NewConnectionError | ConnectionRefusedError):
            return True
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
            continue
        args = getattr(current, "args", ())
        nested = next((a for a in args if isinstance(a, BaseException)), None)
        current = nested or current.__cause__ or current.__context__
    return False


def _parse_envelope(action: str, status: int, body: bytes, failure_is_task: bool) -> dict[str, Any]:
    try:
        envelope = json.loads(body)
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict):
        snippet = body[:_MAX_ERROR_BODY].decode("utf-8", "replace").strip() or "<empty>"
        error_class = errors.classify_http_status(status) if status != 200 else errors.VolcUnknownError
        raise error_class(f"{action}: answer is not a JSON envelope: {snippet!r}", http_status=status)

    metadata = envelope.get("ResponseMetadata")
    gateway_error = metadata.get("Error") if isinstance(metadata, dict) else None
    if isinstance(gateway_error, dict) and gateway_error:
        gateway_code = str(gateway_error.get("Code") or gateway_error.get("CodeN") or "Unknown")
        raise errors.classify_gateway_code(gateway_code, status)(
            f"{action}: {gateway_error.get('Message') or gateway_code}",
            code=gateway_code,
            http_status=status,
            request_id=metadata.get("RequestId") if isinstance(metadata, dict) else None,
        )

    raw_code = envelope.get("code")
    request_id = envelope.get("request_id")
    try:
        code = int(raw_code) if raw_code is not None else None
    except (TypeError, ValueError):
        code = None
    if code == errors.SUCCESS_CODE and status == 200:
        return envelope
    message = str(envelope.get("message") or "no message")
    if code is None:
        error_class = errors.classify_http_status(status) if status != 200 else errors.VolcUnknownError
        raise error_class(
            f"{action}: answer without a code: {message}", http_status=status, request_id=request_id
        )
    error_class = errors.classify_service_code(code, status)
    data = envelope.get("data")
    task_done = isinstance(data, dict) and data.get("status") == "done"
    # A query about a task that ended badly is the task's failure, never a reason to ask again; a
    # finer task failure (moderation) keeps its class.
    task_failed = task_done or error_class is errors.VolcUnknownError
    if failure_is_task and task_failed and not issubclass(error_class, errors.VolcTaskFailedError):
        error_class = errors.VolcTaskFailedError
    raise error_class(f"{action}: {message}", code=code, http_status=status, request_id=request_id)
