"""Builds the one Predict request every client of ours sends: encoded images in, JPEG out.

The TensorProto is built directly (no TensorFlow runtime call), so light clients such
as the gateway and the load tester stay cheap.
"""
from __future__ import annotations

from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2
from tensorflow_serving.apis import predict_pb2

from serving.contract import INPUT_IMAGES, OUTPUT_IMAGES, SIGNATURE_ENCODED


def string_tensor(values: list[bytes]) -> tensor_pb2.TensorProto:
    shape = tensor_shape_pb2.TensorShapeProto(
        dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=len(values))])
    return tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, tensor_shape=shape, string_val=values)


def stylize_request(model: str, images: list[bytes], version: int | None = None,
                    label: str | None = None) -> predict_pb2.PredictRequest:
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = SIGNATURE_ENCODED
    if version is not None:
        request.model_spec.version.value = version
    elif label:
        request.model_spec.version_label = label
    request.inputs[INPUT_IMAGES].CopyFrom(string_tensor(images))
    request.output_filter.append(OUTPUT_IMAGES)
    return request


def stylized_images(response: predict_pb2.PredictResponse) -> list[bytes]:
    return list(response.outputs[OUTPUT_IMAGES].string_val)
