"""TF Serving's three configuration files, parsed with protobuf text format.

- models.config: `ModelServerConfig` from tensorflow-serving-api (the real proto).
- monitoring.config (`--monitoring_config_file`) and batching_parameters.txt
  (`--batching_parameters_file`): their protos (MonitoringConfig, BatchingParameters)
  are not in the tensorflow-serving-api wheel, so the fields TF Serving reads are
  declared here by name. Text format is matched by field name, so a typo or a wrong
  type fails here as it would in tensorflow_model_server.
"""
from __future__ import annotations

from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format
from tensorflow_serving.config import model_server_config_pb2

from serving.contract import LABEL_STABLE

ModelServerConfig = model_server_config_pb2.ModelServerConfig
# The file name TF Serving is pointed at in a model repository (and the ConfigMap key).
MODELS_CONFIG = "models.config"
# TF Serving's configuration files, once: where the cluster's kustomize base reads them
# (inside its own tree, so `kubectl apply -k` needs no flag); the local stack uses them too.
CONFIG_DIR = Path(__file__).resolve().parent.parent / "k8s" / "base" / "model-server-config"


class ConfigError(Exception):
    """A configuration file does not parse or does not make sense."""


def _declare_messages() -> dict:
    f = descriptor_pb2.FileDescriptorProto(
        name="stylize_serving_config.proto", package="tensorflow.serving", syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"])
    T = descriptor_pb2.FieldDescriptorProto
    opt, rep = T.LABEL_OPTIONAL, T.LABEL_REPEATED

    def message(name, fields):
        m = f.message_type.add(name=name)
        for number, (field, kind, label, type_name) in enumerate(fields, start=1):
            m.field.add(name=field, number=number, type=kind, label=label, type_name=type_name)

    message("PrometheusConfig", [("enable", T.TYPE_BOOL, opt, None),
                                 ("path", T.TYPE_STRING, opt, None)])
    message("MonitoringConfig", [("prometheus_config", T.TYPE_MESSAGE, opt,
                                  ".tensorflow.serving.PrometheusConfig")])
    int64 = (T.TYPE_MESSAGE, opt, ".google.protobuf.Int64Value")
    message("BatchingParameters", [
        ("max_batch_size", *int64), ("batch_timeout_micros", *int64),
        ("max_enqueued_batches", *int64), ("num_batch_threads", *int64),
        ("thread_pool_name", T.TYPE_MESSAGE, opt, ".google.protobuf.StringValue"),
        ("allowed_batch_sizes", T.TYPE_INT64, rep, None),
        ("pad_variable_length_inputs", T.TYPE_BOOL, opt, None),
    ])
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(f.name)
    except KeyError:
        from google.protobuf import wrappers_pb2  # noqa: F401  (registers the dependency)
        pool.Add(f)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(
        f"tensorflow.serving.{name}")) for name in ("MonitoringConfig", "BatchingParameters")}


_MESSAGES = _declare_messages()
MonitoringConfig = _MESSAGES["MonitoringConfig"]
BatchingParameters = _MESSAGES["BatchingParameters"]


def parse_text(text: str, message_type, source: str = "config"):
    try:
        return text_format.Parse(text, message_type())
    except text_format.ParseError as e:
        raise ConfigError(f"{source}: {e}") from None


def read_text(path: Path, message_type):
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from None
    return parse_text(text, message_type, str(path))


def read_model_config(path: Path) -> ModelServerConfig:
    config = read_text(path, ModelServerConfig)
    check_model_config(config, str(path))
    return config


def check_model_config(config: ModelServerConfig, source: str = "models.config") -> None:
    """Checks what the proto cannot: one entry per name, a base path, the tensorflow platform."""
    if not config.HasField("model_config_list"):
        raise ConfigError(f"{source}: expected a model_config_list")
    seen = set()
    for model in config.model_config_list.config:
        if not model.name or not model.base_path:
            raise ConfigError(f"{source}: every model needs a name and a base_path")
        if model.name in seen:
            raise ConfigError(f"{source}: model {model.name!r} is listed twice")
        if model.model_platform not in ("", "tensorflow"):
            raise ConfigError(f"{source}: {model.name}: unsupported platform {model.model_platform!r}")
        seen.add(model.name)


def model_config_text(config: ModelServerConfig) -> str:
    return text_format.MessageToString(config)


def pin_model(config: ModelServerConfig, name: str, base_path: str, version: int) -> None:
    """Adds `name` serving exactly `version` under the `stable` label, as the cluster's
    models.config does: a version copied into the repository is not served until the
    rollout tool loads and labels it, and the gateway asks for `stable`."""
    entry = config.model_config_list.config.add(name=name, base_path=base_path,
                                                model_platform="tensorflow")
    entry.model_version_policy.specific.versions.append(version)
    entry.version_labels[LABEL_STABLE] = version
