"""How long the emulated service lets inputs be, per mode, and how it refuses them.

None of these is in the contract: integrators report them (``../shared/volcengine/README.md``, "Limits
reported by integrators"), so each is a setting whose default is the reported value. A voice outside
the mode's range, or a video over ``max_video_seconds`` (unset by default: under 60 s is only
*recommended*), is refused at submit with the code integrators see: 50214 (too long) or 50215
(invalid inputs, for a voice under the minimum).

Spec syntax (``--input-limits``): ``mode.setting=value`` pairs separated by ``,``, e.g.
``lite.max_voice_seconds=30,basic.max_video_seconds=60``; ``none`` lifts a limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

from lipsync_core.volc.models import Mode

from . import errors


@dataclass(frozen=True)
class ModeLimits:
    min_voice_seconds: float = 1.0
    max_voice_seconds: float | None = 240.0
    max_video_seconds: float | None = None

    def check(self, mode: Mode, *, voice_seconds: float, video_seconds: float) -> None:
        """Raise the service's error for an input outside these limits."""
        if voice_seconds < self.min_voice_seconds:
            least = self.min_voice_seconds
            raise errors.invalid_inputs(
                f"the voice lasts {voice_seconds:.2f}s; {mode.value} needs at least {least:g}s"
            )
        if self.max_voice_seconds is not None and voice_seconds > self.max_voice_seconds:
            raise errors.video_too_long(
                f"the voice lasts {voice_seconds:.2f}s; {mode.value} allows {self.max_voice_seconds:g}s"
            )
        if self.max_video_seconds is not None and video_seconds > self.max_video_seconds:
            raise errors.video_too_long(
                f"the video lasts {video_seconds:.2f}s; {mode.value} allows {self.max_video_seconds:g}s"
            )


def _reported() -> dict[Mode, ModeLimits]:
    return {Mode.LITE: ModeLimits(max_voice_seconds=240.0), Mode.BASIC: ModeLimits(max_voice_seconds=150.0)}


@dataclass(frozen=True)
class InputLimits:
    """Per mode; the defaults are the integrators' figures (Lite voices 1-240 s, Basic 1-150 s)."""

    modes: dict[Mode, ModeLimits] = field(default_factory=_reported)

    def of(self, mode: Mode) -> ModeLimits:
        return self.modes.get(mode, ModeLimits())

    def with_spec(self, spec: str) -> InputLimits:
        """These limits changed by an ``--input-limits`` spec (see the module's docstring)."""
        modes = dict(self.modes)
        names = {f.name for f in fields(ModeLimits)}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            key, sep, value = item.partition("=")
            mode_name, dot, setting = key.strip().partition(".")
            if not sep or not dot or setting not in names:
                raise ValueError(
                    f"expected mode.setting=value in {item!r}; settings: {', '.join(sorted(names))}"
                )
            mode = Mode.parse(mode_name)
            number = None if value.strip().lower() == "none" else float(value)
            if number is None and setting == "min_voice_seconds":
                raise ValueError("min_voice_seconds needs a number")
            changed: dict[str, Any] = {setting: number}
            modes[mode] = replace(modes.get(mode, ModeLimits()), **changed)
        return InputLimits(modes)
