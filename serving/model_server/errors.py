"""The model server's exceptions; grpc_api.py maps them to status codes in one place."""


class ServingError(Exception):
    """Base class: `code` names the grpc.StatusCode (and the TF Serving error code)."""

    code = "INTERNAL"


class NotFound(ServingError):
    code = "NOT_FOUND"


class InvalidArgument(ServingError):
    code = "INVALID_ARGUMENT"


class Unavailable(ServingError):
    code = "UNAVAILABLE"


class FailedPrecondition(ServingError):
    code = "FAILED_PRECONDITION"
