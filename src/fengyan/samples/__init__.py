"""Small sample deliveries bundled with the package.

Fictional firms, made by scripts/make_samples.py.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def sample_dir(name: str = "demo") -> Path:
    """The folder of a bundled sample delivery."""
    return Path(str(resources.files("fengyan.samples").joinpath(name)))
