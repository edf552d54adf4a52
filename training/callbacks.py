"""Keras callbacks of a training run: progress, TensorBoard, previews, checkpoints, stop.

They read each step's losses and step count as Python numbers, which makes every step wait
for the device. Keras does that anyway for any callback with `on_train_batch_end` (its
CallbackList converts the logs first) unless all callbacks are `async_safe`, and these
cannot be: a checkpoint or preview taken on a thread while the next step runs would
read half-updated weights.
"""
from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import keras
import numpy as np
from PIL import Image
from tqdm import tqdm

from training.backend import on_tensorflow
from training.model import LOSS_NAMES


def _step(model) -> int:
    return int(model.optimizer.iterations.numpy())


def _floats(logs: dict | None) -> dict:
    return {k: float(v) for k, v in (logs or {}).items() if k in LOSS_NAMES}


class ProgressBar(keras.callbacks.Callback):
    """A tqdm bar over the whole run (ETA included) showing the current loss terms."""

    def __init__(self, total_steps: int, start_step: int):
        super().__init__()
        self.bar = tqdm(total=total_steps, initial=start_step, unit="step", dynamic_ncols=True)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)
        self.bar.set_postfix({k: f"{v:.3g}" for k, v in _floats(logs).items()})

    def on_train_end(self, logs=None):
        self.bar.close()


class Summaries(keras.callbacks.Callback):
    """TensorBoard scalars every `every` steps (losses, images/s) and preview images (the
    previews alone, as JPEG files, without TensorFlow's summary writer)."""

    def __init__(self, log_dir: Path, preview_dir: Path, preview_photo: np.ndarray,
                 batch_size: int, every: int, preview_every: int):
        super().__init__()
        self.writer = _summary_writer(log_dir)
        self.preview_dir = preview_dir
        self.preview_photo = preview_photo.astype(np.float32)[None]
        self.batch_size, self.every, self.preview_every = batch_size, every, preview_every
        self._t0, self._steps = time.perf_counter(), 0

    def on_train_batch_end(self, batch, logs=None):
        step = _step(self.model)
        self._steps += 1
        if step % self.every == 0 and self.writer:
            import tensorflow as tf

            elapsed = time.perf_counter() - self._t0
            with self.writer.as_default(step=step):
                for name, value in _floats(logs).items():
                    tf.summary.scalar(f"loss/{name}", value)
                tf.summary.scalar("images_per_second", self._steps * self.batch_size / elapsed)
            self._t0, self._steps = time.perf_counter(), 0
        if step % self.preview_every == 0:
            self.write_preview(step)

    def write_preview(self, step: int) -> None:
        """The preview photo in every painting of the run, side by side."""
        painted = [np.asarray(self.model(self.preview_photo, style=style, training=False))[0]
                   for style in range(self.model.styles)]
        pixels = np.clip(np.concatenate(painted, axis=1), 0, 255).astype(np.uint8)
        self.preview_dir.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(self.preview_dir / f"step_{step:06d}.jpg", quality=90)
        if self.writer:
            import tensorflow as tf

            with self.writer.as_default(step=step):
                tf.summary.image("preview", pixels[None])

    def on_train_end(self, logs=None):
        if self.writer:
            self.writer.flush()


def _summary_writer(log_dir: Path):
    if not on_tensorflow():
        return None
    import tensorflow as tf

    return tf.summary.create_file_writer(str(log_dir))


class Checkpointer(keras.callbacks.Callback):
    """Saves the resume state every `every` steps and when training stops for any reason."""

    def __init__(self, save, every: int):
        super().__init__()
        self.save, self.every = save, every
        self.last_logs: dict = {}

    def on_train_batch_end(self, batch, logs=None):
        self.last_logs = _floats(logs)
        if _step(self.model) % self.every == 0:
            self.save(self.last_logs)

    def on_train_end(self, logs=None):
        self.save(self.last_logs)


class StopAt(keras.callbacks.Callback):
    """Stops at a total step count, after a wall-clock budget, or on Ctrl-C or SIGTERM,
    whichever comes first; Checkpointer then saves the step reached.

    A signal stops the run after the step in flight, not at once: `kill`, `pkill` and
    Kubernetes send SIGTERM to runs that Ctrl-C cannot reach, and dying mid-run would
    lose every step since the last checkpoint. A second signal acts as it would have
    without this callback. `signal_number` tells which signal stopped the run.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, steps: int, minutes: float | None):
        super().__init__()
        self.steps = steps
        self.deadline = time.monotonic() + minutes * 60 if minutes else None
        self.signal_number: int | None = None
        self._before: dict = {}

    def on_train_begin(self, logs=None):
        # Python lets only the main thread install handlers (tests may train on another);
        # a signal ignored on purpose (nohup, a script's background job) stays ignored.
        if threading.current_thread() is threading.main_thread():
            self._before = {s: signal.signal(s, self._stop_soon) for s in self.SIGNALS
                            if signal.getsignal(s) is not signal.SIG_IGN}

    def _stop_soon(self, number, frame):
        self.signal_number = number
        self._restore()
        print(f"\ntrain: {signal.Signals(number).name}: stopping after this step and saving "
              "(send it again to stop at once)", file=sys.stderr, flush=True)

    def _restore(self):
        for number, handler in self._before.items():
            signal.signal(number, handler)
        self._before = {}

    def on_train_batch_end(self, batch, logs=None):
        out_of_time = self.deadline is not None and time.monotonic() >= self.deadline
        if _step(self.model) >= self.steps or out_of_time or self.signal_number:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        self._restore()
