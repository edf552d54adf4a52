"""`make bench`: model latency per preset, then gateway overhead and throughput."""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> int:
    from bench import end_to_end, model_latency, variants

    print("== model latency (exported SavedModel, serving signature) ==")
    model_latency.run()
    print("\n== inference variants ==")
    variants.run()
    print("\n== end to end (512 px) ==")
    end_to_end.run()
    return 0


sys.exit(main())
