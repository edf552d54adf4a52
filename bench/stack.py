"""The local stack for benchmarks: one model (the `fast` preset unless told otherwise) in
a temporary repository, served by the same supervised stack as `make run`, with the
gateway's rate limit off (the load comes from one address)."""
from __future__ import annotations

import contextlib
import json
import tempfile
from pathlib import Path

from export.export_run import PRECISIONS
from local_stack.launch import free_port
from local_stack.stack import LocalStack, StackConfig
from serving.config_files import ModelServerConfig, model_config_text, pin_model

MODEL = "bench"


def _export_model(repo: Path, preset: str, precision: str) -> None:
    import tensorflow as tf

    from bench.model_latency import export_preset

    export_preset(preset, str(repo / MODEL / "1"), PRECISIONS[precision])
    tf.keras.backend.clear_session()


@contextlib.contextmanager
def local_stack(preset: str = "fast", precision: str = "float32"):
    """Yields the running LocalStack (its model_config_file is what a rollout changes);
    stops it afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _export_model(root / "repo", preset, precision)
        config = ModelServerConfig()
        pin_model(config, MODEL, str(root / "repo" / MODEL), 1)
        (root / "models.config").write_text(model_config_text(config))
        (root / "catalogue.json").write_text(json.dumps({"styles": [
            {"name": MODEL, "title": "Benchmark", "artist": "bench", "year": "2026"}]}))
        stack = LocalStack(StackConfig(
            root / "models.config", grpc_port=free_port(), rest_port=free_port(), port=free_port(),
            gateway_env={"GATEWAY_CATALOGUE_FILE": str(root / "catalogue.json"),
                         "GATEWAY_STYLIZE_RATE_LIMIT": "", "GATEWAY_LIVE_RATE_LIMIT": ""},
            log=root / "stack.log"))
        stack.start(models=[MODEL])
        try:
            yield stack
        finally:
            stack.stop()
