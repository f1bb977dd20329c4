"""The data the package carries: the built-in rules, the report templates, the demo's samples,
the JSON Schemas of every file format.

They live at the top of the repository (policies/, templates/, samples/) and are package data
of `checker` (symlinks in a checkout, files in the wheel), so they are found the same way in a
development checkout and in an installed wheel: never by a path relative to the repository.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any


def bundled(name: str) -> Path:
    """The package data folder `name` (policies, templates or samples) on disk, symlink
    resolved, so that messages name the file a developer edits (policies/MEM-001.yaml)."""
    # An installed package is a folder on disk (pip never installs zipped), so this is a Path.
    return Path(str(resources.files("checker").joinpath(name))).resolve()


def schema_text(name: str) -> str:
    """The JSON Schema of file format `name` (plan, inventory, results…), as shipped."""
    return resources.files("checker").joinpath(f"schemas/{name}.schema.json").read_text(encoding="utf-8")


@cache
def schema(name: str) -> dict[str, Any]:
    """The JSON Schema of `name`, parsed once per process. Callers must not change it."""
    return json.loads(schema_text(name))
