"""What a request asks to paint, checked and resolved to a served model.

`style` is a painting's name or a weighted mix (`starry_night:0.7,great_wave:0.3`);
`strength` (0..1) and `preserve_colors` refine it. The request goes to the model that
holds every painting named: `model` when the request names one, else the catalogue's
multi-style models (the default first), else the single-style model of that name. Every
bad value is a BadParameter (422) that says what is allowed.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from gateway.catalogue import Catalogue
from gateway.errors import BadParameter
from gateway.model_client import ModelClient
from serving.predict_request import controls

MIX_SYNTAX = "a style name, or a mix such as starry_night:0.7,great_wave:0.3"
TRUE, FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


@dataclass(frozen=True)
class PaintRequest:
    model: str
    mix: dict[str, float]  # painting -> share, summing to 1
    strength: float = 1.0
    preserve_colors: bool = False
    version: int | None = None  # pinned to the version whose style names built the mix
    names: tuple[str, ...] = ()  # the model's paintings, for a multi-style model

    @property
    def style(self) -> str:
        """The mix as the X-Style header and logs show it."""
        if len(self.mix) == 1:
            return next(iter(self.mix))
        return ",".join(f"{name}:{share:.2f}" for name, share in self.mix.items())

    def style_controls(self, images: int = 1) -> dict | None:
        if not self.names:
            return None
        row = [self.mix.get(name, 0.0) for name in self.names]
        return controls([row] * images, [self.strength] * images, [self.preserve_colors] * images)


def parse_mix(text: str) -> dict[str, float]:
    text = text.strip()
    if not text:
        raise BadParameter("missing parameter 'style'; GET /api/v1/styles lists them")
    mix: dict[str, float] = {}
    for part in text.split(","):
        name, colon, weight = (s.strip() for s in part.partition(":"))
        if not name or (colon and not weight):
            raise BadParameter(f"malformed style {text!r}: expected {MIX_SYNTAX}")
        try:
            value = float(weight) if colon else 1.0
        except ValueError:
            raise BadParameter(f"malformed weight {weight!r} for {name!r}: expected {MIX_SYNTAX}") \
                from None
        if not math.isfinite(value) or value < 0:
            raise BadParameter(f"the weight of {name!r} must be a number >= 0, got {weight!r}")
        if name in mix:
            raise BadParameter(f"style {name!r} appears twice in {text!r}")
        mix[name] = value
    total = sum(mix.values())
    if total <= 0:
        raise BadParameter(f"the weights of {text!r} are all 0: give at least one a weight > 0")
    return {name: value / total for name, value in mix.items()}


def parse_strength(raw: str) -> float:
    if not raw.strip():
        return 1.0
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # NaN fails too
        raise BadParameter(f"strength must be a number from 0 (the photo) to 1 (the full "
                           f"style), got {raw!r}")
    return value


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
    for candidate in [model] if model else catalogue.models:
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
    if unavailable and set(mix) <= set(catalogue.paintings):
        raise unavailable  # the model that would hold them is not loaded
    where = f"model {model!r}" if model else "any model"
    unknown = ", ".join(repr(n) for n in mix)
    raise BadParameter(f"unknown style {unknown} for {where} (a mix needs one multi-style "
                       "model holding every painting); GET /api/v1/styles lists them")
