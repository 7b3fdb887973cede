"""The local runtime on a changed copy of the synthesized template: a permission taken away, a function's
timeout shortened; what the change breaks fails locally as it would on AWS."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lipsync.local.runtime import LocalRuntime
from lipsync.local.synth import synthesized_template

Change = Callable[[dict[str, Any]], None]


def runtime_from(tmp_path: Path, change: Change) -> LocalRuntime:
    """A (not yet started) runtime on the synthesized template after ``change``."""
    template = json.loads(synthesized_template().read_text())
    change(template)
    path = tmp_path / "LipSync.template.json"
    path.write_text(json.dumps(template))
    return LocalRuntime(template_path=path)


def without_permission(role: str, action: str) -> Change:
    """Takes ``action`` out of every policy statement of the role whose logical id starts with ``role``."""

    def change(template: dict[str, Any]) -> None:
        resources = template["Resources"]
        [role_id] = [k for k, r in resources.items() if r["Type"] == "AWS::IAM::Role" and k.startswith(role)]
        removed = 0
        for resource in resources.values():
            if (
                resource["Type"] != "AWS::IAM::Policy"
                or {"Ref": role_id} not in resource["Properties"]["Roles"]
            ):
                continue
            kept = []
            for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
                actions = (
                    statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                )
                remaining = [a for a in actions if a != action]
                removed += len(actions) - len(remaining)
                if remaining:
                    kept.append({**statement, "Action": remaining})
            resource["Properties"]["PolicyDocument"]["Statement"] = kept
        assert removed, f"{role} had no {action} to take away"

    return change


def with_timeout(function: str, seconds: int) -> Change:
    """Sets the timeout of the function whose logical id starts with ``function``."""

    def change(template: dict[str, Any]) -> None:
        [found] = [
            r
            for k, r in template["Resources"].items()
            if r["Type"] == "AWS::Lambda::Function" and k.startswith(function)
        ]
        found["Properties"]["Timeout"] = seconds

    return change


def without_invoke_permission(prefix: str) -> Change:
    """Removes the ``AWS::Lambda::Permission`` whose logical id starts with ``prefix`` (exactly one)."""

    def change(template: dict[str, Any]) -> None:
        resources = template["Resources"]
        [found] = [
            k for k, r in resources.items() if r["Type"] == "AWS::Lambda::Permission" and k.startswith(prefix)
        ]
        del resources[found]
        for resource in resources.values():  # what waited for it on AWS
            depends = resource.get("DependsOn")
            if isinstance(depends, list) and found in depends:
                depends.remove(found)
            elif depends == found:
                del resource["DependsOn"]

    return change


def changed(*changes: Change) -> Change:
    def change(template: dict[str, Any]) -> None:
        for one in changes:
            one(template)

    return change
