"""One loaded model version: a SavedModel, its signature defs, and how to call it."""
from __future__ import annotations

from pathlib import Path

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from serving.contract import WARMUP_FILE
from serving.model_server.errors import InvalidArgument, NotFound

MAX_WARMUP_RECORDS = 1000


def read_signature_defs(version_dir: Path) -> dict:
    """The SignatureDef protos of saved_model.pb (what GetModelMetadata returns)."""
    model = saved_model_pb2.SavedModel.FromString((version_dir / "saved_model.pb").read_bytes())
    return dict(model.meta_graphs[0].signature_def)


class Servable:
    def __init__(self, name: str, version: int, path: Path):
        self.name, self.version, self.path = name, version, path
        self.model = tf.saved_model.load(str(path))
        self.signature_defs = read_signature_defs(path)

    def signature(self, name: str):
        name = name or "serving_default"
        if name not in self.model.signatures:
            raise NotFound(f"Serving signature name: \"{name}\" not found in signature def "
                           f"(model {self.name} version {self.version})")
        return name, self.model.signatures[name]

    def only_input(self, signature_name: str) -> str:
        """The alias of the signature's one input; InvalidArgument if it has several."""
        aliases = list(self.signature_defs[self.signature(signature_name)[0]].inputs)
        if len(aliases) != 1:
            raise InvalidArgument("this signature has several inputs: name them")
        return aliases[0]

    def predict(self, signature_name: str, inputs: dict, output_filter=()) -> tuple[str, dict]:
        """inputs {alias: numpy array} -> (signature name, {alias: numpy array})."""
        name, fn = self.signature(signature_name)
        expected = self.signature_defs[name].inputs
        if set(inputs) != set(expected):
            raise InvalidArgument(f"signature {name} expects inputs {sorted(expected)}, "
                                  f"got {sorted(inputs)}")
        try:
            tensors = {k: tf.convert_to_tensor(v) for k, v in inputs.items()}
            outputs = fn(**tensors)
        except (tf.errors.InvalidArgumentError, TypeError, ValueError) as e:
            raise InvalidArgument(str(e).splitlines()[0][:500]) from None
        unknown = set(output_filter) - set(outputs)
        if unknown:
            raise InvalidArgument(f"unknown output_filter {sorted(unknown)}")
        return name, {k: v.numpy() for k, v in outputs.items()
                      if not output_filter or k in output_filter}

    def warm_up(self) -> int:
        """Replays assets.extra/tf_serving_warmup_requests, as TF Serving does on load."""
        from tensorflow_serving.apis import prediction_log_pb2

        path = self.path / WARMUP_FILE
        if not path.is_file():
            return 0
        count = 0
        for record in tf.data.TFRecordDataset(str(path)).take(MAX_WARMUP_RECORDS):
            log = prediction_log_pb2.PredictionLog.FromString(record.numpy())
            request = log.predict_log.request
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
            self.predict(request.model_spec.signature_name, inputs)
            count += 1
        return count
