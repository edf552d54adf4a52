"""Paint a video file with a style, frame by frame, keeping its sound.

  python -m video clip.mp4 -o painted.mp4 --style starry_night
  python -m video clip.mov -o painted.mp4 --style starry_night:0.7,great_wave:0.3 --strength 0.8
  python -m video clip.mp4 -o painted.mp4 --server 127.0.0.1:8500 --style the_scream

Any format ffmpeg reads goes in; an H.264 .mp4 (or what the output's extension asks for)
comes out, with the original's audio. Without --server the model comes from the local
model repository (`make models`) and paints in this process; with --server the frames go
to that model server (ours or TF Serving) in batches over gRPC.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from serving.contract import LABEL_STABLE
from serving.style_mix import (
    catalogue_stroke_sizes,
    check_stroke_size,
    mix_stroke_size,
    parse_mix,
    resized,
)


@dataclass(frozen=True)
class VideoConfig:
    max_side: int = 640      # long side of the painted video (the source's if smaller)
    batch: int = 1           # frames per Predict: on CPUs one at a time is fastest (cache)
    # Batches painted at once, the cores shared among them: on 2 cores, two calls of one
    # thread each paint a 640x360 frame every 68 ms, one call on both cores every 80 ms.
    in_flight: int = 2
    steady: float = 0.5      # 0 = off; how much of the last painting a still pixel keeps
    stroke_size: float = 1.0  # frames painted at 1/stroke_size of their size, then enlarged


def paint_video(clip, output: Path, painter, look, cfg: VideoConfig, progress) -> tuple[int, tuple]:
    """Paints `clip` into `output`; returns (frames, size). ffmpeg decodes ahead and encodes
    behind in its own processes; here `cfg.in_flight` batches are painted at once, and
    written in order as each is done."""
    from video.clip import Writer, frames, painted_size
    from video.steady import Steady

    size, steady, count = painted_size(clip.size, cfg.max_side), Steady(cfg.steady), 0
    smaller = tuple(max(16, round(side / cfg.stroke_size)) for side in size)
    out = Writer(output, clip, size)
    painting: deque = deque()

    def paint(batch, controls):
        if smaller == size:
            return painter.paint(batch, controls)
        return resized(painter.paint(resized(batch, smaller), controls), size)

    def write_oldest() -> int:
        batch, painted = painting.popleft()
        for photo, result in zip(batch, painted.result(), strict=True):
            out.send(steady(photo, result))
        progress(len(batch))
        return len(batch)

    try:
        with ThreadPoolExecutor(cfg.in_flight) as pool:
            for batch in frames(clip, size, cfg.batch):
                controls = painter.style_controls(look, len(batch))
                painting.append((batch, pool.submit(paint, batch, controls)))
                if len(painting) == cfg.in_flight:
                    count += write_oldest()
            while painting:
                count += write_oldest()
    finally:
        out.close()
    return count, size


def build_parser() -> argparse.ArgumentParser:
    d = VideoConfig()
    p = argparse.ArgumentParser(prog="python -m video", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", type=Path, help="the video to paint")
    p.add_argument("-o", "--output", type=Path, required=True, help="the painted video (.mp4)")
    look = p.add_argument_group("the look")
    look.add_argument("--model", default="masters",
                      help="the model that paints (default %(default)s: the multi-style one)")
    look.add_argument("--style", default="", help="a painting of the model, or a mix such as "
                      "starry_night:0.7,great_wave:0.3 (default: its first painting)")
    look.add_argument("--strength", type=float, default=1.0,
                      help="0 = the video itself ... 1 = the full style (default %(default)s)")
    look.add_argument("--preserve-colors", action="store_true", help="keep the video's colours")
    look.add_argument("--steady", type=float, default=d.steady,
                      help="less flicker: how much of the last painted frame a pixel keeps where "
                           "the video did not move, 0 (off) to 0.95 (default %(default)s)")
    look.add_argument("--max-side", type=int, default=d.max_side,
                      help="long side of the painted video in pixels (default %(default)s)")
    look.add_argument("--stroke-size", type=float, default=None,
                      help="brushwork relative to the picture, 0.5 (finer) to 2 (larger): the "
                           "frames are painted at 1/stroke-size of --max-side and enlarged "
                           "(default: the size the site paints the style at, from --catalogue; "
                           "1 where it gives none)")
    look.add_argument("--catalogue", type=Path, default=Path("styles/catalogue.json"),
                      help="where the site's stroke sizes are (default %(default)s)")
    where = p.add_argument_group("where the model runs")
    where.add_argument("--repo", type=Path, default=Path("model_repo"),
                       help="local model repository, without --server (default %(default)s)")
    where.add_argument("--server", help="a model server's gRPC host:port, e.g. 127.0.0.1:8500")
    where.add_argument("--label", default=LABEL_STABLE,
                       help="the version label asked of --server (default %(default)s)")
    where.add_argument("--batch", type=int, default=d.batch,
                       help="frames per Predict (default %(default)s; more for a GPU server)")
    where.add_argument("--in-flight", type=int, default=d.in_flight,
                       help="Predicts at once (default %(default)s)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def _checked(args) -> tuple:
    from video.painters import Look

    if not 0.0 <= args.strength <= 1.0:
        raise ValueError(f"--strength must be from 0 to 1, got {args.strength}")
    if not 16 <= args.max_side <= 4096 or not 1 <= args.batch <= 64 or \
            not 1 <= args.in_flight <= 16:
        raise ValueError("--max-side must be 16..4096, --batch 1..64 and --in-flight 1..16")
    if not args.output.parent.is_dir():
        raise ValueError(f"{args.output.parent} is not a folder")
    if args.output.resolve() == args.input.resolve():
        raise ValueError("the output would overwrite the input: give another -o")
    if args.stroke_size is not None:
        check_stroke_size(args.stroke_size, "--stroke-size")
    look = Look(parse_mix(args.style) if args.style.strip() else None, args.strength,
                args.preserve_colors)
    return look, VideoConfig(max_side=args.max_side, batch=args.batch, steady=args.steady,
                             in_flight=args.in_flight)


def _stroke_size(args, painter) -> float:
    """--stroke-size, else the catalogue's for the look (serving/style_mix.py)."""
    if args.stroke_size is not None:
        return args.stroke_size
    mix = parse_mix(args.style) if args.style.strip() else \
        {(painter.names or [args.model])[0]: 1.0}
    return mix_stroke_size(catalogue_stroke_sizes(args.catalogue).get(args.model, {}), mix)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # ffmpeg is started while a gRPC channel runs (--server): without this, gRPC's fork
    # handlers run in the child before it execs ffmpeg and can hang it. Before gRPC loads.
    os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
    from tqdm import tqdm

    from serving import tf_env
    from video.clip import ClipError, open_clip
    from video.painters import LocalPainter, PaintError, ServerPainter
    from video.steady import Steady

    tf_env.apply()
    try:
        look, cfg = _checked(args)
        Steady(cfg.steady)  # its range, before any work
        clip = open_clip(args.input)
        painter = ServerPainter(args.server, args.model, args.label) if args.server \
            else LocalPainter(args.repo, args.model, max(1, (os.cpu_count() or 1) // cfg.in_flight))
        painter.style_controls(look, 1)  # the look fits the model, before any work
        cfg = replace(cfg, stroke_size=_stroke_size(args, painter))
        start = time.monotonic()
        with tqdm(total=clip.frames, unit="frame", disable=args.quiet, desc="painting") as bar:
            count, size = paint_video(clip, args.output, painter, look, cfg, bar.update)
    except (ValueError, ClipError, PaintError) as e:
        print(f"video: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"video: interrupted; {args.output} is incomplete", file=sys.stderr)
        return 130
    seconds = time.monotonic() - start
    print(f"video: {count} frames at {size[0]}x{size[1]} (stroke size {cfg.stroke_size:g}) "
          f"in {seconds:.1f} s "
          f"({count / seconds:.1f} frames/s) by {args.model} version {painter.version} -> "
          f"{args.output}{' with its audio' if clip.has_audio else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
