"""A TF Serving model repository: `<repo>/<model>/<version>/` with integer versions.

Paths go through tf.io.gfile, so the repository may be a local folder or object storage
(gs://, s3:// with the matching TensorFlow file-system plugin).

TF Serving only considers directories whose names are integers, so a version is written
under a hidden staging name in the same model directory and renamed into place: the
server never sees half a version (on object storage the rename is a copy, which is why
the rollout tool also pins versions with a `specific` policy).
"""
from __future__ import annotations

import contextlib
import uuid

import tensorflow as tf


class RepositoryError(Exception):
    """The model repository cannot take this version."""


def join(*parts) -> str:
    return "/".join(str(p).rstrip("/") for p in parts)


def versions(model_dir) -> list[int]:
    """The published versions of a model, ascending."""
    model_dir = str(model_dir)
    if not tf.io.gfile.isdir(model_dir):
        return []
    names = (n.rstrip("/") for n in tf.io.gfile.listdir(model_dir))
    return sorted(int(n) for n in names if n.isdigit())


def next_version(model_dir) -> int:
    existing = versions(model_dir)
    return existing[-1] + 1 if existing else 1


@contextlib.contextmanager
def staging_dir(model_dir):
    """Yields an empty directory beside the versions; removed unless it was published."""
    staged = join(model_dir, f".staging-{uuid.uuid4().hex[:12]}")
    tf.io.gfile.makedirs(staged)
    try:
        yield staged
    finally:
        if tf.io.gfile.exists(staged):
            tf.io.gfile.rmtree(staged)


def place_version(staged, model_dir, version: int) -> str:
    """Renames a staged SavedModel to `<model_dir>/<version>`."""
    target = join(model_dir, version)
    if tf.io.gfile.exists(target):
        raise RepositoryError(f"version {version} already exists: {target}")
    tf.io.gfile.rename(str(staged), target)
    return target


def copy_tree(src, dst) -> None:
    for directory, _, files in tf.io.gfile.walk(str(src)):
        relative = directory[len(str(src)):].lstrip("/")
        tf.io.gfile.makedirs(join(dst, relative) if relative else str(dst))
        for name in files:
            tf.io.gfile.copy(join(directory, name), join(dst, relative, name) if relative
                             else join(dst, name))


def add_version(src, model_dir, version: int | None = None) -> tuple[int, str]:
    """Copies an exported version directory (holding saved_model.pb) into the repository."""
    if not tf.io.gfile.exists(join(src, "saved_model.pb")):
        raise RepositoryError(f"{src} is not a SavedModel version directory (no saved_model.pb)")
    version = version or next_version(model_dir)
    with staging_dir(model_dir) as staged:
        copy_tree(src, staged)
        return version, place_version(staged, model_dir, version)


def remove_version(model_dir, version: int) -> None:
    target = join(model_dir, version)
    if tf.io.gfile.exists(target):
        tf.io.gfile.rmtree(target)
