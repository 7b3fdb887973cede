"""Which packages the wheel holds, and the files the pipeline's constructs build from.

Packages are found in the tree, never listed by hand (a hand-written list once left ``lipsync.local``
out of the wheel): every folder with Python files under each root below is a package of the wheel.
``infra/`` is installed as ``lipsync_infra`` (a top-level ``infra`` would clash with anyone's), and
the handlers, layer sources, pins and ``cdk.json`` are copied inside it (``infra/sources.py`` finds
them there). The rest of the project's metadata is in ``pyproject.toml``.
"""

from __future__ import annotations

import os
import runpy
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# Import name -> the folder it is installed from.
ROOTS = {
    "lipsync_core": "layers/lipsync/python/lipsync_core",
    "lipsync_infra": "infra",
    **{
        p.name: f"src/{p.name}"
        for p in sorted((HERE / "src").iterdir())
        if p.is_dir() and p.name.isidentifier()
    },
}
SHIPPED: tuple[str, ...] = runpy.run_path(str(HERE / "infra" / "sources.py"))["SHIPPED"]
BYTECODE = shutil.ignore_patterns("__pycache__", "*.pyc")


def has_python(folder: Path) -> bool:
    return any(path.suffix == ".py" for path in folder.rglob("*") if "__pycache__" not in path.parts)


def discover(roots: dict[str, str]) -> dict[str, str]:
    """Every package under the roots (a folder holding Python files, at any depth) -> its folder."""
    packages = {}
    for name, root in roots.items():
        for folder, subfolders, _ in os.walk(HERE / root):
            subfolders[:] = sorted(d for d in subfolders if d != "__pycache__")
            if has_python(Path(folder)):
                relative = Path(folder).relative_to(HERE / root)
                packages[".".join((name, *relative.parts))] = str(Path(root, relative).as_posix())
    return packages


class BuildWithPipelineSources(build_py):
    """Copies the constructs' sources into ``lipsync_infra`` (an editable install reads them in place)."""

    def run(self) -> None:
        if self.editable_mode:
            super().run()
            return
        # In-tree builds reuse build/lib: a module deleted from the tree must not live on in the wheel.
        shutil.rmtree(self.build_lib, ignore_errors=True)
        super().run()
        package = Path(self.build_lib) / "lipsync_infra"
        for source in SHIPPED:
            target = package / source
            shutil.rmtree(target, ignore_errors=True)  # nothing stale from an earlier build
            target.parent.mkdir(parents=True, exist_ok=True)
            if (HERE / source).is_dir():
                shutil.copytree(HERE / source, target, ignore=BYTECODE)
            else:
                shutil.copy2(HERE / source, target)


PACKAGES = discover(ROOTS)
setup(packages=sorted(PACKAGES), package_dir=PACKAGES, cmdclass={"build_py": BuildWithPipelineSources})
