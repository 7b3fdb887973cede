"""The layer's HTTP code (the Volcengine client, result URLs and inputs from URLs, webhooks) under the
oldest urllib3 the Lambda runtime's botocore may bring. botocore asks for ``urllib3>=1.25.4,<3,!=2.2.0``
on Python 3.10 and later, and Lambda does not document which one its python3.13 runtime bundles, so 1.26
can occur: the tests of that code run again, in a process of their own, with urllib3 1.26 ahead of this
environment's 2.x (in ``build/``, installed once and kept: a second run costs only the tests)."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
OLDEST = "1.26.20"  # the last 1.26 release
CACHE = ROOT / "build" / f"urllib3-{OLDEST}"
# The tests of every layer module that sends over urllib3: the Volcengine client and webhooks whole; the
# result URLs' pinned connections (which inputs from URLs read through too) by the handlers' tests that
# download over real HTTP, fail to resolve and are cut off.
HANDLERS = "tests/workflow/test_handlers.py::test_"
MODULES = (
    "tests/unit/test_volc_client.py",
    "tests/unit/test_webhook_delivery.py",
    "tests/unit/test_url_fields.py",
    f"{HANDLERS}copy_result_refreshes_an_expired_url",
    f"{HANDLERS}an_interrupted_download_leaves_nothing_behind",
    f"{HANDLERS}a_host_that_does_not_resolve_is_a_retryable_download_error",
    f"{HANDLERS}public_and_allowed_hosts_pass_and_the_address_is_pinned",
)
UNDER_OLDEST = f"""
import sys, urllib3, pytest
assert urllib3.__version__ == {OLDEST!r}, urllib3.__file__
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-o", "addopts=", *sys.argv[1:]]))
"""


def oldest_urllib3() -> Path:
    """A folder holding only urllib3 ``OLDEST`` (installed on first use, under a lock: workers share it)."""
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    with (CACHE.parent / f".urllib3-{OLDEST}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = CACHE / ".installed"
        if not stamp.exists():
            pip = (sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile")
            subprocess.run(
                [*pip, "--target", str(CACHE), f"urllib3=={OLDEST}"],
                check=True,
                capture_output=True,
                timeout=300,
            )
            stamp.touch()
    return CACHE


def test_the_layers_http_code_passes_its_tests_under_urllib3_1_26() -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHONPATH"))}
    environment["PYTHONPATH"] = str(oldest_urllib3())  # ahead of site-packages
    result = subprocess.run(
        [sys.executable, "-c", UNDER_OLDEST, *MODULES],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout
