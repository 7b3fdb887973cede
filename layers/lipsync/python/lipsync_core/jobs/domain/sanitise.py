"""Error text made fit to leave the stack: a service's or library's message keeps its code and meaning
and loses what only describes our insides (file paths, URLs with their signatures, memory addresses,
tracebacks); it is one line, valid UTF-8 and length-bounded. Applied wherever an error becomes public:
the job record's ``error``, the Failed event, and rejection reasons."""

from __future__ import annotations

import re

from .documents import MAX_MESSAGE

_TRACEBACK = re.compile(r"Traceback \(most recent call last\):.*", re.S)
# scheme://host kept (it says which service), path and query (presigned signatures) dropped
_URL = re.compile(r"\b(?P<base>[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s'\"<>?#]*)[^\s'\"<>]*")
_WINDOWS_PATH = re.compile(r"\b[A-Za-z]:\\[^\s'\"<>]*")
# An absolute path of at least two segments, not part of a word, a URL or a relative path.
_POSIX_PATH = re.compile(r"(?<![\w:/.<-])/(?:[\w.@+~-]+/)+[\w.@+~-]*")
_ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")
_SPACE = re.compile(r"\s+")


def sanitise(message: str, limit: int = MAX_MESSAGE) -> str:
    """``message`` without internal details, on one line, at most ``limit`` characters."""
    text = message.encode("utf-8", "replace").decode("utf-8")
    text = _TRACEBACK.sub("(traceback removed)", text)
    text = _URL.sub(lambda match: f"{match['base']}/…", text)
    text = _WINDOWS_PATH.sub("<path>", text)
    text = _POSIX_PATH.sub("<path>", text)
    text = _ADDRESS.sub("<address>", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
