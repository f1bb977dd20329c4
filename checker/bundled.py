"""The data the package carries: the built-in rules, the report templates, the demo's samples.

They live at the top of the repository (policies/, templates/, samples/) and are package data
of `checker` (symlinks in a checkout, files in the wheel), so they are found the same way in a
development checkout and in an installed wheel: never by a path relative to the repository.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def bundled(name: str) -> Path:
    """The package data folder `name` (policies, templates or samples) on disk, symlink
    resolved, so that messages name the file a developer edits (policies/MEM-001.yaml)."""
    # An installed package is a folder on disk (pip never installs zipped), so this is a Path.
    return Path(str(resources.files("checker").joinpath(name))).resolve()
