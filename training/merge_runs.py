"""`python -m training.merge_runs BASE --network RUN --out DIR`: one painting network from two runs.

Tuning the shared network on one or two paintings (`--tune-network` with a short list)
teaches it their large shapes, such as Hokusai's crests; the other paintings' embeddings
were trained on the network as it was before. This writes a run directory that holds
BASE's paintings, recipe and embeddings, with RUN's tuned transformer and RUN's
embeddings of the paintings (and the identity condition) both runs have; those
paintings keep RUN's recipe too (painting crop and size, style weight, layers and
distance, as run.json's per-painting settings), so a score of the merge is the loss
each embedding trained under. The settings no painting has its own of (content, TV,
colour weights) stay BASE's. Then:

  - judge it: `training.bundle_style DIR` into a copy of styles/, then `export.side_by_side`;
  - or train the other paintings' embeddings on the new network:
    `python -m training --preset magenta --start-from DIR --train-only STEM ...`.

Both runs must be of the magenta preset, and RUN must hold a tuned transformer. Only
files are read and written (h5py); nothing trains, so it takes a second.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import h5py

from training.magenta_weights import (
    TABLE_KEY,
    TRANSFORMER_KEY,
    WeightsError,
    saved_table,
    with_rows_of,
)
from training.presets import PAINTING_PRESET
from training.run_dir import (
    WEIGHTS_FILE,
    RunDirError,
    painting_crops,
    painting_layer_weights,
    painting_names,
    painting_sizes,
    painting_style_distances,
    painting_style_weights,
    read_run_info,
    shared_rows,
    total_steps,
    tuned_network_of,
    write_run_info,
)


def merge(base: Path, network: Path, out: Path) -> list[str]:
    """Writes the merged run to `out`; returns the names of the conditions whose
    embeddings came from `network` (painting file names, and "identity")."""
    info = read_run_info(base)
    if info.get("preset") != PAINTING_PRESET:
        raise RunDirError(f"{base} is a {info.get('preset')!r} run: only runs of the "
                          f"{PAINTING_PRESET} preset have a table of embeddings to merge")
    if not (base / WEIGHTS_FILE).is_file():
        raise RunDirError(f"{base} has no trained weights yet ({WEIGHTS_FILE} is missing)")
    tuned, tuned_info = tuned_network_of(network)
    names = painting_names(info)
    rows = shared_rows(names, bool(info.get("identity")), tuned_info)
    with h5py.File(base / WEIGHTS_FILE, "r") as b, h5py.File(tuned, "r") as n:
        table = with_rows_of(saved_table(b, base), saved_table(n, tuned), rows)
        if TRANSFORMER_KEY not in n:
            raise WeightsError(f"{tuned} holds no {TRANSFORMER_KEY}: not a tuned network")
        out.mkdir(parents=True, exist_ok=True)
        with h5py.File(out / WEIGHTS_FILE, "w") as o:
            o[TABLE_KEY] = table
            n.copy(n[TRANSFORMER_KEY], o, name=TRANSFORMER_KEY)
    taken = [names[r] if r < len(names) else "identity" for r in sorted(rows)]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    # start_from makes it a tuned network for --start-from and bundle_style; its steps are
    # the network's, as the embeddings from BASE were trained on an earlier network.
    info = _with_recipe_of(info, tuned_info, [n for n in taken if n in names])
    info.update(start_from=str(network), step=0, steps_before=total_steps(tuned_info),
                tune_network=False, created=now, updated=now, out=str(out), final_losses=None,
                merged={"embeddings_from": str(base), "network_from": str(network),
                        "network_embeddings": taken})
    write_run_info(out, info)
    return taken


def _with_recipe_of(info: dict, network_info: dict, paintings: list[str]) -> dict:
    """BASE's run info with the network run's own recipe for `paintings` (file names):
    each one's effective crop, size, weight, layers and distance there, written as
    per-painting settings. Layers only the network used join the losses' at 0, which
    leaves BASE's other paintings as they were."""
    theirs = painting_names(network_info)
    recipes = {"painting_sizes": painting_sizes(network_info),
               "painting_crops": painting_crops(network_info),
               "painting_style_weights": painting_style_weights(network_info),
               "painting_style_layers": painting_layer_weights(network_info),
               "painting_style_distances": painting_style_distances(network_info)}
    merged = dict(info)
    for key, values in recipes.items():
        merged[key] = {**(info.get(key) or {}),
                       **{Path(name).stem: values[theirs.index(name)] for name in paintings}}
    layers = sorted({layer for name in paintings
                     for layer in recipes["painting_style_layers"][theirs.index(name)]})
    merged["losses"] = {**info["losses"], "style_layers": {
        **dict.fromkeys(layers, 0.0), **info["losses"]["style_layers"]}}
    return merged


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="training.merge_runs", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("base", type=Path, help="the run (or bundled style, e.g. styles/masters) "
                                           "whose paintings and embeddings to keep, and the "
                                           "recipe of those --network did not train")
    p.add_argument("--network", type=Path, required=True,
                   help="the run whose tuned transformer, and embeddings and recipe of "
                        "the paintings both runs have, replace BASE's")
    p.add_argument("--out", type=Path, required=True, help="the merged run directory to write")
    args = p.parse_args(argv)
    if args.out.resolve() in (args.base.resolve(), args.network.resolve()):
        p.error("--out must be a new directory, not one of the runs it reads")
    try:
        taken = merge(args.base, args.network, args.out)
    except (RunDirError, WeightsError, OSError, KeyError) as e:
        print(f"merge_runs: error: {e}", file=sys.stderr)
        return 1
    print(f"merge_runs: {args.out}: {args.network}'s network and its embeddings of "
          f"{', '.join(taken) or 'no condition'}; the rest from {args.base}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
