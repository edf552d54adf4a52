"""gRPC services of TF Serving: PredictionService, ModelService and the health service."""
from __future__ import annotations

import time

import grpc
import tensorflow as tf
from google.protobuf import any_pb2
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_management_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
)

from serving.config_files import ConfigError, check_model_config
from serving.model_server.errors import LOAD_FAILURE, InvalidArgument, ServingError, numeric_code
from serving.model_server.metrics import record_predict
from serving.model_server.registry import ModelRegistry

HEALTH_SERVICES = ("", "tensorflow.serving.PredictionService")


class ErrorMapping(grpc.ServerInterceptor):
    """The one place project exceptions become gRPC status codes."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method.rsplit("/", 1)[-1]
        inner = handler.unary_unary

        def wrapped(request, context):
            start, code = time.perf_counter(), "OK"
            try:
                return inner(request, context)
            except ServingError as e:
                code = e.code
                context.abort(grpc.StatusCode[e.code], str(e))
            except Exception:
                code = "INTERNAL"  # gRPC answers UNKNOWN; counted as what it is, not OK
                raise
            finally:
                if method == "Predict":  # what TF Serving counts (serving/model_server/metrics.py)
                    record_predict(request.model_spec.name, "GRPC", code,
                                   time.perf_counter() - start)

        return grpc.unary_unary_rpc_method_handler(
            wrapped, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)


def _spec_target(spec) -> tuple[int | None, str | None]:
    which = spec.WhichOneof("version_choice")
    if which == "version":
        return spec.version.value, None
    if which == "version_label":
        return None, spec.version_label
    return None, None


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, registry: ModelRegistry):
        self.registry = registry

    def Predict(self, request, context):
        try:
            inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        except (TypeError, ValueError) as e:
            raise InvalidArgument(f"cannot read input tensor: {e}") from None
        servable, signature, outputs = self.registry.predict(
            request.model_spec.name, *_spec_target(request.model_spec),
            request.model_spec.signature_name, inputs, list(request.output_filter))
        response = predict_pb2.PredictResponse()
        response.model_spec.name = servable.name
        response.model_spec.version.value = servable.version
        response.model_spec.signature_name = signature
        for key, value in outputs.items():
            response.outputs[key].CopyFrom(tf.make_tensor_proto(value))
        return response

    def GetModelMetadata(self, request, context):
        if list(request.metadata_field) != ["signature_def"]:
            raise InvalidArgument("metadata_field must be exactly ['signature_def']")
        version, label = _spec_target(request.model_spec)
        servable = self.registry.resolve(request.model_spec.name, version, label)
        defs = get_model_metadata_pb2.SignatureDefMap()
        for key, value in servable.signature_defs.items():
            defs.signature_def[key].CopyFrom(value)
        packed = any_pb2.Any()
        packed.Pack(defs)
        response = get_model_metadata_pb2.GetModelMetadataResponse()
        response.model_spec.name = servable.name
        response.model_spec.version.value = servable.version
        response.metadata["signature_def"].CopyFrom(packed)
        return response


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, registry: ModelRegistry, on_reload=None):
        self.registry = registry
        self.on_reload = on_reload

    def GetModelStatus(self, request, context):
        version, label = _spec_target(request.model_spec)
        response = get_model_status_pb2.GetModelStatusResponse()
        State = get_model_status_pb2.ModelVersionStatus.State
        for v, state, message in self.registry.statuses(request.model_spec.name, version, label):
            status = response.model_version_status.add(version=v, state=State.Value(state))
            status.status.error_code = numeric_code(LOAD_FAILURE if message else "OK")
            status.status.error_message = message
        return response

    def HandleReloadConfigRequest(self, request, context):
        try:
            check_model_config(request.config, "ReloadConfigRequest")
        except ConfigError as e:
            raise InvalidArgument(str(e)) from None
        self.registry.apply_config(request.config)
        if self.on_reload:
            self.on_reload()
        return model_management_pb2.ReloadConfigResponse()


def add_services(server: grpc.Server, registry: ModelRegistry):
    """Registers the three services; returns a function that refreshes the health status."""
    health_servicer = health.HealthServicer()

    def update_health():
        serving = health_pb2.HealthCheckResponse.SERVING if registry.any_available() \
            else health_pb2.HealthCheckResponse.NOT_SERVING
        for service in HEALTH_SERVICES:
            health_servicer.set(service, serving)

    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(registry), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(
        ModelService(registry, on_reload=update_health), server)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    update_health()
    return update_health
