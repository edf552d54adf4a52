"""Reading and writing video files through ffmpeg (the binary the imageio-ffmpeg wheel
ships, so nothing needs installing system-wide)."""
from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np


class ClipError(Exception):
    """A video that cannot be read or written, with ffmpeg's reason."""


@dataclass(frozen=True)
class Clip:
    path: Path
    size: tuple[int, int]  # width, height as stored
    fps: float
    frames: int            # estimated from the duration (containers rarely store a count)
    has_audio: bool


def _ffmpeg_reason(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "ffmpeg could not read it"


def open_clip(path: Path) -> Clip:
    if not path.is_file():
        raise ClipError(f"{path}: no such file")
    try:
        reader = imageio_ffmpeg.read_frames(str(path))
        meta = next(reader)
        reader.close()
    except (OSError, RuntimeError, StopIteration) as e:
        raise ClipError(f"{path} is not a video ffmpeg can read ({_ffmpeg_reason(str(e))})") \
            from None
    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
                           capture_output=True, text=True, errors="replace")
    fps = float(meta.get("fps") or 25.0)
    return Clip(path, tuple(meta["source_size"]), fps,
                max(1, round(float(meta.get("duration") or 0) * fps)),
                bool(re.search(r"Stream #\S+.*: Audio:", probe.stderr)))


def painted_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """At most `max_side` on the long side, never larger than the source, both sides even
    (what H.264 in yuv420p needs)."""
    scale = min(1.0, max_side / max(size))
    return tuple(max(2, int(round(side * scale / 2)) * 2) for side in size)


def frames(clip: Clip, size: tuple[int, int], batch: int) -> Iterator[np.ndarray]:
    """uint8 [n <= batch, height, width, 3] RGB, scaled by ffmpeg on its way out."""
    width, height = size
    reader = imageio_ffmpeg.read_frames(str(clip.path),
                                        output_params=["-vf", f"scale={width}:{height}"])
    pending = []
    try:
        next(reader)
        for raw in reader:
            pending.append(np.frombuffer(raw, np.uint8).reshape(height, width, 3))
            if len(pending) == batch:
                yield np.stack(pending)
                pending = []
        if pending:
            yield np.stack(pending)
    except (OSError, RuntimeError) as e:
        raise ClipError(f"{clip.path}: reading stopped ({_ffmpeg_reason(str(e))})") from None
    finally:
        reader.close()


class Writer:
    """The painted video: send() it uint8 [height, width, 3] frames, then close() it.
    H.264 at ffmpeg's `veryfast` preset (the encoder shares the cores with the painting),
    and the source's audio, re-encoded as AAC so any container's audio fits an .mp4.
    A file ffmpeg cannot write (a format it does not know, a full disk) is a ClipError."""

    def __init__(self, path: Path, clip: Clip, size: tuple[int, int]):
        self.path = path
        self._out = imageio_ffmpeg.write_frames(
            str(path), size, fps=clip.fps, macro_block_size=2, ffmpeg_log_level="error",
            output_params=["-preset", "veryfast"],
            audio_path=str(clip.path) if clip.has_audio else None,
            audio_codec="aac" if clip.has_audio else None)
        self._checked(self._out.send, None)

    def _checked(self, call, *args) -> None:
        try:
            call(*args)
        except (OSError, RuntimeError) as e:
            raise ClipError(f"cannot write {self.path} ({_ffmpeg_reason(str(e))})") from None

    def send(self, frame: np.ndarray) -> None:
        self._checked(self._out.send, frame)

    def close(self) -> None:
        self._checked(self._out.close)
