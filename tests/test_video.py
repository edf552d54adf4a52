"""`python -m video`: a video file painted frame by frame, locally or through the server."""
import json
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from tests.conftest import high_frequency_share
from video.__main__ import main
from video.clip import open_clip
from video.steady import Steady


def make_clip(path, size="64x48", seconds=1, audio=True):
    """A test pattern (and a tone) made by the ffmpeg of the imageio-ffmpeg wheel."""
    tone = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=22050"] if audio else []
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=10", *tone, "-t", str(seconds),
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", *(["-c:a", "aac"] if audio else []),
                    "-shortest", str(path)], check=True)
    return path


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return make_clip(tmp_path_factory.mktemp("clip") / "clip.mp4")


def frames_of(path):
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    return meta["size"], sum(1 for _ in reader)


def video(*args) -> subprocess.CompletedProcess:
    """`python -m video ...` in a process of its own, as people run it (this test process
    may have gRPC threads of its own running, which forking ffmpeg from here would meet)."""
    return subprocess.run([sys.executable, "-m", "video", *map(str, args)], capture_output=True,
                          text=True, timeout=300, cwd=Path(__file__).resolve().parent.parent)


def test_a_mix_painted_locally_keeps_the_frames_and_the_sound(clip, model_repo, tmp_path):
    out = tmp_path / "painted.mp4"
    done = video(clip, "-o", out, "--repo", model_repo, "--model", "tiny_multi",
                 "--style", "dawn:0.7,dusk:0.3", "--strength", "0.8", "--max-side", "32", "--quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    assert frames_of(out) == ((32, 24), frames_of(clip)[1])
    assert open_clip(out).has_audio
    assert "by tiny_multi version 1" in done.stdout


def test_through_the_model_server_in_batches(clip, model_server, tmp_path):
    out = tmp_path / "painted.mov"  # the container follows the extension
    silent = make_clip(tmp_path / "silent.mkv", audio=False)
    done = video(silent, "-o", out, "--server", model_server.grpc_target, "--model", "tiny",
                 "--batch", "4", "--steady", "0", "--quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    assert frames_of(out) == ((64, 48), 10) and not open_clip(out).has_audio


@pytest.mark.parametrize("args,message", [
    (["--model", "tiny", "--strength", "0.5"], "'tiny' is a single-style model"),
    (["--model", "tiny_multi", "--style", "noon"], "has no painting 'noon'; it has: dawn, dusk"),
    (["--model", "tiny_multi", "--style", "dawn:x"], "malformed weight 'x'"),
    (["--model", "nothing"], "no version of 'nothing'"),
    (["--model", "tiny_multi", "--steady", "1"], "steady must be from 0"),
    (["--model", "tiny_multi", "--strength", "2"], "--strength must be from 0 to 1"),
    (["--model", "tiny_multi", "--stroke-size", "3"], "--stroke-size must be a number from 0.5"),
])
def test_bad_requests_are_refused_before_any_work(clip, model_repo, tmp_path, capsys, args, message):
    out = tmp_path / "painted.mp4"
    assert main([str(clip), "-o", str(out), "--repo", str(model_repo), "--quiet", *args]) == 2
    assert message in capsys.readouterr().err and not out.exists()


def first_frame(path) -> np.ndarray:
    reader = imageio_ffmpeg.read_frames(str(path))
    (width, height) = next(reader)["size"]
    frame = np.frombuffer(next(reader), np.uint8).reshape(height, width, 3).astype(float)
    reader.close()
    return frame


def test_the_stroke_size_is_the_catalogues_unless_given(clip, model_repo, tmp_path):
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(json.dumps({"styles": [
        {"name": "tiny_multi", "multi_style": True, "stroke_sizes": {"dusk": 2}}]}))
    runs = {}
    for given in ([], ["--stroke-size", "1"]):
        out = tmp_path / f"painted{len(given)}.mp4"
        done = video(clip, "-o", out, "--repo", model_repo, "--model", "tiny_multi",
                     "--style", "dusk", "--catalogue", catalogue, "--steady", "0", "--quiet",
                     *given)
        assert done.returncode == 0, done.stderr[-2000:]
        assert frames_of(out)[0] == (64, 48)
        runs[done.stdout.split("(stroke size ")[1].split(")")[0]] = first_frame(out)
    assert set(runs) == {"2", "1"}
    # Painted at 32x24 and enlarged: 3-4% of the power high, against 11-21% painted at full
    # size (mean pixel-to-pixel differences, tried first, overlapped on a 4-step network).
    assert high_frequency_share(runs["2"]) < 0.5 * high_frequency_share(runs["1"])


def test_an_output_ffmpeg_cannot_write_is_a_clear_error(clip, model_repo, tmp_path):
    done = video(clip, "-o", tmp_path / "painted.nosuchformat", "--repo", model_repo,
                 "--model", "tiny_multi", "--quiet")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "video: error: cannot write" in done.stderr and "nosuchformat" in done.stderr


def test_a_file_that_is_no_video_is_a_clear_error(model_repo, tmp_path, capsys):
    bad = tmp_path / "holiday.mp4"
    bad.write_bytes(b"not a video at all" * 100)
    assert main([str(bad), "-o", str(tmp_path / "out.mp4"), "--repo", str(model_repo)]) == 2
    err = capsys.readouterr().err
    assert "holiday.mp4 is not a video ffmpeg can read" in err and "Traceback" not in err
    assert main([str(tmp_path / "absent.mp4"), "-o", str(tmp_path / "o.mp4")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_steady_keeps_the_last_painting_only_where_the_photo_stood_still():
    rng = np.random.default_rng(0)
    photo, first, second = (rng.integers(0, 256, (8, 8, 3), dtype=np.uint8) for _ in range(3))
    steady = Steady(0.5)
    assert (steady(photo, first) == first).all()
    moved = photo.copy()
    moved[:4] += 128  # the top half changes by half the range, the bottom not at all
    shown = steady(moved, second).astype(int)
    assert (shown[:4] == second[:4]).all()
    assert np.abs(shown[4:] - (first[4:].astype(int) + second[4:]) / 2).max() <= 1
    assert (Steady(0)(photo, second) == second).all()
