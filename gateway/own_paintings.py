"""Paintings people bring as styles, for the arbitrary-style model.

A painting is an untrusted upload: it gets the photo's checks (bytes, pixels, format,
decompression bombs) and is scaled to PAINTING_SIDE (the model looks at its centre square
at 256 px). Its embedding is computed once and remembered by the SHA-256 of the upload:
the id `POST /api/v1/embeddings` returns, so that a page moving a slider sends an id, not
the painting again. The cache is bounded (least recently used first out) and per gateway
process: an id another replica made, or one pushed out, is a 422 asking to upload again.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

from gateway.errors import BadParameter
from gateway.images import UploadLimits, prepare_image
from gateway.metrics import EMBEDDING_CACHE

MAX_PAINTINGS = 4
PAINTING_SIDE = 512
ID_LENGTH = 64  # hex SHA-256


class EmbeddingCache:
    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[tuple[str, str], list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, model: str, painting_id: str) -> list[float] | None:
        with self._lock:
            found = self._entries.get((model, painting_id))
            if found is not None:
                self._entries.move_to_end((model, painting_id))
        EMBEDDING_CACHE.labels("hit" if found is not None else "miss").inc()
        return found

    def put(self, model: str, painting_id: str, embedding: list[float]) -> None:
        with self._lock:
            self._entries[(model, painting_id)] = embedding
            self._entries.move_to_end((model, painting_id))
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


@dataclass(frozen=True)
class EmbeddedPainting:
    id: str
    embedding: list[float]
    cached: bool


def embed_uploads(uploads: list, model: str, client, cache: EmbeddingCache,
                  limits: UploadLimits, version: int | None,
                  label: str | None) -> list[EmbeddedPainting]:
    """Each uploaded painting (werkzeug FileStorage) checked, embedded (the ones the cache
    lacks in one Predict) and cached."""
    if not uploads:
        raise BadParameter("no painting: send one or more image files")
    if len(uploads) > MAX_PAINTINGS:
        raise BadParameter(f"at most {MAX_PAINTINGS} paintings per request, got {len(uploads)}")
    found, missing, order = {}, {}, []
    for upload in uploads:
        data = upload.read()
        painting_id = hashlib.sha256(data).hexdigest()
        order.append(painting_id)
        embedding = cache.get(model, painting_id)
        if embedding is not None:
            found[painting_id] = EmbeddedPainting(painting_id, embedding, True)
        elif painting_id not in missing:
            missing[painting_id] = prepare_image(data, upload.mimetype, PAINTING_SIDE, limits).jpeg
    if missing:
        vectors, _ = client.embed(model, list(missing.values()), version, label)
        for painting_id, embedding in zip(missing, vectors, strict=True):
            cache.put(model, painting_id, embedding)
            found[painting_id] = EmbeddedPainting(painting_id, embedding, False)
    return [found[painting_id] for painting_id in order]


def cached_embeddings(mix: dict[str, float], model: str,
                      cache: EmbeddingCache) -> dict[str, list[float]]:
    """The embeddings of a mix of painting ids; an unknown or expired id is a 422."""
    out = {}
    for painting_id in mix:
        embedding = cache.get(model, painting_id)
        if embedding is None:
            raise BadParameter(f"unknown or expired painting id {painting_id[:12]}...: upload "
                               "the painting again (POST /api/v1/embeddings)")
        out[painting_id] = embedding
    return out


def mean_embedding(mix: dict[str, float], embeddings: dict[str, list[float]]) -> list[float]:
    """The weighted mean of the paintings' embeddings: a mix of paintings is one style."""
    width = len(next(iter(embeddings.values())))
    return [sum(share * embeddings[name][i] for name, share in mix.items()) for i in range(width)]
