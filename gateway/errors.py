"""The gateway's exceptions and their one translation to JSON HTTP errors."""
from __future__ import annotations

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException


class GatewayError(Exception):
    status = 500
    retry_after: int | None = None

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NoImage(GatewayError):
    status = 400


class ImageTooLarge(GatewayError):
    status = 413


class UnsupportedImageType(GatewayError):
    status = 415


class BadParameter(GatewayError):
    status = 422


class LabelNotFound(BadParameter):
    """The model has no version under the label asked for (e.g. no canary right now)."""


class ModelServerUnavailable(GatewayError):
    status = 503
    retry_after = 5


class LiveFull(GatewayError):
    """Every thread live frames may use is busy (LIVE_MAX_IN_FLIGHT)."""
    status = 503
    retry_after = 1


class ModelServerTimeout(GatewayError):
    status = 504


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(GatewayError)
    def gateway_error(e: GatewayError):
        response = jsonify(error=e.message, status=e.status)
        response.status_code = e.status
        if e.retry_after:
            response.headers["Retry-After"] = str(e.retry_after)
        return response

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException):
        message = e.description
        if e.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
            message = f"upload too large: the limit is {limit} MB"
        elif e.code == 429:  # Flask-Limiter's description is the limit, e.g. "5 per 1 second"
            message = (f"rate limit exceeded: at most {e.description} per client; "
                       "try again after Retry-After seconds")
        response = jsonify(error=message, status=e.code)
        response.status_code = e.code
        return response

    @app.errorhandler(Exception)
    def unexpected(e: Exception):
        app.logger.exception("unhandled error")
        return jsonify(error="internal error; the request was logged", status=500), 500
