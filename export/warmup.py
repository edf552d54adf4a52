"""TF Serving warm-up records: `assets.extra/tf_serving_warmup_requests`.

TF Serving replays these PredictionLogs (a TFRecord file, at most 1000 records) when it
loads a version, so the first user request does not pay for graph initialisation.
"""
from __future__ import annotations

from pathlib import Path

import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from serving.contract import EMBEDDING_SIZE, WARMUP_FILE
from serving.predict_request import controls, embed_request, embedding_controls, stylize_request
from serving.samples import sample_jpeg

WARMUP_SIDES = (256, 512)


def warmup_logs(model_name: str, paintings: int | None = None, sides=WARMUP_SIDES,
                arbitrary: bool = False) -> list[prediction_log_pb2.PredictionLog]:
    """One request per side; a multi-style model's (`paintings`) carry its controls, an
    arbitrary-style model's an embedding and strength below 1 (the photo's own embedding
    is computed then), with colour preservation on, so those paths are traced too. An
    arbitrary-style model also embeds a painting."""
    requests = []
    for side in sides:
        style = None
        if paintings:
            style = controls([[1.0] + [0.0] * (paintings - 1)], [1.0], [True])
        elif arbitrary:
            style = embedding_controls([[0.0] * EMBEDDING_SIZE], [0.5], [True])
        requests.append(stylize_request(model_name, [sample_jpeg(side)], style_controls=style))
    if arbitrary:
        requests.append(embed_request(model_name, [sample_jpeg(WARMUP_SIDES[0])]))
    return [prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(
        request=request)) for request in requests]


def write_warmup(version_dir: Path, model_name: str, paintings: int | None = None,
                 arbitrary: bool = False) -> Path:
    path = version_dir / WARMUP_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for log in warmup_logs(model_name, paintings, arbitrary=arbitrary):
            writer.write(log.SerializeToString())
    return path


def read_warmup(version_dir: Path) -> list[prediction_log_pb2.PredictionLog]:
    path = str(version_dir / WARMUP_FILE)
    return [prediction_log_pb2.PredictionLog.FromString(record.numpy())
            for record in tf.data.TFRecordDataset(path)]
