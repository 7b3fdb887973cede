"""How every command speaks: results on stdout (plain lines, or one JSON document with ``--json``),
errors on stderr in one sentence, nothing hard-wrapped (a pasted command or a JSON line must survive a
pipe or a narrow terminal), progress only on a terminal."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

# Exit codes (the README lists them too).
OK = 0
JOB_FAILED = 1  # the job ended FAILED or CANCELLED
USAGE = 2  # bad arguments, files, options or media, or a request the API refused as invalid (400)
API = 3  # the stack or endpoint could not be reached or refused the call (403, 404, 409, 5xx)
TIMEOUT = 4  # `wait --timeout` gave up; the job goes on
CHECK_FAILED = 5  # `doctor` found something to fix before a deploy
INTERRUPTED = 130  # Ctrl-C
INTERNAL = 70  # a bug in lipsync (EX_SOFTWARE)

EXIT_CODES = {
    OK: "success",
    JOB_FAILED: "the job failed or was cancelled",
    USAGE: "a mistake in the command, its files or options, or a request the API refused as invalid",
    API: "the stack or endpoint could not be reached, or refused the call",
    TIMEOUT: "waiting timed out (the job goes on)",
    CHECK_FAILED: "lipsync doctor found something to fix before a deploy",
    INTERNAL: "a bug in lipsync (LIPSYNC_DEBUG=1 shows the traceback)",
    INTERRUPTED: "interrupted with Ctrl-C",
}


class InputError(ValueError):
    """A mistake in the command, its files or its options, said in one sentence (exit code 2)."""


class Output:
    def __init__(self, command: str, *, as_json: bool = False, quiet: bool = False) -> None:
        self.command = command
        self.as_json = as_json
        self.quiet = quiet
        # soft_wrap: rich never inserts newlines; the terminal wraps, a pipe gets whole lines.
        self.console = Console(soft_wrap=True, highlight=False, quiet=as_json or quiet)
        self.stderr = Console(stderr=True, soft_wrap=True, highlight=False)

    @property
    def interactive(self) -> bool:
        """Spinners and progress bars: for a person at a terminal, never in a pipe or for scripts."""
        return self.console.is_terminal and not (self.as_json or self.quiet)

    def say(self, text: str) -> None:
        """A line for people (not with --json or --quiet)."""
        self.console.print(text)

    def log(self, text: str) -> None:
        """A diagnostic line on stderr (not with --quiet), so stdout stays the result alone."""
        if not self.quiet:
            self.stderr.print(text, markup=False)

    def result(self, document: Any, *, human: str | None = None, quiet: str | None = None) -> None:
        """The command's result: the JSON document, the quiet form (one bare value), or ``human``."""
        if self.as_json:
            sys.stdout.write(json.dumps(document, default=str) + "\n")
        elif self.quiet:
            if quiet is not None:
                sys.stdout.write(quiet + "\n")
        elif human is not None:
            self.console.print(human)
        sys.stdout.flush()

    def error(self, message: str) -> None:
        """One plain sentence on stderr, never markup-interpreted."""
        self.stderr.print(f"lipsync {self.command}: {message}", markup=False)
