"""The service's limits as the stack is configured with them: per mode, requests per second for each
action and unfinished tasks. Pure configuration; ``access.flow_control`` enforces it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

from lipsync_core.volc.models import Mode

SUBMIT = "CVSubmitTask"
POLL = "CVGetResult"
ACTIONS = (SUBMIT, POLL)


@dataclass(frozen=True)
class ModeLimits:
    """One mode's limits; 0 means unlimited."""

    submit_qps: float = 0
    poll_qps: float = 0
    max_unfinished: int = 0

    def rate(self, action: str) -> float:
        return self.submit_qps if action == SUBMIT else self.poll_qps


@dataclass(frozen=True)
class FlowLimits:
    """Limits per mode (``lite``, ``basic``), as the ``FLOW_LIMITS`` environment variable carries them:
    ``{"lite": {"submit_qps": 2, "poll_qps": 2, "max_unfinished": 5}, "basic": {...}}``."""

    by_mode: dict[str, ModeLimits]

    @classmethod
    def parse(cls, text: str) -> FlowLimits:
        raw = json.loads(text) if text.strip() else {}
        if not isinstance(raw, dict):
            raise ValueError("FLOW_LIMITS must be a JSON object of modes")
        by_mode = {}
        for mode, values in raw.items():
            Mode.parse(mode)  # an unknown mode is a configuration mistake: fail loudly
            limits = ModeLimits(**values)
            if limits.submit_qps < 0 or limits.poll_qps < 0 or limits.max_unfinished < 0:
                raise ValueError(f"flow limits for {mode} must not be negative")
            by_mode[mode] = limits
        return cls(by_mode)

    @classmethod
    def uniform(cls, *, qps: float, max_unfinished: int) -> FlowLimits:
        """The same limits for every mode and both actions (as the emulator applies them)."""
        limits = ModeLimits(submit_qps=qps, poll_qps=qps, max_unfinished=max_unfinished)
        return cls({mode.value: limits for mode in Mode})

    def to_json(self) -> str:
        return json.dumps({mode: asdict(limits) for mode, limits in self.by_mode.items()}, sort_keys=True)

    def for_mode(self, mode: str) -> ModeLimits:
        return self.by_mode.get(mode, ModeLimits())

    @property
    def enabled(self) -> bool:
        return any(limits != ModeLimits() for limits in self.by_mode.values())
