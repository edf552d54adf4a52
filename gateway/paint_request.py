"""What a request asks to paint, checked and resolved to a served model.

`style` is a painting's name or a weighted mix (`starry_night:0.7,great_wave:0.3`);
`strength` (0..1) and `preserve_colors` refine it. The request goes to the model that
holds every painting named: `model` when the request names one, else the catalogue's
multi-style models (the default first), else the single-style model of that name, else
the arbitrary-style model with the embeddings the catalogue stores for those paintings.
`style_embedding` mixes paintings people uploaded (gateway/own_paintings.py) instead.
Every bad value is a BadParameter (422) that says what is allowed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from gateway.catalogue import Catalogue
from gateway.errors import BadParameter
from gateway.model_client import ModelClient
from gateway.own_paintings import ID_LENGTH, EmbeddingCache, cached_embeddings, mean_embedding
from serving import style_mix
from serving.predict_request import controls, embedding_controls
from serving.style_mix import STROKE_SIZE_RULE, STROKE_SIZES

TRUE, FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class PaintRequest:
    model: str
    mix: dict[str, float]  # painting -> share, summing to 1
    strength: float = 1.0
    preserve_colors: bool = False
    version: int | None = None  # pinned to the version whose style names built the mix
    names: tuple[str, ...] = ()  # the model's paintings, for a multi-style model
    embedding: tuple[float, ...] = ()  # the mix's embedding, for an arbitrary-style model

    @property
    def style(self) -> str:
        """The mix as the X-Style header and logs show it (an uploaded painting by the
        start of its id)."""
        short = {name: name[:12] if len(name) == ID_LENGTH else name for name in self.mix}
        if len(self.mix) == 1:
            return next(iter(short.values()))
        return ",".join(f"{short[name]}:{share:.2f}" for name, share in self.mix.items())

    def style_controls(self, images: int = 1) -> dict | None:
        strength, keep = [self.strength] * images, [self.preserve_colors] * images
        if self.embedding:
            return embedding_controls([list(self.embedding)] * images, strength, keep)
        if not self.names:
            return None
        return controls([[self.mix.get(name, 0.0) for name in self.names]] * images, strength, keep)


def parse_mix(text: str) -> dict[str, float]:
    if not text.strip():
        raise BadParameter("missing parameter 'style'; GET /api/v1/styles lists them")
    try:
        return style_mix.parse_mix(text)
    except ValueError as e:
        raise BadParameter(str(e)) from None


def _number_in(raw: str, low: float, high: float, error: str, default: float = 1.0) -> float:
    """`raw` as a number in low..high (`default` when empty), else BadParameter(error)."""
    if not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not low <= value <= high:  # NaN fails too
        raise BadParameter(f"{error}, got {raw!r}")
    return value


def parse_strength(raw: str) -> float:
    return _number_in(raw, 0.0, 1.0, "strength must be a number from 0 (the photo) to 1 "
                                     "(the full style)")


def parse_stroke_size(raw: str, default: float) -> float:
    """How large the brushwork is relative to the photo: the model paints the photo at
    1/stroke_size of its size (a network's strokes have a fixed size in pixels), and the
    painting is scaled back. `default`: the catalogue's for the style
    (Catalogue.stroke_size)."""
    return _number_in(raw, *STROKE_SIZES, f"stroke_size must be {STROKE_SIZE_RULE}", default)


def parse_flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value not in TRUE + FALSE:
        raise BadParameter(f"{name} must be true or false, got {raw!r}")
    return value in TRUE


def resolve(form, catalogue: Catalogue, client: ModelClient, version: int | None,
            label: str | None) -> PaintRequest:
    """The request's PaintRequest (form: the multipart fields)."""
    mix = parse_mix(form.get("style", ""))
    strength = parse_strength(form.get("strength", ""))
    keep = parse_flag("preserve_colors", form.get("preserve_colors", ""))
    model = form.get("model", "").strip()
    if model and model not in catalogue.models:
        raise BadParameter(f"unknown model {model!r}; GET /api/v1/styles lists the models")
    unavailable: BadParameter | None = None
    trained = [*catalogue.multi_style, *catalogue.single_style]
    candidates = trained if not model else [model] if model in trained else []
    for candidate in candidates:
        if candidate in catalogue.multi_style:
            try:
                names, served = client.style_names(candidate, version, label)
            except BadParameter as e:  # not loaded (or not that version): try the next
                if model:
                    raise
                unavailable = e
                continue
            if set(mix) <= set(names):
                return PaintRequest(candidate, mix, strength, keep, served, tuple(names))
        elif list(mix) == [candidate]:
            if strength != 1.0 or keep:
                raise BadParameter(f"{candidate!r} is a single-style model: strength and "
                                   "preserve_colors need a multi-style model's painting")
            return PaintRequest(candidate, mix, version=version)
    if catalogue.arbitrary and set(mix) <= set(catalogue.embeddings) and \
            (not model or model in catalogue.arbitrary):
        embeddings = {name: list(catalogue.embeddings[name]) for name in mix}
        return PaintRequest(model or catalogue.arbitrary[0], mix, strength, keep, version,
                            embedding=tuple(mean_embedding(mix, embeddings)))
    if unavailable and set(mix) <= set(catalogue.paintings):
        raise unavailable  # the model that would hold them is not loaded
    where = f"model {model!r}" if model else "any model"
    unknown = ", ".join(repr(n) for n in mix)
    raise BadParameter(f"unknown style {unknown} for {where} (a mix needs one multi-style "
                       "model holding every painting); GET /api/v1/styles lists them")


def arbitrary_model(form, catalogue: Catalogue) -> str:
    """The arbitrary-style model a request asks for (`model`, else the catalogue's first)."""
    model = form.get("model", "").strip()
    if model and model not in catalogue.arbitrary:
        raise BadParameter(f"{model!r} is not an arbitrary-style model (the catalogue has: "
                           f"{', '.join(catalogue.arbitrary) or 'none'})")
    if not model and not catalogue.arbitrary:
        raise BadParameter("this site has no arbitrary-style model: paintings of your own "
                           "cannot be used")
    return model or catalogue.arbitrary[0]


def resolve_own(form, catalogue: Catalogue, cache: EmbeddingCache,
                version: int | None) -> PaintRequest:
    """A request painting with uploaded paintings: `style_embedding` names their ids
    (from POST /api/v1/embeddings) as a mix, `id` or `id:0.7,id2:0.3`."""
    model = arbitrary_model(form, catalogue)
    mix = parse_mix(form.get("style_embedding", ""))
    embeddings = cached_embeddings(mix, model, cache)
    return PaintRequest(model, mix, parse_strength(form.get("strength", "")),
                        parse_flag("preserve_colors", form.get("preserve_colors", "")), version,
                        embedding=tuple(mean_embedding(mix, embeddings)))
