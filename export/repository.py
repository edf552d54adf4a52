"""A TF Serving model repository: `<repo>/<model>/<version>/` with integer versions.

TF Serving only considers directories whose names are integers, so a version is written
under a hidden temporary name in the same model directory and renamed into place: the
server never sees half a version.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


class RepositoryError(Exception):
    """The model repository cannot take this version."""


def versions(model_dir: Path) -> list[int]:
    """The published versions of a model, ascending."""
    if not model_dir.is_dir():
        return []
    return sorted(int(p.name) for p in model_dir.iterdir() if p.is_dir() and p.name.isdigit())


def next_version(model_dir: Path) -> int:
    existing = versions(model_dir)
    return existing[-1] + 1 if existing else 1


@contextlib.contextmanager
def staging_dir(model_dir: Path):
    """Yields an empty directory beside the versions; removed unless it was published."""
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".staging-", dir=model_dir))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def publish(staged: Path, model_dir: Path, version: int) -> Path:
    """Atomically renames a staged SavedModel to `<model_dir>/<version>`."""
    target = model_dir / str(version)
    if target.exists():
        raise RepositoryError(f"version {version} already exists: {target}")
    os.rename(staged, target)
    return target
