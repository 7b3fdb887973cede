"""The one way the local runtime changes moto's internals (moto is pinned exactly in requirements).

Each change is a ``Patch``, declared once: the attribute it replaces (``owner`` and ``attribute``, and
``also_in``: modules that imported the same object by name), the replacement (made from the
original), and ``expects``: what moto must still look like for the replacement to be right.
``MotoPatches`` checks every declaration before it installs any, so a moto that moved fails loudly,
naming what moved, and ``uninstall`` puts moto back exactly as it was.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

MOTO_VERSION = "5.2.5"
ORIGINAL = "__lipsync_original__"  # on a replacement: what it replaced (checks inspect moto's own code)

# Given the original, what is wrong with it (nothing: an empty list).
Check = Callable[[Any], list[str]]


class MotoSeamError(RuntimeError):
    pass


@dataclass(frozen=True)
class Patch:
    """``owner.attribute`` (``owner``: ``"package.module"`` or ``"package.module:Class"``) replaced by
    ``replacement(original)``, for the reason ``why``, as long as every check in ``expects`` passes."""

    owner: str
    attribute: str
    replacement: Callable[[Any], Any]
    why: str
    expects: tuple[Check, ...] = ()
    also_in: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.owner.rsplit(':', 1)[-1].rsplit('.', 1)[-1]}.{self.attribute}"

    def owners(self) -> list[Any]:
        return [resolve(path) for path in (self.owner, *self.also_in)]

    def problems(self) -> list[str]:
        """What stops this patch from being right for the installed moto (nothing: an empty list), each
        said with the patch's name and what it is for."""
        named = f"{self.name} (for: {self.why})"
        try:
            owners = self.owners()
        except (ImportError, AttributeError) as error:
            return [f"{named}: {self.owner} is gone ({error})"]
        if not all(self.attribute in vars(owner) for owner in owners):  # inherited counts as moved
            return [f"{named}: it is gone"]
        found = original(getattr(owners[0], self.attribute))
        if any(original(getattr(owner, self.attribute)) is not found for owner in owners[1:]):
            return [f"{named}: no longer the same object in {', '.join(self.also_in)}"]
        return [f"{named}: {problem}" for check in self.expects for problem in check(found)]


def resolve(path: str) -> Any:
    """``"package.module"`` or ``"package.module:Class.attribute"``, imported."""
    module, _, qualified = path.partition(":")
    found: Any = importlib.import_module(module)
    for part in filter(None, qualified.split(".")):
        found = getattr(found, part)
    return found


def original(value: Any) -> Any:
    """What a replacement stands in for (itself, if it is not one of ours)."""
    return getattr(value, ORIGINAL, value)


# -- what a patch expects of moto --------------------------------------------------------------------


def parameters(*names: str) -> Check:
    """The original is a callable with exactly these parameters."""

    def check(found: Any) -> list[str]:
        actual = list(inspect.signature(found).parameters)
        return [] if actual == list(names) else [f"changed its signature to ({', '.join(actual)})"]

    return check


def source_contains(*snippets: str, where: str | None = None) -> Check:
    """The original's source (or that of ``where``, a path as ``resolve`` takes) contains each snippet."""

    def check(found: Any) -> list[str]:
        place = original(resolve(where)) if where else found
        source = inspect.getsource(place)
        shown = where.rsplit(":", 1)[-1] if where else "its source"
        return [f"{shown} no longer contains {snippet!r}" for snippet in snippets if snippet not in source]

    return check


def is_property(path: str) -> Check:
    """``path`` (``"module:Class.attribute"``) is still a property (read without running it)."""

    def check(found: Any) -> list[str]:
        owner, _, attribute = path.rpartition(".")
        if isinstance(inspect.getattr_static(resolve(owner), attribute, None), property):
            return []
        return [f"{path.rsplit(':', 1)[-1]} is no longer a property"]

    return check


class MotoPatches:
    """Checks, installs and uninstalls a set of patches; usable as ``with MotoPatches(...).installed():``."""

    def __init__(self, patches: Iterable[Patch]) -> None:
        self.patches = tuple(patches)
        self._replaced: list[tuple[Any, str, Any]] = []  # (owner, attribute, what was there)

    def check(self) -> None:
        """Raise ``MotoSeamError`` unless moto still has every shape these patches replace."""
        import moto

        problems = [] if moto.__version__ == MOTO_VERSION else [f"moto is {moto.__version__}"]
        problems += [problem for patch in self.patches for problem in patch.problems()]
        if problems:
            raise MotoSeamError(
                f"the local runtime's patches of moto {MOTO_VERSION} moved: " + "; ".join(problems)
            )

    def install(self) -> MotoPatches:
        self.check()
        for patch in self.patches:
            owners = patch.owners()
            found = getattr(owners[0], patch.attribute)
            replacement = patch.replacement(found)
            setattr(replacement, ORIGINAL, original(found))
            for owner in owners:
                self._replaced.append((owner, patch.attribute, vars(owner)[patch.attribute]))
                setattr(owner, patch.attribute, replacement)
        return self

    def uninstall(self) -> None:
        for owner, attribute, value in reversed(self._replaced):
            setattr(owner, attribute, value)
        self._replaced.clear()

    @contextmanager
    def installed(self) -> Iterator[MotoPatches]:
        self.install()
        try:
            yield self
        finally:
            self.uninstall()
