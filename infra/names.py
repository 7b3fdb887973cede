"""The physical names a pipeline gives its resources: the ones that must differ between two pipelines in
one account and region. Everything else is named by CloudFormation, from the construct path.

Every name derives from one prefix (the ``LipSync`` stack's is its stack name), so a second stack in the
account gets its own. None of these resources is retained: a retained resource with a fixed name would
make the next deploy of the same stack fail with "already exists". The credentials secret is retained
(the operator's keys outlive the stack), so it is named by CloudFormation unless the operator names it
(``lipsync:secret_name``), knowing that a stack deployed again after a delete then needs that secret gone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from constructs import Construct

from .config import CONTEXT_PREFIX

DEFAULT_PREFIX = "lipsync"
# A prefix fits every name derived from it: bus names allow [/.\-_A-Za-z0-9] (256), archive names no
# "/" and 48 characters with "-requests", alarm names 255 characters, REST API names 1024.
PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,38}")
BUS = re.compile(r"[A-Za-z0-9._-]{1,39}")  # also names the requests archive, which allows no "/"
SECRET = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
ALARM_PREFIX = re.compile(r"[A-Za-z0-9._-]{1,200}")  # no wildcards: the topic's condition adds one
# Step Functions' log group under /aws/vendedlogs/: CloudWatch Logs then needs no resource-policy entry
# per log group (the account's resource policy is capped at 5,120 characters; busy accounts are full).
VENDED_LOGS = "/aws/vendedlogs/states/"


@dataclass(frozen=True)
class PipelineNames:
    event_bus: str  # the bus the pipeline creates (unused when it is given one)
    alarm_prefix: str  # every alarm's name starts with it; the alarm topic trusts only these alarms
    api: str = "lipsync-api"  # the REST API's name: its metrics (and so its alarms) are per API name
    # The Volcengine credentials secret; None: named by CloudFormation (see the module's docstring).
    secret: str | None = None

    def __post_init__(self) -> None:
        if not BUS.fullmatch(self.event_bus):
            raise ValueError(
                f"event bus name {self.event_bus!r}: 1-39 letters, digits, '.', '_' or '-' "
                "(it also names the requests archive)"
            )
        if self.secret is not None and not SECRET.fullmatch(self.secret):
            raise ValueError(f"secret name {self.secret!r}: letters, digits and /_+=.@- only")
        if not ALARM_PREFIX.fullmatch(self.alarm_prefix):
            raise ValueError(f"alarm prefix {self.alarm_prefix!r}: letters, digits, '.', '_' or '-' only")
        if not ALARM_PREFIX.fullmatch(self.api):
            raise ValueError(f"API name {self.api!r}: letters, digits, '.', '_' or '-' only")

    @classmethod
    def from_prefix(cls, prefix: str = DEFAULT_PREFIX) -> PipelineNames:
        """Every name from one prefix: the bus ``prefix``, the API ``prefix-api``, alarms ``prefix-…``.
        Two pipelines with different prefixes never collide."""
        if not PREFIX.fullmatch(prefix):
            raise ValueError(f"pipeline name {prefix!r}: up to 39 letters, digits, '.', '_' or '-'")
        return cls(event_bus=prefix, alarm_prefix=f"{prefix}-", api=f"{prefix}-api")

    @classmethod
    def from_context(cls, scope: Construct, *, stack_name: str) -> PipelineNames:
        """The ``LipSync`` stack's names: from its stack name, with ``lipsync:event_bus_name`` and
        ``lipsync:secret_name`` (CDK context) over them."""
        derived = cls.from_prefix(stack_name)

        def context(key: str) -> str | None:
            value = scope.node.try_get_context(CONTEXT_PREFIX + key)
            return str(value) if value else None

        return cls(
            event_bus=context("event_bus_name") or derived.event_bus,
            alarm_prefix=derived.alarm_prefix,
            api=derived.api,
            secret=context("secret_name"),
        )

    @property
    def requests_archive(self) -> str:
        return f"{self.event_bus}-requests"

    @property
    def state_machine_logs(self) -> str:
        return f"{VENDED_LOGS}{self.event_bus}-jobs"
