"""The catalogue (styles/catalogue.json): the served models and who painted what.

`styles` lists the models the site serves: a single-style model is named after its
painting and carries its title, artist, year and licence; a multi-style model says
`"multi_style": true` and names nothing: which paintings it holds, and in which order,
the model itself answers (its style_names signature), so a new version with more
paintings needs no change here; an arbitrary-style model says `"arbitrary": true` and
paints with any painting's embedding. `paintings` gives the title, artist and thumbnail
of each painting a model may name, and, for a painting added without training
(`python -m export.add_painting`), its `embedding` for the arbitrary-style model.

A model's `stroke_sizes` ({painting: size}, serving/style_mix.py) is the stroke size a
request gets for that painting when it asks for none (1, as trained, for the others): the
size at which that model's picture of the painting came nearest the painting's large
shapes when judged side by side (docs/serving.md). It is the catalogue's and not the
model's because it is a choice about serving, like the titles: a new version that paints
larger shapes on its own changes it here, without a new export.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from serving.style_mix import mix_stroke_size, stroke_sizes_of


@dataclass(frozen=True)
class Style:
    """A painting, as the gallery shows it."""
    name: str
    title: str
    artist: str = ""
    year: str = ""
    licence: str = ""
    thumbnail: str = ""  # a path under gateway/static/

    @classmethod
    def from_entry(cls, entry: dict) -> Style:
        fields = cls.__dataclass_fields__
        values = {k: str(v) for k, v in entry.items() if k in fields}
        values.setdefault("title", values["name"].replace("_", " ").capitalize())
        return cls(**values)


@dataclass(frozen=True)
class Catalogue:
    single_style: dict[str, Style] = field(default_factory=dict)  # model name -> its painting
    multi_style: tuple[str, ...] = ()  # multi-style model names, the site's default first
    paintings: dict[str, Style] = field(default_factory=dict)
    arbitrary: tuple[str, ...] = ()  # arbitrary-style model names (any painting), default first
    embeddings: dict[str, tuple[float, ...]] = field(default_factory=dict)  # painting -> its own
    stroke_sizes: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> painting -> size

    @property
    def models(self) -> list[str]:
        return [*self.multi_style, *self.single_style, *self.arbitrary]

    def stroke_size(self, model: str, mix: dict[str, float]) -> float:
        """The stroke size for `mix` (painting -> share, summing to 1) on `model` when the
        request gives none."""
        return mix_stroke_size(self.stroke_sizes.get(model, {}), mix)

    def painting(self, name: str) -> Style:
        """What the gallery shows for a painting a model names, known or not."""
        return self.paintings.get(name) or self.single_style.get(name) or \
            Style.from_entry({"name": name})


def load_catalogue(path: Path) -> Catalogue:
    """A missing file is an empty catalogue, not an error."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return Catalogue()
    models = data.get("styles", [])
    paintings = {e["name"]: Style.from_entry(e) for e in data.get("paintings", [])}
    single = {}
    for e in models:
        if not e.get("multi_style") and not e.get("arbitrary"):
            known = paintings.get(e["name"])
            single[e["name"]] = Style.from_entry(
                {**({"thumbnail": known.thumbnail} if known else {}), **e})
    return Catalogue(
        single, tuple(e["name"] for e in models if e.get("multi_style")), paintings,
        tuple(e["name"] for e in models if e.get("arbitrary")),
        {e["name"]: tuple(e["embedding"]) for e in data.get("paintings", []) if e.get("embedding")},
        # A default the API would refuse is a mistake in the file, said at start-up.
        stroke_sizes_of(models))
