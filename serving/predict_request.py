"""Builds the one Predict request every client of ours sends: encoded images in, JPEG out.

The TensorProto is built directly (no TensorFlow runtime call), so light clients such
as the gateway and the load tester stay cheap.
"""
from __future__ import annotations

import numpy as np
from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import predict_pb2

from serving.contract import (
    INPUT_EMBEDDINGS,
    INPUT_IMAGES,
    INPUT_PAINTINGS,
    INPUT_PIXELS,
    INPUT_PRESERVE_COLORS,
    INPUT_STRENGTH,
    INPUT_STYLE_WEIGHTS,
    OUTPUT_EMBEDDINGS,
    OUTPUT_IMAGES,
    OUTPUT_PIXELS,
    OUTPUT_STYLE_NAMES,
    SIGNATURE_EMBED,
    SIGNATURE_ENCODED,
    SIGNATURE_PIXELS,
    SIGNATURE_STYLE_NAMES,
)


def _shape(*sizes: int) -> tensor_shape_pb2.TensorShapeProto:
    return tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=size) for size in sizes])


def string_tensor(values: list[bytes]) -> tensor_pb2.TensorProto:
    return tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, tensor_shape=_shape(len(values)),
                                  string_val=values)


def _matrix(rows: list[list[float]]) -> tensor_pb2.TensorProto:
    columns = len(rows[0]) if rows else 0
    return tensor_pb2.TensorProto(dtype=types_pb2.DT_FLOAT, tensor_shape=_shape(len(rows), columns),
                                  float_val=[w for row in rows for w in row])


def controls(style_weights: list[list[float]], strength: list[float],
             preserve_colors: list[bool],
             weights_input: str = INPUT_STYLE_WEIGHTS) -> dict[str, tensor_pb2.TensorProto]:
    """The inputs a multi-style model takes beside the images, one row per image; an
    arbitrary-style model takes embeddings in place of the weights (`embedding_controls`)."""
    return {
        weights_input: _matrix(style_weights),
        INPUT_STRENGTH: tensor_pb2.TensorProto(
            dtype=types_pb2.DT_FLOAT, tensor_shape=_shape(len(strength)), float_val=strength),
        INPUT_PRESERVE_COLORS: tensor_pb2.TensorProto(
            dtype=types_pb2.DT_BOOL, tensor_shape=_shape(len(preserve_colors)),
            bool_val=preserve_colors),
    }


def _request(model: str, signature: str, version: int | None,
             label: str | None) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    elif label:
        request.model_spec.version_label = label
    return request


def embedding_controls(embeddings: list[list[float]], strength: list[float],
                       preserve_colors: list[bool]) -> dict[str, tensor_pb2.TensorProto]:
    return controls(embeddings, strength, preserve_colors, INPUT_EMBEDDINGS)


def stylize_request(model: str, images: list[bytes], version: int | None = None,
                    label: str | None = None,
                    style_controls: dict | None = None) -> predict_pb2.PredictRequest:
    """A Predict of serving_default; `style_controls` (from `controls`) for a multi-style
    model."""
    request = _request(model, SIGNATURE_ENCODED, version, label)
    request.inputs[INPUT_IMAGES].CopyFrom(string_tensor(images))
    for alias, tensor in (style_controls or {}).items():
        request.inputs[alias].CopyFrom(tensor)
    request.output_filter.append(OUTPUT_IMAGES)
    return request


def stylized_images(response: predict_pb2.PredictResponse) -> list[bytes]:
    return list(response.outputs[OUTPUT_IMAGES].string_val)


def pixels_request(model: str, pixels: np.ndarray, version: int | None = None,
                   label: str | None = None,
                   style_controls: dict | None = None) -> predict_pb2.PredictRequest:
    """A Predict of stylize_pixels: uint8 [N, H, W, 3] RGB frames of one size, sent raw
    (frames of a video: no JPEG generation loss, no encoding time on either side)."""
    request = _request(model, SIGNATURE_PIXELS, version, label)
    request.inputs[INPUT_PIXELS].CopyFrom(tensor_pb2.TensorProto(
        dtype=types_pb2.DT_UINT8, tensor_shape=_shape(*pixels.shape),
        tensor_content=np.ascontiguousarray(pixels, np.uint8).tobytes()))
    for alias, tensor in (style_controls or {}).items():
        request.inputs[alias].CopyFrom(tensor)
    request.output_filter.append(OUTPUT_PIXELS)
    return request


def stylized_pixels(response: predict_pb2.PredictResponse) -> np.ndarray:
    tensor = response.outputs[OUTPUT_PIXELS]
    shape = [dim.size for dim in tensor.tensor_shape.dim]
    values = (np.frombuffer(tensor.tensor_content, np.uint8) if tensor.tensor_content
              else np.array(tensor.int_val, np.uint8))
    return values.reshape(shape)


def style_names_request(model: str, version: int | None = None,
                        label: str | None = None) -> predict_pb2.PredictRequest:
    """A Predict of a multi-style model's style_names signature (it takes no input)."""
    request = _request(model, SIGNATURE_STYLE_NAMES, version, label)
    request.output_filter.append(OUTPUT_STYLE_NAMES)
    return request


def style_names(response: predict_pb2.PredictResponse) -> list[str]:
    return [name.decode() for name in response.outputs[OUTPUT_STYLE_NAMES].string_val]


def embed_request(model: str, paintings: list[bytes], version: int | None = None,
                  label: str | None = None) -> predict_pb2.PredictRequest:
    """A Predict of an arbitrary-style model's embed_paintings signature."""
    request = _request(model, SIGNATURE_EMBED, version, label)
    request.inputs[INPUT_PAINTINGS].CopyFrom(string_tensor(paintings))
    request.output_filter.append(OUTPUT_EMBEDDINGS)
    return request


def embeddings(response: predict_pb2.PredictResponse) -> list[list[float]]:
    tensor = response.outputs[OUTPUT_EMBEDDINGS]
    width = tensor.tensor_shape.dim[-1].size
    # Servers pack large float tensors as raw little-endian bytes, small ones as float_val.
    values = (np.frombuffer(tensor.tensor_content, "<f4").tolist() if tensor.tensor_content
              else list(tensor.float_val))
    return [values[i:i + width] for i in range(0, len(values), width)]
