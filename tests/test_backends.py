"""Training on Keras' JAX backend (GPU machines without TensorFlow; training/backend.py)
makes the same steps as on TensorFlow, and its CLI run writes what a run directory holds,
with TensorFlow out of reach."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY_TRAIN_ARGS

ROOT = Path(__file__).resolve().parents[1]


def _on(backend: str, *argv: str) -> subprocess.CompletedProcess:
    """Runs python with `argv` on `backend`; on JAX as without TensorFlow installed."""
    path = [str(ROOT / "tests" / "without_tensorflow")] if backend == "jax" else []
    env = {**os.environ, "KERAS_BACKEND": backend, "TF_CPP_MIN_LOG_LEVEL": "3",
           "PYTHONPATH": os.pathsep.join([*path, str(ROOT)])}
    return subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)


def _steps_on(backend: str, tmp_path: Path, distance: str) -> dict:
    out = tmp_path / f"{backend}.npz"
    done = _on(backend, "tests/backend_steps.py", str(out), distance)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(np.load(out))


@pytest.mark.parametrize("distance", ["gram", "sliced-wasserstein"])
def test_a_jax_step_updates_the_network_as_tensorflow_does(tmp_path, distance):
    tf, jax = _steps_on("tensorflow", tmp_path, distance), _steps_on("jax", tmp_path, distance)
    np.testing.assert_allclose(jax["loss"], tf["loss"], rtol=1e-5)
    count = sum(name.startswith("before") for name in tf)
    deltas = [(tf[f"after{i}"] - tf[f"before{i}"], jax[f"after{i}"] - jax[f"before{i}"])
              for i in range(count)]
    largest = max(np.abs(t).max() for t, _ in deltas)
    compared = 0
    for t, j in deltas:
        # A bias just before an instance norm has no gradient: what it gets is rounding,
        # ten million times smaller than the rest, and differs between the two.
        if np.abs(t).max() <= 1e-6 * largest:
            continue
        if distance == "gram":
            np.testing.assert_allclose(j, t, rtol=0, atol=1e-3 * np.abs(t).max())
        else:
            # A sort's gradient is not continuous: where two projections are nearly equal,
            # the backends' last-bit differences in the features can swap them, and with
            # them the painting's quantiles they are pulled to: a few weights moved up to
            # 2 % apart. (The same loss of the same features has one gradient on both.)
            assert np.linalg.norm(j - t) < 0.02 * np.linalg.norm(t)
        compared += 1
    assert compared > count // 2


def _train(out: Path, paintings: Path, photo_dir: Path, steps: int, *more: str):
    return _on("jax", "-m", "training", "--style", str(paintings), "--content-dir",
               str(photo_dir), "--out", str(out), "--steps", str(steps), *TINY_TRAIN_ARGS,
               *more)


def test_the_training_cli_runs_on_jax_and_refuses_to_resume(tmp_path, photo_dir,
                                                            multi_style_run):
    out, paintings = tmp_path / "run", multi_style_run.parent / "paintings"
    done = _train(out, paintings, photo_dir, 2, "--identity", "--checkpoint-every", "1",
                  "--preview-every", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads((out / "run.json").read_text())["step"] == 2
    assert (out / "transformer.weights.h5").is_file()
    assert (out / "previews" / "step_000002.jpg").is_file()
    assert not (out / "checkpoints").exists()  # TensorFlow's; a JAX run writes none

    again = _train(out, paintings, photo_dir, 4, "--identity")
    assert again.returncode != 0
    assert "resuming it needs TensorFlow" in again.stderr
    assert "Traceback" not in again.stderr


def test_jax_refuses_float16_and_names_the_way_out(tmp_path, photo_dir, style_image):
    done = _train(tmp_path / "run", style_image, photo_dir, 1, "--mixed-precision", "on")
    assert done.returncode != 0
    assert "--loss-precision bfloat16" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_backend_without_a_training_step_is_refused_before_keras_loads(tmp_path, photo_dir,
                                                                         style_image):
    done = _on("torch", "-m", "training", "--style", str(style_image), "--content-dir",
               str(photo_dir), "--out", str(tmp_path / "run"), "--steps", "1",
               *TINY_TRAIN_ARGS)
    assert done.returncode == 2
    assert "KERAS_BACKEND=torch: training runs on tensorflow or jax" in done.stderr
    assert "Traceback" not in done.stderr
