"""Two training steps of the painting network on the backend KERAS_BACKEND names, for
tests/test_backends.py: python tests/backend_steps.py OUT.npz DISTANCE writes the transform
net's weights before and after, and the last step's losses, with the trained painting's
style term of that distance (the other painting's always the Grams)."""
import sys

import keras
import numpy as np

from training.arbitrary_net import ARBITRARY_TRANSFORMER
from training.loss_config import LossConfig
from training.magenta_weights import start_painting_network
from training.model import StyleTransferModel
from training.transformer_net import build_transformer
from training.vgg import build_loss_network


def main(out: str, distance: str) -> None:
    rng = np.random.default_rng(0)
    paintings = [rng.uniform(0, 255, (40, 48, 3)).astype("float32") for _ in range(2)]
    photos = rng.uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    losses = LossConfig(content_layer="block2_conv2",
                        style_layers={"block1_conv2": 1.0, "block2_conv2": 1.0},
                        half_size_style_weight=0.1, colour_style_weight=1.0, tv_weight=1.0)
    transformer = build_transformer("magenta", styles=3, identity=True)
    start_painting_network(transformer, paintings)
    transformer.get_layer(ARBITRARY_TRANSFORMER).trainable = True
    # The second painting, then the identity condition (its own loss and the predictor).
    model = StyleTransferModel(transformer, build_loss_network(losses.vgg_layers), paintings,
                               losses, identity=True, trained=[1, 2],
                               distances=["gram", distance])
    model.compile(optimizer=keras.optimizers.SGD(1e-4))
    before = [np.array(w.numpy()) for w in transformer.trainable_weights]
    logs = model.fit(photos, batch_size=2, epochs=1, shuffle=False, verbose=0).history
    after = [np.array(w.numpy()) for w in transformer.trainable_weights]
    np.savez(out, loss=logs["loss"][-1], style=logs["style"][-1],
             **{f"before{i}": w for i, w in enumerate(before)},
             **{f"after{i}": w for i, w in enumerate(after)})


if __name__ == "__main__":
    main(*sys.argv[1:3])
