"""Builds the models for a TrainConfig, restores the last checkpoint and runs `fit()`."""
from __future__ import annotations

import contextlib
import time

import keras
import numpy as np

from training.arbitrary_net import ARBITRARY_TRANSFORMER
from training.backend import gpu_count, on_tensorflow
from training.callbacks import Checkpointer, ProgressBar, StopAt, Summaries
from training.data import content_dataset, load_targets, targeted_paintings
from training.dtype_policy import building_in
from training.magenta_weights import adopt_tuned_network, start_painting_network
from training.model import StyleTransferModel
from training.presets import PAINTING_PRESET
from training.run_dir import (
    WEIGHTS_FILE,
    RunDirError,
    painting_losses,
    save_transformer,
    shared_rows,
    tuned_network_of,
    write_run_info,
)
from training.transformer_net import build_transformer
from training.vgg import build_loss_network


def _resolve(setting: str, on_gpu: bool) -> bool:
    return on_gpu if setting == "auto" else setting == "on"


def _device_setup(cfg) -> tuple[contextlib.AbstractContextManager, bool, bool]:
    """(distribution scope, mixed precision?, XLA?): by default both on GPUs only, where
    they pay; MirroredStrategy when there are several GPUs. JAX always compiles with XLA,
    on one device, and in float32 (the loss scaling of float16 is TensorFlow's here;
    --loss-precision bfloat16 needs none)."""
    gpus = gpu_count()
    if not on_tensorflow():
        if cfg.mixed_precision == "on":
            raise RunDirError("--mixed-precision on needs TensorFlow (KERAS_BACKEND=tensorflow);"
                              " with JAX, --loss-precision bfloat16 is the faster loss network")
        return contextlib.nullcontext(), False, True
    mixed, xla = _resolve(cfg.mixed_precision, bool(gpus)), _resolve(cfg.xla, bool(gpus))
    if mixed:
        keras.mixed_precision.set_global_policy("mixed_float16")
    if gpus > 1:
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope(), mixed, xla
    return contextlib.nullcontext(), mixed, xla


def _build(cfg, styles: list[np.ndarray], mixed: bool, xla: bool,
           info: dict | None = None) -> tuple[StyleTransferModel, keras.Model]:
    """The training model and its transform net; `info` (run.json's) gives each painting's
    style and layer weights, the losses' for every painting without it."""
    count = len(styles) + int(cfg.identity)
    transformer = build_transformer(cfg.preset, styles=count if count > 1 else None,
                                    identity=cfg.identity)
    if cfg.preset == PAINTING_PRESET:  # a resumed run's checkpoint then replaces the table
        start_painting_network(transformer, styles)
        if cfg.start_from:
            weights, earlier = tuned_network_of(cfg.start_from)
            adopt_tuned_network(transformer, weights, shared_rows(
                [p.name for p in cfg.styles], cfg.identity, earlier))
        transformer.get_layer(ARBITRARY_TRANSFORMER).trainable = cfg.tune_network
    # "float32" keeps the process's policy (mixed_float16 where --mixed-precision is on).
    precision = (building_in(cfg.loss_precision) if cfg.loss_precision != "float32"
                 else contextlib.nullcontext())
    with precision:
        loss_network = build_loss_network(cfg.losses.vgg_layers, cfg.vgg_weights, cfg.vgg_sha256)
    model = StyleTransferModel(transformer, loss_network, [s.astype(np.float32) for s in styles],
                               cfg.losses, identity=cfg.identity,
                               trained=trained_conditions(cfg), targeted=targeted_conditions(cfg),
                               **(painting_losses(info) if info else {}))
    optimizer = keras.optimizers.Adam(learning_rate_of(cfg))
    if mixed:
        optimizer = keras.mixed_precision.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer, jit_compile=xla)
    # Optimizer slots must exist before a checkpoint can be restored into them.
    optimizer.build(transformer.trainable_variables)
    return model, transformer


def trained_conditions(cfg) -> list[int] | None:
    """The table rows that take turns in training: --identity-only's or --train-only's,
    or None for all."""
    if cfg.identity_only:
        return [len(cfg.styles)]
    stems = [p.stem for p in cfg.styles]
    return [stems.index(stem) for stem in cfg.train_only] or None


def targeted_conditions(cfg) -> list[int] | None:
    """The paintings (by condition number) with targets in cfg.targets, in the order of
    the batches' refined pictures; None without targets."""
    if not cfg.targets:
        return None
    stems = [p.stem for p in cfg.styles]
    return [stems.index(name) for name in targeted_paintings(cfg.targets, stems)]


def _targets(cfg) -> tuple | None:
    if not cfg.targets:
        return None
    names = targeted_paintings(cfg.targets, [p.stem for p in cfg.styles])
    crops, refined = load_targets(cfg.targets, names, cfg.image_size)
    print(f"train: {len(crops)} targets for {', '.join(names)} in {cfg.targets}")
    return crops, refined


def learning_rate_of(cfg):
    """The rate, reached linearly over cfg.warmup_steps. Keras has no plain warm-up
    schedule: CosineDecay with alpha 1 decays to where it starts, so it only warms up."""
    if not cfg.warmup_steps:
        return cfg.learning_rate
    return keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=1, alpha=1.0, warmup_target=cfg.learning_rate,
        warmup_steps=cfg.warmup_steps)


def _saved_transformer_shapes(path: str) -> list[tuple[int, ...]]:
    """The shapes of the variables under the checkpoint's `transformer`, found through its
    object graph: a variable is stored once, under whichever path reached it first (often
    the optimizer's), so the keys' prefixes do not say."""
    import tensorflow as tf
    from tensorflow.core.protobuf.trackable_object_graph_pb2 import TrackableObjectGraph

    reader = tf.train.load_checkpoint(path)
    graph = TrackableObjectGraph.FromString(reader.get_tensor("_CHECKPOINTABLE_OBJECT_GRAPH"))
    todo = [c.node_id for c in graph.nodes[0].children if c.local_name == "transformer"]
    seen = set()
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(c.node_id for c in graph.nodes[node].children)
    shape_of = reader.get_variable_to_shape_map()
    return sorted(tuple(shape_of[a.checkpoint_key]) for node in seen
                  for a in graph.nodes[node].attributes if a.name == "VARIABLE_VALUE")


def _check_fits(path: str, transformer: keras.Model, out) -> None:
    """Refuses a checkpoint whose transformer has other tensors than this one. Checked
    before restoring because a failed restore leaves TensorFlow to log every unrestored
    value, hundreds of lines that bury this message."""
    if _saved_transformer_shapes(path) != sorted(tuple(w.shape) for w in transformer.weights):
        raise RunDirError(
            f"{path} does not fit this network (its transformer's tensors differ in number "
            "or shape from this one's). Was it written by an earlier version? Train into a "
            f"new --out (with --start-from {out} when the run tunes the network: its weights "
            "go on, Adam starts afresh)")


def _checkpoints(out, model: keras.Model, transformer: keras.Model):
    """TensorFlow's checkpoints of the run (transform net and Adam), the latest restored:
    a stopped run resumes where it stopped. Without TensorFlow there are none: the run
    saves its weights only, so it refuses to start over a run it cannot resume."""
    if not on_tensorflow():
        if (out / "checkpoints").exists() or (out / WEIGHTS_FILE).exists():
            raise RunDirError(
                f"{out} holds a run; resuming it needs TensorFlow's checkpoints "
                "(KERAS_BACKEND=tensorflow). Or train into a new --out with "
                f"--start-from {out}: its weights go on, Adam starts afresh")
        return None
    import tensorflow as tf

    checkpoint = tf.train.Checkpoint(transformer=transformer, optimizer=model.optimizer)
    manager = tf.train.CheckpointManager(checkpoint, out / "checkpoints", max_to_keep=2)
    if manager.latest_checkpoint:
        _check_fits(manager.latest_checkpoint, transformer, out)
        checkpoint.restore(manager.latest_checkpoint).expect_partial()
    return manager


def fit(cfg, styles: list[np.ndarray], photos: list[str], preview: np.ndarray,
        info: dict) -> int | None:
    """Trains until cfg.steps or cfg.minutes, checkpointing into cfg.out; returns the number
    of the signal that stopped it early and saved (Ctrl-C, SIGTERM), else None."""
    cfg.out.mkdir(parents=True, exist_ok=True)
    scope, mixed, xla = _device_setup(cfg)
    with scope:
        model, transformer = _build(cfg, styles, mixed, xla, info)
    manager = _checkpoints(cfg.out, model, transformer)
    start = int(model.optimizer.iterations.numpy())
    print(f"train: {len(styles)} painting(s), {len(photos)} photos, preset {cfg.preset}, "
          f"{'resuming at step ' + str(start) if start else 'starting'} -> {cfg.steps} steps")
    if start >= cfg.steps:
        return None

    def save(losses: dict) -> None:
        step = int(model.optimizer.iterations.numpy())
        if manager:
            manager.save(checkpoint_number=step)
        save_transformer(transformer, info, cfg.out)
        write_run_info(cfg.out, {**info, "step": step, "final_losses": losses,
                                 "updated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})

    stop = StopAt(cfg.steps, cfg.minutes)
    callbacks = [
        stop,
        Summaries(cfg.out / "logs", cfg.out / "previews", preview, cfg.batch_size,
                  cfg.log_every, cfg.preview_every),
        Checkpointer(save, cfg.checkpoint_every),
        ProgressBar(cfg.steps, start),
    ]
    dataset = content_dataset(photos, cfg.image_size, cfg.batch_size, seed=cfg.seed,
                              targets=_targets(cfg))
    # Endless data; StopAt ends training. Epochs only pace Keras' own bookkeeping.
    model.fit(dataset, epochs=10**9, steps_per_epoch=cfg.checkpoint_every,
              callbacks=callbacks, verbose=0, shuffle=False)
    return stop.signal_number
