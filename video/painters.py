"""Who paints the frames: the same SavedModel either way, through its stylize_pixels
signature (raw frames in and out, a batch at a time).

- `LocalPainter`: the newest version of a model in a local repository (what `make models`
  writes), in this process;
- `ServerPainter`: a model server, ours or TF Serving, over gRPC, pinned to the version
  that the `stable` label (or the label given) pointed at when the video started, so one
  video is painted by one version even if a rollout happens meanwhile.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import grpc
import numpy as np

from serving.contract import (
    LABEL_STABLE,
    OUTPUT_PIXELS,
    OUTPUT_STYLE_NAMES,
    SIGNATURE_PIXELS,
    SIGNATURE_STYLE_NAMES,
)
from serving.predict_request import controls


class PaintError(Exception):
    """A model that cannot be found, reached or asked for this look."""


@dataclass(frozen=True)
class Look:
    """What to paint: a mix of the model's paintings (None: its first), strength, colours."""
    mix: dict[str, float] | None = None
    strength: float = 1.0
    preserve_colors: bool = False


@dataclass
class Painter:
    model: str
    version: int
    names: list[str] = field(default_factory=list)  # a multi-style model's paintings

    def style_controls(self, look: Look, frames: int) -> dict | None:
        if not self.names:
            if look.mix or look.strength != 1.0 or look.preserve_colors:
                raise PaintError(f"{self.model!r} is a single-style model: --style, --strength "
                                 "and --preserve-colors need a multi-style model (--model)")
            return None
        mix = look.mix or {self.names[0]: 1.0}
        unknown = sorted(set(mix) - set(self.names))
        if unknown:
            raise PaintError(f"{self.model!r} has no painting {', '.join(map(repr, unknown))}; "
                             f"it has: {', '.join(self.names)}")
        row = [mix.get(name, 0.0) for name in self.names]
        return controls([row] * frames, [look.strength] * frames, [look.preserve_colors] * frames)

    def paint(self, pixels: np.ndarray, style_controls: dict | None) -> np.ndarray:
        raise NotImplementedError


class LocalPainter(Painter):
    def __init__(self, repo: Path, model: str, threads: int | None = None):
        """`threads`: TensorFlow's threads per call; with several calls at once, the cores
        shared among them do more than every call spreading over every core."""
        import tensorflow as tf

        from serving.model_server.servable import Servable
        from serving.repository import versions

        if threads:
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
            except RuntimeError:  # TensorFlow already runs in this process: it keeps its threads
                pass

        found = versions(repo / model)
        if not found:
            raise PaintError(f"no version of {model!r} in {repo}: `make models` exports the "
                             "bundled styles there (or paint through a server: --server)")
        self.servable = Servable(model, found[-1], repo / model / str(found[-1]))
        names = []
        if OUTPUT_STYLE_NAMES in self.servable.model.signatures:
            _, out = self.servable.predict(SIGNATURE_STYLE_NAMES, {})
            names = [n.decode() for n in out[OUTPUT_STYLE_NAMES]]
        super().__init__(model, found[-1], names)

    def paint(self, pixels: np.ndarray, style_controls: dict | None) -> np.ndarray:
        import tensorflow as tf

        inputs = {"pixels": pixels,
                  **{k: tf.make_ndarray(v) for k, v in (style_controls or {}).items()}}
        return self.servable.predict(SIGNATURE_PIXELS, inputs, (OUTPUT_PIXELS,))[1][OUTPUT_PIXELS]


class ServerPainter(Painter):
    def __init__(self, target: str, model: str, label: str = LABEL_STABLE, timeout: float = 60):
        from serving.client import ModelServerClient

        self.client = ModelServerClient(target, timeout)
        try:
            names, version = self.client.style_names(model, label=label)
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.NOT_FOUND or "signature" not in (e.details() or ""):
                raise PaintError(f"{target}: {model!r} label {label!r}: "
                                 f"{e.code().name}: {e.details()}") from None
            names, version = [], self._labelled_version(model, label)
        super().__init__(model, version, names)

    def _labelled_version(self, model: str, label: str) -> int:
        """A single-style model has no call without an image: one tiny frame finds the
        version behind the label."""
        from serving.predict_request import pixels_request

        try:
            response = self.client.predict(pixels_request(
                model, np.zeros((1, 16, 16, 3), np.uint8), label=label))
        except grpc.RpcError as e:
            raise PaintError(f"{model!r} label {label!r}: {e.code().name}: {e.details()}") \
                from None
        return response.model_spec.version.value

    def paint(self, pixels: np.ndarray, style_controls: dict | None) -> np.ndarray:
        try:
            return self.client.stylize_pixels(self.model, pixels, self.version,
                                              style_controls=style_controls)
        except grpc.RpcError as e:
            raise PaintError(f"the model server failed: {e.code().name}: {e.details()}") \
                from None
