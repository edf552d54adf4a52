from pathlib import Path

import pytest

from local_stack.launch import LaunchConfig, model_server_command
from serving.config_files import (
    CONFIG_DIR,
    BatchingParameters,
    ConfigError,
    MonitoringConfig,
    parse_text,
    read_model_config,
    read_text,
)

CONFIG = CONFIG_DIR
STYLES = Path(__file__).resolve().parent.parent / "styles"


def test_models_config_parses_with_tf_serving_protos():
    config = read_model_config(CONFIG / "models.config")
    names = [c.name for c in config.model_config_list.config]
    assert names and all(c.version_labels["stable"] >= 1 for c in config.model_config_list.config)
    assert all(c.base_path == f"/models/{c.name}" for c in config.model_config_list.config)


def test_models_config_lists_every_bundled_style():
    config = read_model_config(CONFIG / "models.config")
    bundled = {p.parent.name for p in STYLES.glob("*/run.json")}
    assert bundled <= {c.name for c in config.model_config_list.config}


def test_monitoring_and_batching_files_parse():
    monitoring = read_text(CONFIG / "monitoring.config", MonitoringConfig)
    assert monitoring.prometheus_config.enable
    batching = read_text(CONFIG / "batching_parameters.txt", BatchingParameters)
    assert batching.max_batch_size.value == max(batching.allowed_batch_sizes)


@pytest.mark.parametrize("text", ["max_batch_sise { value: 8 }", "max_batch_size: 8"])
def test_typos_in_batching_file_are_caught(text):
    with pytest.raises(ConfigError):
        parse_text(text, BatchingParameters)


def test_duplicate_model_is_refused(tmp_path):
    path = tmp_path / "models.config"
    entry = 'config { name: "a" base_path: "/m/a" model_platform: "tensorflow" }'
    path.write_text(f"model_config_list {{ {entry} {entry} }}")
    with pytest.raises(ConfigError, match="listed twice"):
        read_model_config(path)


def test_launcher_prefers_the_real_binary():
    cfg = LaunchConfig(Path("/etc/models.config"))
    real = model_server_command(cfg, binary="/usr/bin/tensorflow_model_server")
    ours = model_server_command(cfg, binary=None)
    assert real[0] == "/usr/bin/tensorflow_model_server"
    assert ours[1:3] == ["-m", "serving.model_server"]
    assert real[1:] == ours[3:]
