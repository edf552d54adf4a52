import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import export.gate
from export.export_run import main
from export.warmup import read_warmup
from serving.config_files import read_model_config
from serving.contract import (
    INPUT_IMAGES,
    INPUT_PIXELS,
    METADATA_FILE,
    OUTPUT_IMAGES,
    OUTPUT_PIXELS,
    SIGNATURE_ENCODED,
    SIGNATURE_PIXELS,
)
from serving.samples import sample_jpeg


def test_published_model_answers_both_signatures(model_repo):
    loaded = tf.saved_model.load(str(model_repo / "tiny" / "1"))
    pixels = np.zeros((2, 20, 28, 3), np.uint8)
    out = loaded.signatures[SIGNATURE_PIXELS](**{INPUT_PIXELS: tf.constant(pixels)})
    assert out[OUTPUT_PIXELS].shape == (2, 20, 28, 3) and out[OUTPUT_PIXELS].dtype == tf.uint8
    files = tf.constant([sample_jpeg(40), sample_jpeg(24)])
    encoded = loaded.signatures[SIGNATURE_ENCODED](**{INPUT_IMAGES: files})[OUTPUT_IMAGES]
    assert [tuple(tf.io.decode_jpeg(e).shape) for e in encoded] == [(40, 40, 3), (24, 24, 3)]


def test_warmup_file_parses_as_prediction_logs(model_repo):
    logs = read_warmup(model_repo / "tiny" / "1")
    assert 1 <= len(logs) <= 1000
    request = logs[0].predict_log.request
    assert request.model_spec.name == "tiny"
    assert request.model_spec.signature_name == SIGNATURE_ENCODED
    assert INPUT_IMAGES in request.inputs


def test_pixels_signature_gives_each_image_of_a_batch_what_it_gives_it_alone(model_repo):
    # A batch of one and larger batches run different graphs (see Stylizer.stylize_pixels).
    stylize = tf.saved_model.load(str(model_repo / "tiny" / "1")).signatures[SIGNATURE_PIXELS]
    pixels = np.random.default_rng(0).integers(0, 256, (3, 40, 52, 3), np.uint8)
    batch = stylize(**{INPUT_PIXELS: tf.constant(pixels)})[OUTPUT_PIXELS].numpy().astype(int)
    for i in range(3):
        alone = stylize(**{INPUT_PIXELS: tf.constant(pixels[i:i + 1])})[OUTPUT_PIXELS]
        assert np.abs(alone.numpy()[0].astype(int) - batch[i]).max() <= 1


def test_metadata_records_the_training(model_repo):
    meta = json.loads((model_repo / "tiny" / "1" / METADATA_FILE).read_text())
    assert meta["preset"] == "tiny" and meta["steps"] == 10 and meta["version"] == 1
    assert set(meta["final_losses"]) == {"loss", "content", "style", "tv"}


def test_exports_number_versions_and_leave_no_staging(tmp_path, trained_run, capsys):
    for _ in range(2):
        assert main([str(trained_run), "--repo", str(tmp_path), "--name", "m"]) == 0
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1", "2"]
    assert "published" in capsys.readouterr().out


@pytest.mark.parametrize("precision,dtype", [("float16", tf.float16), ("bfloat16", tf.bfloat16)])
def test_reduced_precision_export_stays_close_to_float32(tmp_path, trained_run, capsys,
                                                         precision, dtype):
    for p in ("float32", precision):
        assert main([str(trained_run), "--repo", str(tmp_path), "--name", p,
                     "--precision", p]) == 0
    assert f"{precision}, max gate error" in capsys.readouterr().out
    meta = json.loads((tmp_path / precision / "1" / METADATA_FILE).read_text())
    assert meta["precision"] == precision
    pixels = tf.constant(np.random.default_rng(0).integers(0, 256, (1, 40, 52, 3), np.uint8))
    out = {p: tf.saved_model.load(str(tmp_path / p / "1")).signatures[SIGNATURE_PIXELS](
        **{INPUT_PIXELS: pixels})[OUTPUT_PIXELS].numpy().astype(int) for p in ("float32", precision)}
    assert np.abs(out[precision] - out["float32"]).max() <= export.gate.MAX_GREY_LEVELS[precision]
    graph = tf.saved_model.load(str(tmp_path / precision / "1")).signatures[SIGNATURE_PIXELS].graph
    nodes = [n for f in graph.as_graph_def().library.function for n in f.node_def]
    assert any(n.op == "Conv2D" and n.attr["T"].type == dtype for n in nodes)


def test_failed_gate_leaves_no_version(tmp_path, trained_run, monkeypatch, capsys):
    monkeypatch.setitem(export.gate.MAX_GREY_LEVELS, "float32", -1)
    assert main([str(trained_run), "--repo", str(tmp_path), "--name", "m"]) == 1
    assert "grey levels" in capsys.readouterr().err
    assert list((tmp_path / "m").iterdir()) == []


def test_explicit_existing_version_is_refused(tmp_path, trained_run, capsys):
    assert main([str(trained_run), "--repo", str(tmp_path), "--name", "m", "--version", "3"]) == 0
    assert main([str(trained_run), "--repo", str(tmp_path), "--name", "m", "--version", "3"]) == 1
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["--name", "Bad Name!"], ["--name", "m", "--version", "0"]])
def test_bad_arguments_are_refused(tmp_path, trained_run, args):
    assert main([str(trained_run), "--repo", str(tmp_path), *args]) == 2


def test_not_a_run_directory_is_a_clear_error(tmp_path, capsys):
    assert main([str(tmp_path), "--repo", str(tmp_path / "r"), "--name", "m"]) == 1
    assert "not a training run" in capsys.readouterr().err


def test_bundled_styles_export_once_with_a_models_config(tmp_path, trained_run, capsys):
    import shutil

    from export.bundled_styles import main as bundled_main

    styles = tmp_path / "styles"
    for f in ("run.json", "transformer.weights.h5"):
        (styles / "alpha").mkdir(parents=True, exist_ok=True)
        shutil.copy(trained_run / f, styles / "alpha" / f)
    repo = tmp_path / "repo"
    assert bundled_main(["--styles", str(styles), "--repo", str(repo)]) == 0
    assert bundled_main(["--styles", str(styles), "--repo", str(repo)]) == 0
    assert "already in" in capsys.readouterr().out
    assert [p.name for p in (repo / "alpha").iterdir()] == ["1"]
    config = read_model_config(repo / "models.config")
    entry = config.model_config_list.config[0]
    assert entry.base_path == str((repo / "alpha").resolve())
    # Pinned like the cluster's: a version copied into the repository is not served by itself.
    assert list(entry.model_version_policy.specific.versions) == [1]
    assert dict(entry.version_labels) == {"stable": 1}
    from export.bundled_styles import local_precision
    from serving.contract import METADATA_FILE

    served = json.loads((repo / "alpha" / "1" / METADATA_FILE).read_text())["precision"]
    assert served == local_precision("auto")


@pytest.mark.parametrize("flags,expected", [
    ("fpu sse avx2 avx512f", "float32"), ("fpu avx2 avx512f avx512_bf16", "bfloat16"),
    ("fpu avx2 amx_bf16 amx_tile", "bfloat16")])
def test_local_models_are_bfloat16_where_the_cpu_computes_it(tmp_path, monkeypatch, flags, expected):
    from serving import tf_env

    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {flags}\n")
    monkeypatch.setattr(tf_env.cpu_has_bfloat16, "__defaults__", (cpuinfo,))
    from export.bundled_styles import local_precision

    assert local_precision("auto") == expected
    assert local_precision("float16") == "float16"


def test_bundled_export_keeps_what_a_rollout_set(tmp_path, trained_run, model_repo):
    import shutil

    from export.bundled_styles import main as bundled_main

    for name in ("alpha", "beta"):
        (tmp_path / "styles" / name).mkdir(parents=True)
        for f in ("run.json", "transformer.weights.h5"):
            shutil.copy(trained_run / f, tmp_path / "styles" / name / f)
    repo, args = tmp_path / "repo", ["--styles", str(tmp_path / "styles"), "--repo", str(tmp_path / "repo")]
    shutil.copytree(model_repo / "tiny", repo / "alpha")  # exported already: not again
    assert bundled_main(args) == 0
    assert sorted(p.name for p in (repo / "alpha").iterdir()) == ["1"]
    shutil.copytree(repo / "alpha" / "1", repo / "alpha" / "2")
    # alpha after `rollout publish` + `rollback`; beta as an older `make models` wrote it.
    rolled_out = (f'model_config_list {{ config {{ name: "alpha" base_path: "{repo / "alpha"}" '
                  'model_platform: "tensorflow" model_version_policy { specific { versions: [1, 2] } } '
                  'version_labels { key: "stable" value: 1 } } '
                  f'config {{ name: "beta" base_path: "{repo / "beta"}" model_platform: "tensorflow" '
                  'model_version_policy { latest { num_versions: 1 } } } }')
    (repo / "models.config").write_text(rolled_out)
    assert bundled_main(args) == 0
    config = {c.name: c for c in read_model_config(repo / "models.config").model_config_list.config}
    assert list(config["alpha"].model_version_policy.specific.versions) == [1, 2]
    assert dict(config["alpha"].version_labels) == {"stable": 1}
    assert dict(config["beta"].version_labels) == {"stable": 1}
    pinned = (repo / "models.config").read_text()
    assert bundled_main(args) == 0
    assert (repo / "models.config").read_text() == pinned


def test_the_arbitrary_style_transformer_exports_in_bfloat16_within_the_gate(tmp_path):
    from export.arbitrary_export import export_arbitrary
    from serving.contract import METADATA_FILE

    target = Path(export_arbitrary(tmp_path, "arbitrary", precision="bfloat16"))
    assert json.loads((target / METADATA_FILE).read_text())["precision"] == "bfloat16"
    loaded = tf.saved_model.load(str(target))
    paints = loaded.signatures["stylize_pixels"](
        pixels=tf.constant(np.full((1, 32, 48, 3), 120, np.uint8)),
        style_embeddings=tf.zeros((1, 100)), strength=tf.constant([1.0]),
        preserve_colors=tf.constant([False]))["pixels"]
    assert paints.dtype == tf.uint8 and paints.shape == (1, 32, 48, 3)


@pytest.mark.parametrize("flags", [[True, True, True], [False, False, False], [True, False, True]])
def test_colours_are_kept_for_exactly_the_images_that_ask(flags):
    from export.stylizer import _colors_kept, keep_photo_colors

    rng = np.random.default_rng(4)
    painted, photo = (tf.constant(rng.uniform(0, 255, (3, 4, 5, 3)), tf.float32) for _ in "ab")
    kept = keep_photo_colors(painted, photo)
    out = _colors_kept(painted, photo, tf.constant(flags))
    for i, keep in enumerate(flags):
        np.testing.assert_allclose(out[i], kept[i] if keep else painted[i])
