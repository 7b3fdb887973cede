"""Each function's AWS calls signed with its own role's credentials, as Lambda gives each function its
role's: the handlers run as threads of one process, so the credentials live in a context variable set
for the invocation, and every botocore session's default credentials read it when a request is signed.
Outside an invocation (the runtime itself, tests, the CLI) they fall back to the session's own: the
operator, who may do anything, as an account administrator would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from botocore.credentials import Credentials, ReadOnlyCredentials

from ..moto_patches import Patch, parameters

_ACTING: ContextVar[ReadOnlyCredentials | None] = ContextVar("lipsync_local_acting", default=None)


@contextmanager
def acting_as(credentials: ReadOnlyCredentials | None) -> Iterator[None]:
    """AWS calls in this context (and in contexts copied from it) sign with ``credentials``."""
    token = _ACTING.set(credentials)
    try:
        yield
    finally:
        _ACTING.reset(token)


class ContextCredentials(Credentials):  # type: ignore[misc]  # botocore is untyped
    """A session's credentials, or the acting principal's where one is set."""

    def __init__(self, fallback: Credentials | None) -> None:
        self._fallback = fallback  # first: botocore's __init__ reads the keys back
        super().__init__("", "", None, method="lipsync-local")

    def _current(self) -> ReadOnlyCredentials:
        acting = _ACTING.get()
        if acting is not None:
            return acting
        if self._fallback is None:
            return ReadOnlyCredentials("", "", None)
        return self._fallback.get_frozen_credentials()

    def get_frozen_credentials(self) -> ReadOnlyCredentials:
        return self._current()

    @property
    def access_key(self) -> str:
        return str(self._current().access_key)

    @access_key.setter
    def access_key(self, _: str) -> None:
        pass

    @property
    def secret_key(self) -> str:
        return str(self._current().secret_key)

    @secret_key.setter
    def secret_key(self, _: str) -> None:
        pass

    @property
    def token(self) -> str | None:
        token = self._current().token
        return None if token is None else str(token)

    @token.setter
    def token(self, _: str | None) -> None:
        pass


def _per_context(get_credentials: Callable[[Any], Credentials | None]) -> Callable[[Any], Credentials]:
    def get_context_credentials(session: Any) -> Credentials:
        found = get_credentials(session)
        return found if isinstance(found, ContextCredentials) else ContextCredentials(found)

    return get_context_credentials


# botocore asks its session for default credentials when it makes a client (explicit keys bypass it).
CREDENTIALS_PER_CONTEXT = Patch(
    "botocore.session:Session",
    "get_credentials",
    _per_context,
    why="each function signs with its own role's credentials",
    expects=(parameters("self"),),
)
