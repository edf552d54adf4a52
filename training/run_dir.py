"""The layout of a training run directory, shared by training (writes) and export (reads).

    RUN_DIR/run.json               settings, step count, latest losses
    RUN_DIR/transformer.weights.h5 transform-net weights of the latest checkpoint
    RUN_DIR/checkpoints/           full resume state (weights + optimizer + step)
    RUN_DIR/previews/              the fixed preview photo, stylized every K steps
    RUN_DIR/logs/                  TensorBoard scalars and preview images

A bundled style (`styles/<name>/`) is a run directory without checkpoints, previews
and logs: export needs only run.json and the weights.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

from training.images import load_rgb
from training.magenta_weights import load_painting_network, save_painting_network
from training.presets import PAINTING_PRESET

if TYPE_CHECKING:
    import keras
    import numpy as np

RUN_FILE = "run.json"
WEIGHTS_FILE = "transformer.weights.h5"


class RunDirError(Exception):
    """The directory is not a (finished enough) training run."""


def read_run_info(run_dir: Path) -> dict:
    path = Path(run_dir) / RUN_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise RunDirError(f"{run_dir} is not a training run: {RUN_FILE} is missing") from None
    except json.JSONDecodeError as e:
        raise RunDirError(f"{path} is not valid JSON: {e}") from None


def write_run_info(run_dir: Path, info: dict) -> None:
    """Writes run.json atomically, so an interrupted run never leaves half a file."""
    path = Path(run_dir) / RUN_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)


def painting_names(info: dict) -> list[str]:
    """The file names of a run's paintings, in the order of its conditions (a single-style
    run records `style`, a multi-style one `styles`)."""
    return info.get("styles") or [info.get("style")]


def painting_sizes(info: dict) -> list[int]:
    """The long side each of a run's paintings is scaled to for its Gram matrices, in the
    order of painting_names: `painting_sizes` (by file stem) where the run set one, else
    `style_size`."""
    return _per_painting(info, "painting_sizes", info["style_size"])


def painting_crops(info: dict) -> list[list[int] | None]:
    """The part of each of a run's paintings its losses see, in the order of
    painting_names: `painting_crops` (by file stem, [left, top, right, bottom] in the
    painting file's pixels) where the run set one, else None, the whole painting."""
    return _per_painting(info, "painting_crops", None)


def load_paintings(info: dict, files: list[Path]) -> list[np.ndarray]:
    """A run's paintings (`files`, in the order of painting_names) as its losses see them:
    cropped, then scaled to their long sides. Training and every tool that scores a run
    read them here, so a score is against the painting the run trained on."""
    return [load_rgb(file, long_side=size, box=box) for file, size, box
            in zip(files, painting_sizes(info), painting_crops(info), strict=True)]


def painting_style_weights(info: dict) -> list[float]:
    """Each of a run's paintings' style weight, in the order of painting_names:
    `painting_style_weights` (by file stem) where the run set one, else the losses'."""
    return _per_painting(info, "painting_style_weights", info["losses"]["style_weight"])


def painting_layer_weights(info: dict) -> list[dict[str, float]]:
    """Each of a run's paintings' style layers and their weights, in the order of
    painting_names: the losses' `style_layers`, with `painting_style_layers` (by file stem)
    over them where the run set some."""
    layers = info["losses"]["style_layers"]
    return [{**layers, **own} for own in _per_painting(info, "painting_style_layers", {})]


def painting_style_distances(info: dict) -> list[str]:
    """Each of a run's paintings' style distance, in the order of painting_names:
    `painting_style_distances` (by file stem) where the run set one, else the losses'
    (Gram matrices for runs from before there was a choice)."""
    return _per_painting(info, "painting_style_distances",
                         info["losses"].get("style_distance", "gram"))


def painting_losses(info: dict) -> dict:
    """StyleTransferModel's per-painting keyword arguments as run.json records them: each
    painting's style weight, style layers and distance. Training and every tool that
    scores a run build their losses from here, so a score is the loss the run trained."""
    return {"style_weights": painting_style_weights(info),
            "layer_weights": painting_layer_weights(info),
            "distances": painting_style_distances(info)}


def _per_painting(info: dict, key: str, default):
    own = info.get(key) or {}
    return [own.get(Path(name).stem, default) for name in painting_names(info)]


def total_steps(info: dict) -> int:
    """A run's steps, counting those of the runs it started from (`--start-from`), which
    run.json records as `steps_before`."""
    return info.get("step", 0) + info.get("steps_before", 0)


def conditions(info: dict) -> int:
    """How many conditions (paintings, plus the identity one if trained) a run's network
    has; 1 is the plain single-style network."""
    return len(painting_names(info)) + int(bool(info.get("identity")))


def load_transformer(run_dir: Path) -> tuple[keras.Model, dict]:
    """Rebuilds the trained transform net of a run and returns it with its run info."""
    # Here, not at the top: the CLIs that only read run.json start without TensorFlow.
    from training.transformer_net import build_transformer

    info = read_run_info(run_dir)
    weights = Path(run_dir) / WEIGHTS_FILE
    if not weights.is_file():
        raise RunDirError(f"{run_dir} has no trained weights yet ({WEIGHTS_FILE} is missing)")
    count = conditions(info)
    model = build_transformer(info["preset"], styles=count if count > 1 else None,
                              identity=bool(info.get("identity")))
    if info["preset"] == PAINTING_PRESET:
        load_painting_network(model, weights)
    else:
        model.load_weights(weights)
    return model, info


def holds_tuned_network(info: dict) -> bool:
    """Whether a run (its run info) ships a tuned transformer of the painting preset: it
    tuned one, or started from one (`--start-from`) and trained its embeddings on it."""
    return info.get("preset") == PAINTING_PRESET and bool(info.get("tune_network")
                                                          or info.get("start_from"))


def tuned_network_of(run_dir: Path) -> tuple[Path, dict]:
    """The weights file and run info of a run that holds a tuned transformer of the
    painting preset: what `train --start-from` begins with."""
    info = read_run_info(run_dir)
    if not holds_tuned_network(info):
        raise RunDirError(f"{run_dir} holds no tuned network of the {PAINTING_PRESET} preset "
                          "(it neither trained with --tune-network nor started from a run "
                          "that did): there is no tuned transformer to start from")
    weights = Path(run_dir) / WEIGHTS_FILE
    if not weights.is_file():
        raise RunDirError(f"{run_dir} has no trained weights yet ({WEIGHTS_FILE} is missing)")
    return weights, info


def shared_rows(paintings: list[str], identity: bool, earlier: dict) -> dict[int, int]:
    """Row of a new run's table -> row of an earlier run's (its run info), for the
    paintings (file names) both have, and the identity condition when both train one."""
    theirs = painting_names(earlier)
    rows = {row: theirs.index(name) for row, name in enumerate(paintings) if name in theirs}
    if identity and earlier.get("identity"):
        rows[len(paintings)] = len(theirs)
    return rows


def save_transformer(model, info: dict, run_dir: Path) -> None:
    """The counterpart of load_transformer: the weights a run (its run info) ships."""
    if info.get("preset") == PAINTING_PRESET:
        save_painting_network(model, Path(run_dir) / WEIGHTS_FILE, holds_tuned_network(info))
    else:
        model.save_weights(Path(run_dir) / WEIGHTS_FILE)
