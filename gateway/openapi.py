"""The OpenAPI 3.1 description of the JSON API (served at /api/v1/openapi.json)."""
from __future__ import annotations

from serving.style_mix import STROKE_SIZES

_ERROR = {"description": "error", "content": {"application/json": {"schema": {
    "$ref": "#/components/schemas/Error"}}}}


# Every upload route answers these the same way (gateway/errors.py).
_ERRORS = {code: _ERROR for code in ("400", "413", "415", "422", "429", "503", "504")}
_VERSION = {"version": {"type": "integer", "minimum": 1},
            "label": {"type": "string", "description": "e.g. stable or canary"}}
_CONTROLS = {
    "strength": {"type": "number", "minimum": 0, "maximum": 1, "default": 1,
                 "description": "0 gives the photo, 1 the full style (multi-style models)"},
    "preserve_colors": {"type": "boolean", "default": False,
                        "description": "keep the photo's colours (multi-style models)"},
}


def _multipart(required: list[str], properties: dict) -> dict:
    return {"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "required": required, "properties": properties}}}}


def _painting_route(summary: str, default_max_side: int, max_side: int,
                    own_paintings: bool) -> dict:
    uploads = {
        "style_image": {"type": "array", "maxItems": 4, "items": {
            "type": "string", "format": "binary"},
            "description": "instead of style: paintings of your own (embedded "
                           "once, cached by SHA-256)"},
        "style_image_weights": {"type": "string", "examples": ["0.7,0.3"],
                                "description": "one weight per style_image"},
    } if own_paintings else {}
    return {
        "summary": summary,
        "requestBody": _multipart(["image", "style"], {
            "image": {"type": "string", "format": "binary",
                      "description": "JPEG, PNG, WebP, GIF, BMP or TIFF"},
            "style": {"type": "string", "examples": [
                "starry_night", "starry_night:0.7,great_wave:0.3"],
                "description": "a name from /api/v1/styles, or a mix of a "
                               "multi-style model's paintings: name:weight,... "
                               "(weights >= 0, not all 0, normalized to sum 1)"},
            "style_embedding": {"type": "string", "description":
                                "instead of style: ids from /api/v1/embeddings, "
                                "one or a mix id:weight,... (your own paintings)"},
            **uploads,
            "model": {"type": "string", "description":
                      "the model to ask (default: the multi-style model holding "
                      "every painting named, else the single-style model, else "
                      "the arbitrary-style model)"},
            **_CONTROLS,
            "stroke_size": {
                "type": "number", "minimum": STROKE_SIZES[0], "maximum": STROKE_SIZES[1],
                "description": "brushwork relative to the photo: the model paints the "
                "image at 1/stroke_size of max_side (finer strokes at most at the largest "
                "max_side) and the painting is scaled back; any model. Default: the "
                "style's stroke_size in /api/v1/styles (a mix: its paintings' sizes "
                "weighted by their shares), 1 as trained where the catalogue gives none"},
            "max_side": {"type": "integer", "minimum": 16, "maximum": max_side,
                         "default": default_max_side,
                         "description": "the long side is scaled down to this"},
            **_VERSION,
        }),
        "responses": {
            "200": {"description": "the painted image",
                    "content": {"image/jpeg": {"schema": {"type": "string",
                                                          "format": "binary"}}}},
            **_ERRORS,
        }}


def _hd_routes(max_side: int) -> dict:
    """Refine in HD (gateway/hd_proxy.py): 404 on every route where the site offers no HD."""
    job = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/HDJob"}}}}
    by_id = [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]
    errors = {code: _ERROR for code in ("404", "422", "503")}
    return {
        "/api/v1/hd": {"post": {
            "summary": "Start refining a picture with the optimisation-based algorithm "
                       "(Gatys et al. 2015); 429 with Retry-After while every slot is busy",
            "requestBody": _multipart(["image"], {
                "image": {"type": "string", "format": "binary", "description": "the photo"},
                "start": {"type": "string", "format": "binary",
                          "description": "the picture to refine (default: the photo)"},
                "style": {"type": "string", "examples": ["starry_night:0.7,great_wave:0.3"],
                          "description": "paintings whose `hd` is true in /api/v1/styles, "
                                         "or a mix of them"},
                "painting": {"type": "array", "maxItems": 4, "items": {
                    "type": "string", "format": "binary"},
                    "description": "instead of or beside style: paintings of your own"},
                "iterations": {"type": "integer", "minimum": 1, "maximum": 1000,
                               "description": "a cap (default: the worker's, enough to "
                                              "converge); a job also ends when it converges "
                                              "or reaches the worker's time limit"},
                "max_side": {"type": "integer", "minimum": 16, "maximum": max_side,
                             "default": max_side},
                "preserve_colors": _CONTROLS["preserve_colors"],
            }),
            "responses": {"202": {"description": "the job, started", **job},
                          **{code: _ERROR for code in ("400", "404", "413", "415", "422",
                                                       "429", "503")}}}},
        "/api/v1/hd/{id}": {
            "get": {"summary": "A job's progress (asking keeps it alive: one nobody asks "
                               "about for a few seconds is cancelled)", "parameters": by_id,
                    "responses": {"200": {"description": "the job", **job}, **errors}},
            "delete": {"summary": "Cancel a job (it stops at its next step)", "parameters": by_id,
                       "responses": {"200": {"description": "the job", **job}, **errors}}},
        "/api/v1/hd/{id}/picture": {"get": {
            "summary": "The job's latest picture", "parameters": by_id,
            "responses": {"200": {"description": "JPEG", "content": {"image/jpeg": {
                "schema": {"type": "string", "format": "binary"}}}},
                "409": {**_ERROR, "description": "no picture yet"}, **errors}}},
    }


def openapi_document(cfg) -> dict:
    """The document for the gateway's settings (Flask config: sizes and limits)."""
    hard_max_side, default_max_side = cfg["HARD_MAX_SIDE"], cfg["DEFAULT_MAX_SIDE"]
    preview_side, preview_max_side = cfg["PREVIEW_SIDE"], cfg["PREVIEW_MAX_SIDE"]
    live_side, live_max_side = cfg["LIVE_SIDE"], cfg["LIVE_MAX_SIDE"]
    return {
        "openapi": "3.1.0",
        "info": {"title": "Stylize API", "version": "1.0.0",
                 "description": "Turn a photo into a painting with a feed-forward style network."},
        "paths": {
            "/api/v1/styles": {"get": {
                "summary": "The styles, with the model versions the model server has loaded",
                "responses": {"200": {"description": "styles", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Styles"}}}}}}},
            "/api/v1/stylize": {"post": _painting_route(
                "Stylize an uploaded photo; returns a JPEG", default_max_side, hard_max_side,
                own_paintings=True)},
            "/api/v1/frames": {"post": _painting_route(
                "Paint one live camera frame (small, short deadline, its own rate limit; "
                "503 with Retry-After when live mode is at capacity): /stylize's fields "
                "without style_image", live_side, live_max_side, own_paintings=False)},
            "/api/v1/embeddings": {"post": {
                "summary": "Embed paintings of your own (up to 4) for the arbitrary-style "
                           "model, once: their ids go into /stylize's style_embedding",
                "requestBody": _multipart(["painting"], {
                    "painting": {"type": "array", "maxItems": 4, "items": {
                        "type": "string", "format": "binary"}},
                    "model": {"type": "string"},
                    **_VERSION,
                }),
                "responses": {
                    "200": {"description": "an id per painting (its SHA-256), in order",
                            "content": {"application/json": {"schema": {
                                "$ref": "#/components/schemas/Embeddings"}}}},
                    **_ERRORS,
                }}},
            "/api/v1/previews": {"post": {
                "summary": "The photo in every painting of a multi-style model, small, in one call",
                "requestBody": _multipart(["image"], {
                    "image": {"type": "string", "format": "binary"},
                    "model": {"type": "string",
                              "description": "a multi-style model (default: the site's)"},
                    "side": {"type": "integer", "minimum": 16, "maximum": preview_max_side,
                             "default": preview_side},
                    **_CONTROLS,
                    **_VERSION,
                }),
                "responses": {
                    "200": {"description": "one JPEG data URL per painting, in the model's order",
                            "content": {"application/json": {"schema": {
                                "$ref": "#/components/schemas/Previews"}}}},
                    **_ERRORS,
                }}},
            **_hd_routes(cfg["HD_MAX_SIDE"]),
        },
        "components": {"schemas": {
            "Error": {"type": "object", "required": ["error"],
                      "properties": {"error": {"type": "string"}, "status": {"type": "integer"}}},
            "Styles": {"type": "object", "properties": {
                "styles": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "title": {"type": "string"},
                    "artist": {"type": "string"}, "year": {"type": "string"},
                    "licence": {"type": "string"}, "available": {"type": "boolean"},
                    "model": {"type": "string", "description": "the model that paints it"},
                    "controls": {"type": "boolean",
                                 "description": "mixes, strength and preserve_colors apply"},
                    "thumbnail": {"type": ["string", "null"]},
                    "hd": {"type": "boolean", "description":
                           "/api/v1/hd can refine it by name (the HD worker holds the painting)"},
                    "stroke_size": {"type": "number", "description":
                                    "the stroke size /stylize paints it at when asked for none"},
                    "versions": {"type": "array", "items": {"type": "integer"}}}}},
                "models": {"type": "array", "items": {"type": "object", "properties": {
                    "name": {"type": "string"}, "multi_style": {"type": "boolean"},
                    "arbitrary": {"type": "boolean"},
                    "available": {"type": "boolean"},
                    "versions": {"type": "array", "items": {"type": "integer"}},
                    "paintings": {"type": "array", "items": {"type": "string"}}}}},
                "hd": {"type": "boolean", "description": "this site offers /api/v1/hd"}}},
            "HDJob": {"type": "object", "properties": {
                "id": {"type": "string"},
                "state": {"type": "string", "enum": ["running", "done", "cancelled", "failed"]},
                "step": {"type": "integer"}, "iterations": {"type": "integer"},
                "elapsed_s": {"type": "number"}, "eta_s": {"type": ["number", "null"]},
                "losses": {"type": "object", "additionalProperties": {"type": "number"}},
                "note": {"type": "string", "description": "why it ended (converged, time "
                         "limit, abandoned)"},
                "has_picture": {"type": "boolean"}}},
            "Embeddings": {"type": "object", "properties": {
                "model": {"type": "string"},
                "paintings": {"type": "array", "items": {"type": "object", "properties": {
                    "id": {"type": "string"}, "cached": {"type": "boolean"}}}}}},
            "Previews": {"type": "object", "properties": {
                "model": {"type": "string"}, "version": {"type": "integer"},
                "width": {"type": "integer"}, "height": {"type": "integer"},
                "previews": {"type": "array", "items": {"type": "object", "properties": {
                    "style": {"type": "string"},
                    "image": {"type": "string", "description": "data:image/jpeg;base64,..."}}}}}},
        }},
    }
