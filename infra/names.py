"""The physical names a pipeline gives its resources: the ones that must differ between two pipelines in
one account and region. Everything else is named by CloudFormation, from the construct path."""

from __future__ import annotations

import re
from dataclasses import dataclass

from constructs import Construct

from .config import CONTEXT_PREFIX

DEFAULT_PREFIX = "lipsync"
# A prefix fits every name derived from it: bus names allow [/.\-_A-Za-z0-9] (256), archive names no
# "/" and 48 characters with "-requests", alarm names 255 characters.
PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,38}")
BUS = re.compile(r"[A-Za-z0-9._-]{1,39}")  # also names the requests archive, which allows no "/"
SECRET = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
ALARM_PREFIX = re.compile(r"[A-Za-z0-9._-]{1,200}")  # no wildcards: the topic's condition adds one


@dataclass(frozen=True)
class PipelineNames:
    event_bus: str  # the bus the pipeline creates (unused when it is given one)
    secret: str  # the Volcengine credentials secret
    alarm_prefix: str  # every alarm's name starts with it; the alarm topic trusts only these alarms

    def __post_init__(self) -> None:
        if not BUS.fullmatch(self.event_bus):
            raise ValueError(
                f"event bus name {self.event_bus!r}: 1-39 letters, digits, '.', '_' or '-' "
                "(it also names the requests archive)"
            )
        if not SECRET.fullmatch(self.secret):
            raise ValueError(f"secret name {self.secret!r}: letters, digits and /_+=.@- only")
        if not ALARM_PREFIX.fullmatch(self.alarm_prefix):
            raise ValueError(f"alarm prefix {self.alarm_prefix!r}: letters, digits, '.', '_' or '-' only")

    @classmethod
    def from_prefix(cls, prefix: str = DEFAULT_PREFIX) -> PipelineNames:
        """Every name from one prefix: the bus ``prefix``, the secret ``prefix/volcengine``, alarms
        ``prefix-…``. Two pipelines with different prefixes never collide."""
        if not PREFIX.fullmatch(prefix):
            raise ValueError(f"pipeline name {prefix!r}: up to 39 letters, digits, '.', '_' or '-'")
        return cls(event_bus=prefix, secret=f"{prefix}/volcengine", alarm_prefix=f"{prefix}-")

    @classmethod
    def from_context(cls, scope: Construct, *, alarm_prefix: str) -> PipelineNames:
        """The ``LipSync`` stack's names: ``lipsync:event_bus_name`` and ``lipsync:secret_name`` (CDK
        context) over the default prefix's, alarms under the stack's own name."""
        default = cls.from_prefix()

        def context(key: str, fallback: str) -> str:
            return str(scope.node.try_get_context(CONTEXT_PREFIX + key) or fallback)

        return cls(
            event_bus=context("event_bus_name", default.event_bus),
            secret=context("secret_name", default.secret),
            alarm_prefix=alarm_prefix,
        )

    @property
    def requests_archive(self) -> str:
        return f"{self.event_bus}-requests"
