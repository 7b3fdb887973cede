from __future__ import annotations

import pytest

from lipsync.cli import main


def test_demo_runs_a_signed_round_trip(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo"]) == 0
    assert "signed CVSubmitTask accepted" in capsys.readouterr().out
