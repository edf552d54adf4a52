"""The style catalogue: who painted what, shown in the gallery (styles/catalogue.json)."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Style:
    name: str
    title: str
    artist: str
    year: str
    licence: str = ""


def load_catalogue(path: Path) -> dict[str, Style]:
    """{model name: Style}; a missing file is an empty catalogue, not an error."""
    try:
        entries = json.loads(Path(path).read_text())["styles"]
    except FileNotFoundError:
        return {}
    fields = Style.__dataclass_fields__
    return {e["name"]: Style(**{k: str(v) for k, v in e.items() if k in fields}) for e in entries}
