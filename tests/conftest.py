"""Fixtures that build on each other: images -> tiny training run -> model repository
-> model server process -> gateway app -> client."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from serving import tf_env
from serving.samples import sample_pixels

tf_env.apply()
# The tests start ffmpeg, Chromium and servers while in-process gRPC servers run: gRPC's
# fork handlers would run in those children before they exec, and can hang them.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

TINY_TRAIN_ARGS = ["--preset", "tiny", "--image-size", "32", "--batch-size", "2",
                   "--style-size", "64", "--checkpoint-every", "5", "--preview-every", "5",
                   "--seed", "1"]


def write_image(path: Path, size=(64, 48), seed=0, mode="RGB", **save_args) -> Path:
    """The project's synthetic photo (serving/samples.py), saved by Pillow in any mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(sample_pixels(*size, seed=seed)).convert(mode).save(path, **save_args)
    return path


def high_frequency_share(picture: np.ndarray) -> float:
    """The share of a picture's luma power (a video codec halves colour anyway) above half
    the highest frequency it can hold, across or down: next to nothing in a picture
    painted at half size and enlarged."""
    luma = picture @ np.array([0.299, 0.587, 0.114])
    power = np.abs(np.fft.fft2(luma - luma.mean())) ** 2
    rows, cols = (np.abs(np.fft.fftfreq(n)) for n in luma.shape)
    high = np.maximum(rows[:, None], cols[None, :]) > 0.25
    return float(power[high].sum() / power.sum())


def bundled(styles: Path, **runs: Path) -> Path:
    """A styles folder holding each run as a bundled style (run.json and weights) by name."""
    for name, run in runs.items():
        (styles / name).mkdir(parents=True)
        for f in ("run.json", "transformer.weights.h5"):
            shutil.copy(run / f, styles / name / f)
    return styles


@pytest.fixture(scope="session")
def image_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("images")
    write_image(root / "style.png", size=(80, 80), seed=99)
    for i in range(4):
        write_image(root / "photos" / ("nested" if i % 2 else "") / f"p{i}.jpg", seed=i)
    return root


@pytest.fixture(scope="session")
def style_image(image_dir) -> Path:
    return image_dir / "style.png"


@pytest.fixture(scope="session")
def photo_dir(image_dir) -> Path:
    return image_dir / "photos"


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, style_image, photo_dir) -> Path:
    """A tiny network trained for 10 steps (a few seconds)."""
    from training.train import main

    out = tmp_path_factory.mktemp("run")
    argv = ["--style", str(style_image), "--content-dir", str(photo_dir), "--out", str(out),
            "--steps", "10", *TINY_TRAIN_ARGS]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="session")
def multi_style_run(tmp_path_factory, photo_dir) -> Path:
    """A tiny multi-style network (the paintings 'dawn' and 'dusk', and the identity
    condition) trained for 4 steps."""
    from training.train import main

    root = tmp_path_factory.mktemp("multi")
    write_image(root / "paintings" / "dawn.png", size=(72, 64), seed=50)
    write_image(root / "paintings" / "dusk.jpg", size=(64, 72), seed=51)
    argv = ["--style", str(root / "paintings"), "--identity", "--content-dir", str(photo_dir),
            "--out", str(root / "run"), "--steps", "4", *TINY_TRAIN_ARGS]
    assert main(argv) == 0
    return root / "run"


@pytest.fixture(scope="session")
def painting_run(multi_style_run, photo_dir) -> Path:
    """The paintings of multi_style_run on the "magenta" preset (the published arbitrary-
    style network, a row of embedding per painting), with the identity condition, 2 steps."""
    from training.train import main

    out = multi_style_run.parent / "painting_run"
    argv = ["--style", str(multi_style_run.parent / "paintings"), "--identity",
            "--content-dir", str(photo_dir), "--out", str(out), "--steps", "2",
            *TINY_TRAIN_ARGS, "--preset", "magenta"]
    assert main(argv) == 0
    return out


@pytest.fixture(scope="session")
def model_repo(tmp_path_factory, trained_run, multi_style_run) -> Path:
    """A model repository holding version 1 of the models 'tiny', 'tiny_b', the
    multi-style 'tiny_multi' and the arbitrary-style 'arbitrary'."""
    from export.export_run import main

    repo = tmp_path_factory.mktemp("model_repo")
    assert main([str(trained_run), "--repo", str(repo), "--name", "tiny"]) == 0
    # A second model for the price of a copy: a version directory does not name its model.
    shutil.copytree(repo / "tiny", repo / "tiny_b")
    assert main([str(multi_style_run), "--repo", str(repo), "--name", "tiny_multi"]) == 0
    from export.arbitrary_export import export_arbitrary

    export_arbitrary(repo, "arbitrary")  # the published networks: small enough for tests
    return repo


MODELS_CONFIG = """
model_config_list {{
  config {{
    name: "tiny" base_path: "{repo}/tiny" model_platform: "tensorflow"
    model_version_policy {{ all {{}} }}
    version_labels {{ key: "stable" value: 1 }}
  }}
  config {{
    name: "tiny_b" base_path: "{repo}/tiny_b" model_platform: "tensorflow"
    version_labels {{ key: "stable" value: 1 }}
  }}
  config {{
    name: "tiny_multi" base_path: "{repo}/tiny_multi" model_platform: "tensorflow"
    version_labels {{ key: "stable" value: 1 }}
  }}
  config {{
    name: "arbitrary" base_path: "{repo}/arbitrary" model_platform: "tensorflow"
    version_labels {{ key: "stable" value: 1 }}
  }}
}}
"""


def model_server_in_process(config: Path, port: int = 0):
    """Our development model server, in this process (a ModelServer handle: start(),
    stop(), grpc_target, rest_url), on loopback, polling the file system every 0.5 s.
    Tests that kill a server or run the whole stack use real processes instead."""
    from local_stack.launch import free_port
    from serving.model_server.main import ModelServer, ServerConfig

    return ModelServer(ServerConfig(port=port, rest_api_port=free_port(),
                                    model_config_file=str(config),
                                    file_system_poll_wait_seconds=0.5))


@pytest.fixture(scope="session")
def model_server(model_repo, tmp_path_factory):
    """The development model server serving `model_repo` (tiny, tiny_b, tiny_multi and
    arbitrary, label stable=1)."""
    config = tmp_path_factory.mktemp("server") / "models.config"
    config.write_text(MODELS_CONFIG.format(repo=model_repo))
    server = model_server_in_process(config).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def catalogue_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("catalogue") / "catalogue.json"
    path.write_text(json.dumps({"paintings": [
        {"name": "dawn", "title": "Dawn", "artist": "Test Suite", "year": 2026,
         "thumbnail": "paintings/dawn.jpg"},
        # Added without training: the arbitrary-style model paints it from its embedding.
        {"name": "noon", "title": "Noon", "artist": "Test Suite", "year": 2026,
         "embedding": [0.5 * ((i % 7) - 3) for i in range(100)]},
    ], "styles": [
        {"name": "tiny_multi", "multi_style": True, "stroke_sizes": {"dusk": 1.5}},
        {"name": "arbitrary", "arbitrary": True},
        {"name": "tiny", "title": "Tiny", "artist": "Test Suite", "year": 2026},
        {"name": "tiny_b", "title": "Tiny B", "artist": "Test Suite", "year": 2026},
        {"name": "absent", "title": "Absent", "artist": "Nobody", "year": 1900},
    ]}))
    return path


@pytest.fixture
def app(model_server, catalogue_file):
    from gateway import create_app

    return create_app({"TESTING": True, "MODEL_SERVER": model_server.grpc_target,
                       "CATALOGUE_FILE": str(catalogue_file), "PREDICT_TIMEOUT": 20.0,
                       "MAX_CONTENT_LENGTH": 2 * 1024 * 1024, "MAX_PIXELS": 4_000_000,
                       "STYLIZE_RATE_LIMIT": ""})  # test_gateway tests the limit on its own


@pytest.fixture
def client(app):
    return app.test_client()
