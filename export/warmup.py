"""TF Serving warm-up records: `assets.extra/tf_serving_warmup_requests`.

TF Serving replays these PredictionLogs (a TFRecord file, at most 1000 records) when it
loads a version, so the first user request does not pay for graph initialisation.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image
from tensorflow_serving.apis import prediction_log_pb2

from serving.contract import WARMUP_FILE
from serving.requests import stylize_request

WARMUP_SIDES = (256, 512)


def sample_jpeg(side: int, seed: int = 0) -> bytes:
    """A deterministic smooth test picture (gradients plus noise), encoded as JPEG."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:side, 0:side] / side
    base = np.stack([x, y, 1 - x * y], axis=-1) * 200
    pixels = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def warmup_logs(model_name: str, sides=WARMUP_SIDES) -> list[prediction_log_pb2.PredictionLog]:
    logs = []
    for side in sides:
        request = stylize_request(model_name, [sample_jpeg(side)])
        logs.append(prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request)))
    return logs


def write_warmup(version_dir: Path, model_name: str) -> Path:
    path = version_dir / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for log in warmup_logs(model_name):
            writer.write(log.SerializeToString())
    return path


def read_warmup(version_dir: Path) -> list[prediction_log_pb2.PredictionLog]:
    path = str(version_dir / WARMUP_FILE)
    return [prediction_log_pb2.PredictionLog.FromString(record.numpy())
            for record in tf.data.TFRecordDataset(path)]
