"""The caches put into moto for the local runtime share what they cache and uninstall cleanly (their
checks against moto are with every other patch's, in ``tests/unit/test_moto_patches.py``)."""

from __future__ import annotations

from typing import Any

import pytest

from lipsync.local import moto_caches
from lipsync.local.moto_patches import MotoPatches
from lipsync.local.moto_server import quick_stop_moto_server


def test_installed_caches_share_clients_and_programs_and_uninstall_cleanly() -> None:
    from moto import backends
    from moto.core import responses
    from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils as tasks
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    lambda_eval_utils: Any = tasks  # boto_client_for is imported there by name, not re-exported
    before = (lambda_eval_utils.boto_client_for, ExecutionWorker._get_evaluation_entrypoint)
    with MotoPatches(moto_caches.caches()).installed():
        one = lambda_eval_utils.boto_client_for("us-east-1", "lambda")
        assert lambda_eval_utils.boto_client_for("us-east-1", "lambda") is one
        assert lambda_eval_utils.boto_client_for("us-east-1", "events") is not one
        names = getattr(responses, "method_names_from_class")  # noqa: B009
        assert names(responses.BaseResponse) is names(responses.BaseResponse)
        assert "stepfunctions" in backends.list_of_moto_modules()
    assert (lambda_eval_utils.boto_client_for, ExecutionWorker._get_evaluation_entrypoint) == before


def test_the_quick_moto_server_serves_and_stops() -> None:
    import requests

    server = quick_stop_moto_server("127.0.0.1", 0)
    host, port = server.get_host_and_port()
    requests.post(f"http://{host}:{port}/moto-api/reset", timeout=10).raise_for_status()
    server.stop()
    with pytest.raises(requests.ConnectionError):
        requests.post(f"http://{host}:{port}/moto-api/reset", timeout=2)
