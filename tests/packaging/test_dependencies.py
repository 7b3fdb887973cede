"""What ``pyproject.toml`` declares agrees with what development and CI install (``requirements/``,
exact): every declared range admits the pinned version, and moto is pinned exactly (we patch it)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text().splitlines():
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==(\S+)", line.strip())
        if match:
            found[canonicalize_name(match[1])] = match[2]
    return found


def declared() -> list[Requirement]:
    groups = [PROJECT["dependencies"], *PROJECT["optional-dependencies"].values()]
    requirements = [Requirement(text) for group in groups for text in group]
    return [r for r in requirements if canonicalize_name(r.name) != canonicalize_name(PROJECT["name"])]


def test_every_declared_range_admits_the_pinned_version() -> None:
    pinned = pins()
    requirements = declared()
    assert len(requirements) > 10
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{name} is declared but requirements/constraints.txt pins no version of it"
        assert requirement.specifier.contains(pinned[name]), (
            f"{requirement} refuses the pinned {pinned[name]}"
        )
        assert requirement.specifier, f"{name}: a range, not any version"


def test_moto_is_pinned_exactly_and_local_brings_the_rest() -> None:
    [moto] = [r for r in declared() if r.name == "moto"]
    assert str(moto.specifier) == f"=={pins()['moto']}"
    local = PROJECT["optional-dependencies"]["local"]
    assert f"{PROJECT['name']}[cdk,media]" in local, "lipsync up synthesizes the stack and decodes media"
