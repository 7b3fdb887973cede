"""``LipSync``: the jobs API of a deployed stack (found by its CloudFormation name, calls signed with
SigV4 from the user's AWS credentials) or of ``lipsync up`` (its URL), one class for both."""

from __future__ import annotations

import builtins
import json
import mimetypes
import os
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

from .waiting import FIRST_SECONDS, MAX_SECONDS, Backoff, retry_after_seconds

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
BUSY = frozenset({429, 502, 503, 504})  # throttled, or the integration failed or timed out
POST_RETRIES = 2  # a POST with its Idempotency-Key is safe to repeat
API_OUTPUT = "ApiUrl"  # the stack's CloudFormation output holding the API's base URL
DEFAULT_REGION = "us-east-1"
CHUNK = 1 << 20


class LipSyncError(Exception):
    """A call the API refused (``status`` is its HTTP status, ``errors`` its field-by-field reasons),
    or a stack or endpoint that cannot be reached."""

    def __init__(
        self, message: str, *, status: int | None = None, errors: Any = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors: builtins.list[dict[str, Any]] = list(errors or [])
        self.retry_after = retry_after  # seconds the API asked the caller to wait, if it said

    @property
    def busy(self) -> bool:
        """The API was throttled or briefly unavailable: the same call may succeed later."""
        return self.status in BUSY


class JobTimeoutError(LipSyncError):
    """``wait`` gave up before the job ended (the job goes on)."""


class _SigV4(requests.auth.AuthBase):
    """Signs each request for API Gateway (``execute-api``) with botocore's own signer. Only the
    headers that survive proxies are signed: Host, Content-Type and the X-Amz ones the signer adds."""

    def __init__(self, credentials: Callable[[], ReadOnlyCredentials], region: str) -> None:
        self._credentials = credentials
        self.region = region

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        signed_headers = {
            name: value for name, value in request.headers.items() if name.lower() == "content-type"
        }
        aws = AWSRequest(method=request.method, url=request.url, data=request.body, headers=signed_headers)
        SigV4Auth(self._credentials(), "execute-api", self.region).add_auth(aws)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in aws.headers:
                request.headers[name] = aws.headers[name]
        return request


def _region_of(url: str) -> str | None:
    """``https://abc.execute-api.eu-west-1.amazonaws.com/prod/`` is in eu-west-1."""
    parts = (urlsplit(url).hostname or "").split(".")
    return parts[2] if len(parts) > 3 and parts[1] == "execute-api" else None


def _content_type(path: Path, kind: str, fallback: str) -> str:
    guessed = mimetypes.guess_type(path.name)[0]
    return guessed if guessed and guessed.split("/")[0] == kind else fallback


class LipSync:
    """The jobs API. ``LipSync("http://127.0.0.1:3000")`` talks to ``lipsync up``;
    ``LipSync.for_stack("LipSync")`` to a deployed stack. Calls are SigV4-signed when ``sign`` is True,
    or, by default, whenever AWS credentials can be found (``lipsync up`` ignores or checks them)."""

    def __init__(
        self,
        endpoint: str,
        *,
        sign: bool | None = None,
        session: Any = None,
        region: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()
        if sign is not False:
            import boto3

            session = session or boto3.Session()
            credentials = session.get_credentials()
            if credentials is None and sign:
                raise LipSyncError(
                    "no AWS credentials found to sign with (set AWS_PROFILE or AWS_ACCESS_KEY_ID)"
                )
            if credentials is not None:
                region = region or _region_of(self.endpoint) or session.region_name or DEFAULT_REGION
                self._http.auth = _SigV4(credentials.get_frozen_credentials, region)

    @classmethod
    def for_stack(
        cls, stack_name: str, *, session: Any = None, region: str | None = None, **kwargs: Any
    ) -> LipSync:
        """The stack's API, read from its CloudFormation outputs with the user's credentials."""
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError

        session = session or boto3.Session(region_name=region)
        try:
            stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
        except ClientError as error:
            raise LipSyncError(
                f"cannot read stack {stack_name}: {error.response['Error']['Message']}"
            ) from None
        except BotoCoreError as error:
            raise LipSyncError(f"cannot read stack {stack_name}: {error}") from None
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        if API_OUTPUT not in outputs:
            raise LipSyncError(f"stack {stack_name} has no {API_OUTPUT} output; is it a lip-sync stack?")
        return cls(outputs[API_OUTPUT], sign=True, session=session, region=region, **kwargs)

    # -- the API ---------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = f"{self.endpoint}{path}"
        try:
            answer = self._http.request(method, url, timeout=self.timeout, **kwargs)
        except requests.RequestException as error:
            raise LipSyncError(f"cannot reach {self.endpoint}: {type(error).__name__}", status=503) from None
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.status_code >= 400:
            message = body.get("message") if isinstance(body, dict) else None
            raise LipSyncError(
                str(message or f"HTTP {answer.status_code} from {method} {path}"),
                status=answer.status_code,
                errors=body.get("errors") if isinstance(body, dict) else None,
                retry_after=retry_after_seconds(answer.headers.get("Retry-After")),
            )
        return body

    def _post(self, path: str, *, idempotency_key: str | None, headers: dict[str, str], **kwargs: Any) -> Any:
        """A POST that creates something, always with an ``Idempotency-Key`` (one is made when the caller
        gives none), so that repeating it after a throttle, a 5xx or a lost answer creates nothing twice:
        API Gateway answers 504 after 29 s even when the function went on to create the job."""
        headers = {**headers, "Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        backoff = Backoff()
        for attempt in range(POST_RETRIES + 1):
            try:
                return self._call("POST", path, headers=headers, **kwargs)
            except LipSyncError as error:
                if not error.busy or attempt == POST_RETRIES:
                    raise
                self._sleep(backoff.delay(error.retry_after))
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def submit(
        self, request: Mapping[str, Any] | None = None, *, idempotency_key: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Start a job: ``submit(mode="lite", video="s3://...", audio="https://...", options={...})``
        or ``submit({...})``. The same ``idempotency_key`` and request return the same job."""
        body = {**(request or {}), **fields}
        return dict(self._post("/jobs", idempotency_key=idempotency_key, headers={}, json=body))

    def get(self, job_id: str) -> dict[str, Any]:
        """The job's status, progress, error and (once it succeeded) a download URL."""
        return dict(self._call("GET", f"/jobs/{job_id}"))

    def list(
        self, *, status: str | None = None, limit: int = 20, next_token: str | None = None
    ) -> dict[str, Any]:
        """One page of jobs, newest first: ``{"jobs": [...], "next_token": ...}``."""
        params: dict[str, Any] = {"limit": limit}
        if status:
            params["status"] = status
        if next_token:
            params["next_token"] = next_token
        return dict(self._call("GET", "/jobs", params=params))

    def iter_jobs(self, *, status: str | None = None, page_size: int = 50) -> Iterator[dict[str, Any]]:
        """Every job, newest first, page after page."""
        token = None
        while True:
            page = self.list(status=status, limit=page_size, next_token=token)
            yield from page["jobs"]
            token = page.get("next_token")
            if not token:
                return

    def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a job that has not ended (a finished job is a 409 :class:`LipSyncError`)."""
        return dict(self._call("DELETE", f"/jobs/{job_id}"))

    def queue(self) -> dict[str, Any]:
        """The line for the service's capacity, per mode and priority: ``{"modes": [{"mode", "waiting",
        "running", "slots", "oldest_wait_seconds", "estimated_drain_seconds", "priorities": [...]}]}``."""
        return dict(self._call("GET", "/queue"))

    def submit_batch(
        self, requests: Iterable[Mapping[str, Any]] | str, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Start one job per request (or per line of a JSON Lines text). Invalid lines are reported in
        ``line_errors`` by line number; the valid ones start. The same key and body: the same batch."""
        body = requests if isinstance(requests, str) else "\n".join(json.dumps(r) for r in requests)
        headers = {"Content-Type": "application/x-ndjson"}
        return dict(
            self._post("/batches", idempotency_key=idempotency_key, headers=headers, data=body.encode())
        )

    def get_batch(self, batch_id: str) -> dict[str, Any]:
        """The batch's progress: counts by status, its job ids, its invalid lines."""
        return dict(self._call("GET", f"/batches/{batch_id}"))

    def wait(
        self,
        job_id: str,
        *,
        timeout: float | None = None,
        interval: float = FIRST_SECONDS,
        max_interval: float = MAX_SECONDS,
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Follow the job until it ends; ``on_progress(job)`` is called on every change. Checks start
        ``interval`` seconds apart and grow to ``max_interval``; a throttled check waits as long as the
        API asks (``Retry-After``) and goes on."""
        deadline = None if timeout is None else time.monotonic() + timeout
        seen: tuple[Any, ...] | None = None
        backoff = Backoff(first=interval, cap=max(interval, max_interval))
        while True:
            retry_after = None
            try:
                job = self.get(job_id)
            except LipSyncError as error:
                if not error.busy:
                    raise
                retry_after = error.retry_after if error.retry_after is not None else 0.0
            else:
                state = (job.get("status"), job.get("service_status"), job.get("progress"))
                if on_progress is not None and state != seen:
                    on_progress(job)
                seen = state
                if job.get("status") in TERMINAL:
                    return job
            if deadline is not None and time.monotonic() >= deadline:
                status = "unknown (the API was busy)" if retry_after is not None else job.get("status")
                raise JobTimeoutError(f"job {job_id} is still {status} after {timeout} s")
            self._sleep(backoff.delay(retry_after))

    @staticmethod
    def _sleep(seconds: float) -> None:
        time.sleep(seconds)  # the polling rate, not synchronisation

    def upload(
        self, video: str | os.PathLike[str] | None = None, audio: str | os.PathLike[str] | None = None
    ) -> dict[str, str]:
        """PUT a video and/or a voice track to the presigned URLs of ``POST /uploads``; returns their
        ``s3://`` URIs as ``{"video": ..., "audio": ...}`` (those given), ready for :meth:`submit`."""
        paths = {name: Path(p) for name, p in (("video", video), ("audio", audio)) if p is not None}
        if not paths:
            raise ValueError("give a video, an audio track, or both")
        kinds = {"video": ("video", "video/mp4"), "audio": ("audio", "audio/wav")}
        urls = self._call(
            "POST",
            "/uploads",
            json={f"{name}_content_type": _content_type(path, *kinds[name]) for name, path in paths.items()},
        )
        for name, path in paths.items():
            with path.open("rb") as body:
                try:
                    answer = requests.put(
                        urls[name]["upload_url"], data=body, headers=urls[name]["headers"], timeout=600
                    )
                except requests.RequestException as error:
                    raise LipSyncError(f"uploading {path.name} failed: {type(error).__name__}") from None
            if answer.status_code >= 400:
                raise LipSyncError(f"uploading {path.name} failed: HTTP {answer.status_code}")
        return {name: str(urls[name]["s3_uri"]) for name in paths}

    def download(self, job: str | Mapping[str, Any], destination: str | os.PathLike[str]) -> Path:
        """Save a succeeded job's result to ``destination``: a file, or a folder to put
        ``<job_id>.mp4`` in (an existing one, or any path ending with ``/``, made if need be). The file
        appears whole or not at all."""
        record = self.get(job) if isinstance(job, str) else job
        output = record.get("output") or {}
        if record.get("status") != "SUCCEEDED" or not output.get("url"):
            raise LipSyncError(f"job {record.get('job_id')} has no result ({record.get('status')})")
        target = Path(destination)
        # A path ending with a separator names a folder, as with cp: made if it does not exist yet.
        if str(destination).endswith(("/", os.sep)):
            target.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            target = target / f"{record['job_id']}.mp4"
        partial = target.with_name(f".{target.name}.part")
        try:
            with requests.get(output["url"], stream=True, timeout=600) as answer:
                if answer.status_code >= 400:
                    raise LipSyncError(f"downloading the result failed: HTTP {answer.status_code}")
                with partial.open("wb") as handle:
                    for chunk in answer.iter_content(CHUNK):
                        handle.write(chunk)
            partial.replace(target)
        except requests.RequestException as error:
            raise LipSyncError(f"downloading the result failed: {type(error).__name__}") from None
        finally:
            partial.unlink(missing_ok=True)
        return target
