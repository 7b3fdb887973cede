"""Why a file cannot serve as a video or a voice, in one sentence (shared by the probes that read
headers on Lambda and the local ones that decode whole files)."""

from __future__ import annotations

from enum import StrEnum


class MediaProblem(StrEnum):
    EMPTY = "empty"  # no bytes, no stream of the kind, or a stream without frames or samples
    UNDECODABLE = "undecodable"
    TOO_LARGE = "too_large"


class MediaError(ValueError):
    """A file that cannot serve as the video or the voice; ``problem`` says which way."""

    def __init__(self, problem: MediaProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        self.message = message
