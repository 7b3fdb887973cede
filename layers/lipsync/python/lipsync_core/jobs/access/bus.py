"""The stack's events, put on its bus (EventBridge) with the stack's source."""

from __future__ import annotations

import json
from typing import Any

from lipsync_core.jobs.domain.settings import Settings


def publish(events_client: Any, settings: Settings, detail_type: str, detail: dict[str, Any]) -> None:
    """Put one event on the bus; raises when EventBridge did not accept it."""
    answer = events_client.put_events(
        Entries=[
            {
                "EventBusName": settings.event_bus_name,
                "Source": settings.event_source,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, separators=(",", ":"), default=str),
            }
        ]
    )
    if answer.get("FailedEntryCount"):
        raise RuntimeError(f"EventBridge refused the {detail_type} event: {answer['Entries']}")
