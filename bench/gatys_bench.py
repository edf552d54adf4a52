"""The optimisation-based algorithm (training/gatys.py): seconds per iteration at 256, 512
and 1024 px against pastiche (PyPI; PyTorch), timed in turn on the same photo, painting,
size, layers and average pooling; then, at 512 px, the iterations and wall time until the
loss stops improving by 1 % per 10 iterations, for L-BFGS and Adam, from the photo and
from a fast network's output ("refine", what HD does).

pastiche runs in .venv-peer (`make peer` installs torch 2.13.0 and pastiche there) in a
worker process (bench/pastiche_worker.py) that takes one optimisation step per line."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from bench.common import interleaved_timings, median_ms, save, table
from bench.multi_style import PEER_PYTHON, Peer
from serving.samples import sample_pixels
from training import gatys
from training.gatys import converged

SIDES = (256, 512, 1024)
CONVERGENCE_SIDE, MAX_ITERATIONS = 512, 200
ROOT = Path(__file__).resolve().parent.parent
REFINE_FROM = ROOT / "styles" / "starry_night"  # a bundled fast network
# A real photo and the painting of that network when the shared data is there: the
# synthetic ones (noise on gradients) converge far slower than pictures do.
REAL_PHOTO = ROOT.parent / "shared" / "data" / "content-test" / "chicago.jpg"
REAL_PAINTING = ROOT.parent / "shared" / "data" / "styles" / "starry_night.jpg"


def _pastiche_available() -> bool:
    if not PEER_PYTHON.exists():
        return False
    import subprocess

    return subprocess.run([str(PEER_PYTHON), "-c", "import pastiche, torch"],
                          capture_output=True).returncode == 0


def per_iteration(tmp: Path, runs: int) -> dict[str, float]:
    """Median ms of one loss+gradient iteration, ours and pastiche's L-BFGS step."""
    painting = tmp / "painting.png"
    Image.fromarray(sample_pixels(640, 480, seed=7)).save(painting)
    ms, peers = {}, []
    try:
        for side in SIDES:
            photo = tmp / f"photo{side}.png"
            Image.fromarray(sample_pixels(side, side * 3 // 4, seed=1)).save(photo)
            cfg = gatys.GatysConfig(photo=photo, styles=((painting, 1.0),), out=tmp / "o.png",
                                    size=side, style_size=side)
            network = gatys.loss_network(tuple(cfg.losses.vgg_layers), cfg.vgg_weights, "avg")
            pixels = gatys.load_rgb(photo, long_side=side).astype(np.float32)
            problem = gatys.Problem(network, cfg.losses, pixels,
                                    [(gatys.load_rgb(painting, long_side=side).astype(np.float32), 1.0)])
            calls = {f"ours {side} px": lambda p=problem, x=pixels: p.evaluate(x)}
            if _pastiche_available():
                peers.append(Peer("pastiche_worker.py", photo, painting, *pixels.shape[:2], "lbfgs"))
                calls[f"pastiche {side} px"] = peers[-1]
            times = interleaved_timings(calls, runs if side < 1024 else max(3, runs // 2))
            ms.update({name: median_ms(t) for name, t in times.items()})
    finally:
        for peer in peers:
            peer.close()
    return ms


def convergence(tmp: Path, optimizer: str, init: str) -> dict:
    """Iterations and seconds until 10 iterations improve the loss by less than 1 %, with
    VGG19 in the precision the HD worker uses on this machine, built before the clock
    starts, as in a running worker."""
    from hd.jobs import HDConfig

    photo, painting = REAL_PHOTO, REAL_PAINTING
    if not (photo.is_file() and painting.is_file()):
        photo, painting = tmp / "c_photo.png", tmp / "c_painting.png"
        Image.fromarray(sample_pixels(CONVERGENCE_SIDE, CONVERGENCE_SIDE * 3 // 4, seed=2)).save(photo)
        Image.fromarray(sample_pixels(640, 480, seed=7)).save(painting)
    cfg = gatys.GatysConfig(photo=photo, styles=((painting, 1.0),), out=tmp / "o.png",
                            size=CONVERGENCE_SIDE, iterations=MAX_ITERATIONS, optimizer=optimizer,
                            init=init, precision=HDConfig().vgg_precision(),
                            stop_when_converged=True)
    # The HD worker builds VGG19 once per process; a job starts with it built.
    gatys.loss_network(tuple(cfg.losses.vgg_layers), cfg.vgg_weights, cfg.pooling, cfg.precision)
    losses, start = [], time.monotonic()

    def on_progress(step, terms):
        losses.append(terms["loss"])

    gatys.run(cfg, progress=False, on_progress=on_progress)
    return {"optimizer": optimizer, "init": "photo" if init == "photo" else "fast net",
            "photo": photo.name, "precision": cfg.precision, "iterations": len(losses),
            "seconds": time.monotonic() - start,
            "converged": converged(losses), "final_loss": losses[-1] if losses else None}


def run(runs: int = 6) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        ms = per_iteration(Path(tmp), runs)
        print(table(["one iteration (loss + gradient)", "median ms"], [[n, v] for n, v in ms.items()]))
        for side in SIDES:
            if f"pastiche {side} px" in ms:
                print(f"{side} px: ours / pastiche per iteration: "
                      f"{ms[f'ours {side} px'] / ms[f'pastiche {side} px']:.2f} (target < 1)")
        if not _pastiche_available():
            print(f"(no pastiche in {PEER_PYTHON}: `make peer` installs it to time it too)")
        print(f"until the loss improves by < 1 % in 10 iterations, {CONVERGENCE_SIDE} px "
              f"(at most {MAX_ITERATIONS}):", flush=True)
        rows = []
        for init in (str(REFINE_FROM), "photo"):  # refine (what HD does) first
            for optimizer in ("lbfgs", "adam"):
                rows.append(convergence(Path(tmp), optimizer, init))
                r = rows[-1]
                print(f"  {r['optimizer']} from the {r['init']} ({r['photo']}, VGG19 in "
                      f"{r['precision']}): {r['iterations']} iterations, {r['seconds']:.0f} s"
                      f"{'' if r['converged'] else ' (not converged)'}", flush=True)
    data = {"per_iteration_ms": ms, "convergence": rows}
    print(f"wrote {save('gatys', data)}")
    return data
