"""Where the files the constructs build from are: the Lambda handlers, the layers' sources and pins,
and ``cdk.json``'s context defaults.

In the repository they sit beside ``infra/``; an installed wheel carries copies of them inside this
package (``lipsync_infra/functions/…``, see ``setup.py``), so the constructs work without a checkout.
Nothing else in ``infra/`` names a path outside this module.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
# A wheel ships cdk.json inside the package; a checkout (and the editable install) has it one level up.
INSTALLED = (PACKAGE / "cdk.json").is_file()
ROOT = PACKAGE if INSTALLED else PACKAGE.parent
FUNCTIONS_ROOT = ROOT / "functions"
LAYER_ROOT = ROOT / "layers" / "lipsync"
POWERTOOLS_ROOT = ROOT / "layers" / "powertools"
MEDIA_LAYER_ROOT = ROOT / "layers" / "media"
RUNTIME_REQUIREMENTS = ROOT / "requirements" / "runtime.txt"
CONSTRAINTS = ROOT / "requirements" / "constraints.txt"  # pins the layers' transitive dependencies
CDK_JSON = ROOT / "cdk.json"
# Left out of every asset and its hash: bytecode left by tests, or by pip in an installed copy (the layers'
# bundler compiles the bytecode they ship for the runtime itself, see layer_bundling.py).
BYTECODE = ["__pycache__"]
# What the wheel copies into the package, relative to ROOT (setup.py reads this list).
SHIPPED = (
    "cdk.json",
    "functions",
    "layers/lipsync",
    "layers/powertools",
    "layers/media",
    "requirements/runtime.txt",
    "requirements/constraints.txt",
)
