"""The emulated lip-sync service: task state, limits, inputs and results. No HTTP here."""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import secrets
import shutil
import tempfile
import threading
from collections import Counter
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from lipsync_core.volc.models import OPTION_SPECS, Mode

from . import errors
from .clock import EmulatorClock
from .faults import TASK_FAULTS, FaultInjector
from .input_limits import InputLimits
from .rate_limit import QpsLimiter
from .rendering import Limits, Retime, download, probe_audio, probe_video, render

TASK_LIFETIME_SECONDS = 12 * 3600
ACTIVE_STATUSES = ("in_queue", "generating")


@dataclass(frozen=True)
class ServiceConfig:
    queue_seconds: float = 2.0  # time in_queue before generating starts
    generating_base_seconds: float = 3.0  # plus generating_per_voice_second for each second of voice
    generating_per_voice_second: float = 2.0
    task_lifetime_seconds: float = TASK_LIFETIME_SECONDS
    result_url_ttl_seconds: float = 3600.0
    qps: float = 0  # per req_key and action; 0: unlimited
    concurrency: int = 0  # unfinished tasks per req_key; 0: unlimited
    render_workers: int = 2
    # Encoding holds the GIL for much of its time: rendering in worker processes leaves this
    # process (with, locally, the whole pipeline in it) free to answer requests. Opt-in: like any
    # multiprocessing start method but fork, it re-imports the main script (which needs a main guard).
    render_in_processes: bool = False
    limits: Limits = field(default_factory=Limits)
    input_limits: InputLimits = field(default_factory=InputLimits)  # durations per mode


@dataclass
class Task:
    task_id: str
    mode: Mode
    video_url: str
    audio_url: str
    options: dict[str, Any]
    created_at: float
    voice_seconds: float
    generating_seconds: float
    work_dir: Path
    render_state: str = "pending"  # pending | done | failed
    render_error: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    forced_status: str | None = None  # expired | not_found | cancelled (from faults or cancel)
    failure: tuple[int, str] | None = None  # set when the task ends without a video

    @property
    def output_path(self) -> Path:
        return self.work_dir / "result.mp4"

    def retime(self) -> Retime:
        if self.mode is Mode.BASIC or self.options.get("align_audio") is False:
            return Retime.HOLD
        return Retime.PING_PONG if self.options.get("align_audio_reverse") else Retime.LOOP


class LipSyncService:
    def __init__(
        self,
        *,
        config: ServiceConfig | None = None,
        clock: EmulatorClock | None = None,
        faults: FaultInjector | None = None,
        work_dir: Path | None = None,
        seed: int = 0,
    ) -> None:
        self.config = config or ServiceConfig()
        self.clock = clock or EmulatorClock()
        self.faults = faults or FaultInjector(seed=seed)
        self._own_work_dir = work_dir is None
        self.work_dir = work_dir or Path(tempfile.mkdtemp(prefix="lipsync-emulator-"))
        self.public_url = ""  # set by the server once it is bound
        self._tasks: dict[str, Task] = {}
        self._submissions: list[dict[str, Any]] = []
        self._throttled: Counter[tuple[str, int]] = Counter()  # (action, 50429 or 50430)
        self._lock = threading.Lock()
        self.qps_limiter = QpsLimiter(self.config.qps)
        self._renderer = ThreadPoolExecutor(self.config.render_workers, thread_name_prefix="emulator-render")
        self._processes = (
            render_processes(self.config.render_workers) if self.config.render_in_processes else None
        )
        self._renders: dict[str, Future[None]] = {}
        self._url_key = secrets.token_bytes(32)
        self._task_ids = (7_300_000_000_000_000_000 + seed * 1_000_003 + i for i in range(10**12))

    def close(self) -> None:
        self._renderer.shutdown(wait=True, cancel_futures=True)
        if self._processes is not None:
            self._processes.shutdown(wait=True, cancel_futures=True)
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    # -- actions ---------------------------------------------------------------------------------

    def check_qps(self, req_key: str, action: str) -> None:
        if not self.qps_limiter.allow(f"{req_key}/{action}"):
            raise errors.qps_limited()

    def submit(self, body: dict[str, Any]) -> dict[str, Any]:
        mode = _mode_of(body)
        video_url = _required_string(body, "url")
        audio_url = _required_string(body, "pure_audio_url")
        options = _options_of(body, mode)
        self.check_qps(mode.req_key, "CVSubmitTask")
        if self.config.concurrency and self.active_tasks(mode) >= self.config.concurrency:
            raise errors.concurrency_limited()

        task_id = str(next(self._task_ids))
        task_dir = self.work_dir / task_id
        task_dir.mkdir(parents=True)
        try:
            limits = self.config.limits
            download(
                video_url,
                task_dir / "template",
                max_bytes=limits.max_video_bytes,
                what="video",
                timeout=limits.download_timeout,
            )
            download(
                audio_url,
                task_dir / "voice",
                max_bytes=limits.max_audio_bytes,
                what="audio",
                timeout=limits.download_timeout,
            )
            video = probe_video(task_dir / "template", limits)
            voice = probe_audio(task_dir / "voice")
            self.config.input_limits.of(mode).check(
                mode, voice_seconds=voice.duration, video_seconds=video.duration
            )
            start = float(options.get("templ_start_seconds", 0.0))
            if video.duration and start >= video.duration:
                raise errors.invalid_args(
                    f"templ_start_seconds={start} is beyond the video's duration ({video.duration:.2f}s)"
                )
        except BaseException:
            shutil.rmtree(task_dir, ignore_errors=True)
            raise

        config = self.config
        task = Task(
            task_id=task_id,
            mode=mode,
            video_url=video_url,
            audio_url=audio_url,
            options=options,
            created_at=self.clock.now(),
            voice_seconds=voice.duration,
            generating_seconds=config.generating_base_seconds
            + config.generating_per_voice_second * voice.duration,
            work_dir=task_dir,
        )
        with self._lock:
            self._tasks[task_id] = task
            self._submissions.append(
                {
                    "task_id": task_id,
                    "req_key": mode.req_key,
                    "url": video_url,
                    "pure_audio_url": audio_url,
                    "options": options,
                    "at": task.created_at,
                }
            )
        future = self._renderer.submit(self._render, task)
        with self._lock:
            self._renders[task_id] = future
        return {"task_id": task_id}

    def get_result(self, body: dict[str, Any]) -> tuple[int, str, dict[str, Any] | None]:
        """Returns (code, message, data) for the envelope."""
        mode = _mode_of(body)
        task_id = _required_string(body, "task_id")
        aigc_tagged = _aigc_meta_requested(body.get("req_json"))
        self.check_qps(mode.req_key, "CVGetResult")
        task = self._tasks.get(task_id)
        if task is None or task.mode is not mode:
            return 10000, "Success", _data("not_found")
        self._apply_task_faults(task)
        status, progress = self.status_of(task)
        if status == "done" and task.failure is not None:
            code, message = task.failure
            if code in errors.MODERATION_CODES:  # answered without data, as observed
                return code, message, None
            return code, message, _data("done", progress=progress)
        if status != "done":
            return 10000, "Success", _data(status, progress=progress)
        resp = {"progress": 100, "vid": f"v0{task_id[-12:]}", "video_meta": task.meta}
        return (
            10000,
            "Success",
            {
                "status": "done",
                "url": self.result_url(task_id),
                "resp_data": json.dumps(resp, separators=(",", ":")),
                "aigc_meta_tagged": aigc_tagged,
                "binary_data_base64": [],
                "image_urls": None,
            },
        )

    def cancel(self, body: dict[str, Any]) -> None:
        mode = _mode_of(body)
        task = self._tasks.get(_required_string(body, "task_id"))
        if task is None or task.mode is not mode:
            raise errors.invalid_args("task not found")
        if self.status_of(task)[0] in ACTIVE_STATUSES:
            task.forced_status = "cancelled"

    # -- task life -------------------------------------------------------------------------------

    def status_of(self, task: Task) -> tuple[str, float]:
        age = self.clock.now() - task.created_at
        if age > self.config.task_lifetime_seconds or task.forced_status in ("not_found", "cancelled"):
            return "not_found", 0.0
        if task.forced_status == "expired":
            return "expired", 0.0
        if task.failure is not None:
            return "done", 100.0
        queue = self.config.queue_seconds
        if age < queue:
            return "in_queue", 0.0
        fraction = (age - queue) / task.generating_seconds
        if fraction < 1.0 or task.render_state == "pending":
            return "generating", round(min(99.0, fraction * 100), 1)
        if task.render_state == "failed":
            task.failure = (50500, f"Internal Error: render failed: {task.render_error}")
        return "done", 100.0

    def active_tasks(self, mode: Mode) -> int:
        with self._lock:
            tasks = [t for t in self._tasks.values() if t.mode is mode]
        return sum(1 for t in tasks if self.status_of(t)[0] in ACTIVE_STATUSES)

    def _apply_task_faults(self, task: Task) -> None:
        rule = self.faults.pick(TASK_FAULTS, action="CVGetResult", task_id=task.task_id)
        if rule is None:
            return
        if rule.fault == "task_failed":
            task.failure = (rule.code, errors.reported(rule.code, rule.message).message)
        else:
            task.forced_status = rule.fault

    def _render(self, task: Task) -> None:
        try:
            job = partial(
                render,
                task.work_dir / "template",
                task.work_dir / "voice",
                task.output_path,
                retime=task.retime(),
                start_seconds=float(task.options.get("templ_start_seconds", 0.0)),
            )
            task.meta = job() if self._processes is None else self._processes.submit(job).result()
            task.render_state = "done"
        except Exception as exc:
            task.render_error = str(exc)[:300]
            task.render_state = "failed"

    # -- results ---------------------------------------------------------------------------------

    def _url_signature(self, task_id: str, expires: int) -> str:
        return hmac.new(self._url_key, f"{task_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def result_url(self, task_id: str) -> str:
        expires = int(self.clock.now() + self.config.result_url_ttl_seconds)
        sig = self._url_signature(task_id, expires)
        return f"{self.public_url}/_emulator/results/{task_id}.mp4?expires={expires}&sig={sig}"

    def result_file(self, task_id: str, expires: str, sig: str) -> Path | None:
        """The result's path when the URL is genuine and unexpired, else ``None`` (a 403)."""
        try:
            expires_at = int(expires)
        except ValueError:
            return None
        if not hmac.compare_digest(self._url_signature(task_id, expires_at), sig):
            return None
        if self.clock.now() > expires_at:
            return None
        task = self._tasks.get(task_id)
        if task is None or task.render_state != "done":
            return None
        return task.output_path

    # -- inspection ------------------------------------------------------------------------------

    def count_answer(self, action: str, code: int) -> None:
        """Count the throttled answers (50429 QPS, 50430 concurrency) given, per action."""
        if code in (errors.QPS_LIMITED, errors.CONCURRENCY_LIMITED):
            with self._lock:
                self._throttled[(action, code)] += 1

    def throttles(self) -> dict[str, Any]:
        with self._lock:
            counted = dict(self._throttled)
        by_action: dict[str, dict[str, int]] = {}
        for (action, code), count in sorted(counted.items()):
            by_action.setdefault(action, {})[str(code)] = count
        return {"total": sum(counted.values()), "by_action": by_action}

    def submissions(self) -> dict[str, Any]:
        with self._lock:
            items = list(self._submissions)
        pairs = Counter((s["url"], s["pure_audio_url"]) for s in items)
        return {
            "total": len(items),
            "by_inputs": [{"url": u, "pure_audio_url": a, "count": n} for (u, a), n in pairs.items()],
            "items": items,
        }

    def busy_intervals(self) -> list[tuple[float, float]]:
        """When each task was unfinished at the service, in wall-clock epoch seconds: from its submission
        to the end of its schedule (its render, which runs meanwhile, aside)."""
        with self._lock:
            tasks = list(self._tasks.values())
        queue = self.config.queue_seconds
        return sorted(
            (self.clock.real(t.created_at), self.clock.real(t.created_at + queue + t.generating_seconds))
            for t in tasks
        )

    def describe(self, task: Task) -> dict[str, Any]:
        status, progress = self.status_of(task)
        return {
            "task_id": task.task_id,
            "req_key": task.mode.req_key,
            "status": status,
            "progress": progress,
            "render_state": task.render_state,
            "render_error": task.render_error,
            "failure": task.failure,
            "forced_status": task.forced_status,
            "voice_seconds": task.voice_seconds,
            "created_at": task.created_at,
            "options": task.options,
            "meta": task.meta,
        }

    def tasks(self) -> list[dict[str, Any]]:
        with self._lock:
            tasks = list(self._tasks.values())
        return [self.describe(t) for t in tasks]

    def task(self, task_id: str) -> dict[str, Any] | None:
        task = self._tasks.get(task_id)
        return self.describe(task) if task else None

    def wait_rendered(self, timeout: float = 60.0) -> bool:
        """For tests and benchmarks: block until every render submitted so far has finished."""
        with self._lock:
            futures = list(self._renders.values())
        _, not_done = wait(futures, timeout=timeout)
        return not not_done


def render_processes(workers: int) -> ProcessPoolExecutor:
    """Worker processes forked from a server that has imported the media code once (PyAV, numpy):
    a worker starts in milliseconds, and nothing is forked from this threaded process itself."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["lipsync.emulator.rendering"])
    pool = ProcessPoolExecutor(workers, mp_context=context)
    for _ in range(workers):  # start them now, while the caller sets up the rest
        pool.submit(int)
    return pool


def _data(status: str, *, progress: float = 0.0) -> dict[str, Any]:
    return {
        "status": status,
        "url": "",
        "resp_data": json.dumps({"progress": progress}, separators=(",", ":")),
        "binary_data_base64": [],
        "image_urls": None,
    }


def _mode_of(body: dict[str, Any]) -> Mode:
    req_key = body.get("req_key")
    if req_key is None or req_key == "":
        raise errors.missing_args("req_key is required")
    if not isinstance(req_key, str):
        raise errors.parse_args("req_key must be a string")
    for mode in Mode:
        if req_key == mode.req_key:
            return mode
    raise errors.invalid_args(f"unknown req_key {req_key!r}")


def _required_string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None or value == "":
        raise errors.missing_args(f"{name} is required")
    if not isinstance(value, str):
        raise errors.parse_args(f"{name} must be a string")
    return value


def _options_of(body: dict[str, Any], mode: Mode) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for name, spec in OPTION_SPECS.items():
        if name not in body or body[name] is None:
            continue
        value = body[name]
        if spec.kind is bool and not isinstance(value, bool):
            raise errors.parse_args(f"{name} must be a boolean")
        if spec.kind is float and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise errors.parse_args(f"{name} must be a number")
        if mode not in spec.modes:
            raise errors.invalid_args(f"{name} is not supported by {mode.req_key}")
        if spec.kind is float and value < 0:
            raise errors.invalid_args(f"{name} must not be negative")
        options[name] = value
    return options


def _aigc_meta_requested(req_json: Any) -> bool:
    if req_json is None or req_json == "":
        return False
    if not isinstance(req_json, str):
        raise errors.parse_args("req_json must be a JSON string")
    try:
        parsed = json.loads(req_json)
    except ValueError:
        raise errors.parse_args("req_json is not valid JSON") from None
    return isinstance(parsed, dict) and isinstance(parsed.get("aigc_meta"), dict)
