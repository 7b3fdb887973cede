from __future__ import annotations

from collections.abc import Iterator

import pytest

from lipsync.local.runtime import LocalRuntime


@pytest.fixture(scope="module")
def runtime() -> Iterator[LocalRuntime]:
    """The whole local runtime, once per module (each module starts from an empty moto)."""
    with LocalRuntime() as local:
        yield local
