"""The model server's exceptions and their one mapping to gRPC and HTTP status codes
(grpc_api.py's interceptor and rest_api.py's error handler both read it)."""
import grpc


class ServingError(Exception):
    """Base class: `code` names the grpc.StatusCode (TF Serving's error codes are the same
    numbers), `http_status` what the REST API answers."""

    code = "INTERNAL"
    http_status = 500


class NotFound(ServingError):
    code, http_status = "NOT_FOUND", 404


class InvalidArgument(ServingError):
    code, http_status = "INVALID_ARGUMENT", 400


class Unavailable(ServingError):
    code, http_status = "UNAVAILABLE", 503


class FailedPrecondition(ServingError):
    code, http_status = "FAILED_PRECONDITION", 400


# What GetModelStatus reports for a version that failed to load (TF Serving passes on the
# loader's status; a SavedModel that does not load is UNKNOWN to us).
LOAD_FAILURE = "UNKNOWN"


def numeric_code(name: str) -> int:
    """'UNKNOWN' -> 2: the number a StatusProto's error_code carries."""
    return grpc.StatusCode[name].value[0]
