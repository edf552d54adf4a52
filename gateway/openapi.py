"""The OpenAPI 3.1 description of the JSON API (served at /api/v1/openapi.json)."""
from __future__ import annotations

_ERROR = {"description": "error", "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/Error"}}}}


def openapi_document(hard_max_side: int, default_max_side: int) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Stylize API", "version": "1.0.0",
                 "description": "Turn a photo into a painting with a feed-forward style network."},
        "paths": {
            "/api/v1/styles": {"get": {
                "summary": "The styles, with the model versions the model server has loaded",
                "responses": {"200": {"description": "styles", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Styles"}}}}}}},
            "/api/v1/stylize": {"post": {
                "summary": "Stylize an uploaded photo; returns a JPEG",
                "requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
                    "type": "object", "required": ["image", "style"],
                    "properties": {
                        "image": {"type": "string", "format": "binary",
                                  "description": "JPEG, PNG, WebP, GIF, BMP or TIFF"},
                        "style": {"type": "string", "description": "a name from /api/v1/styles"},
                        "max_side": {"type": "integer", "minimum": 16, "maximum": hard_max_side,
                                     "default": default_max_side,
                                     "description": "the long side is scaled down to this"},
                        "version": {"type": "integer", "minimum": 1},
                        "label": {"type": "string", "description": "e.g. stable or canary"},
                    }}}}},
                "responses": {
                    "200": {"description": "the stylized image",
                            "content": {"image/jpeg": {"schema": {"type": "string",
                                                                  "format": "binary"}}}},
                    **{code: _ERROR for code in ("400", "413", "415", "422", "429", "503", "504")},
                }}},
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"],
                      "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}},
            "Styles": {"type": "object", "properties": {"styles": {"type": "array", "items": {
                "type": "object", "properties": {
                    "name": {"type": "string"}, "title": {"type": "string"},
                    "artist": {"type": "string"}, "year": {"type": "string"},
                    "licence": {"type": "string"}, "available": {"type": "boolean"},
                    "versions": {"type": "array", "items": {"type": "integer"}}}}}}},
        }},
    }
