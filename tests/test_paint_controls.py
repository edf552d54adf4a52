"""The multi-style API: a painting or a mix, strength, colours, and previews of every
painting, against the tiny multi-style model 'tiny_multi' (paintings dawn and dusk)."""
import base64
import io
import json

import numpy as np
import pytest
from PIL import Image

from gateway import create_app
from tests.test_gateway import encoded, error_of, upload


def pixels(response) -> np.ndarray:
    assert response.status_code == 200, response.get_data(as_text=True)
    return np.asarray(Image.open(io.BytesIO(response.data)).convert("YCbCr"), np.float32)


def test_styles_list_the_paintings_of_the_multi_style_model_first(client):
    body = client.get("/api/v1/styles").get_json()
    styles = body["styles"]
    assert [s["name"] for s in styles[:2]] == ["dawn", "dusk"]
    dawn, dusk = styles[0], styles[1]
    assert dawn["model"] == dusk["model"] == "tiny_multi" and dawn["controls"]
    assert dawn["title"] == "Dawn" and dawn["thumbnail"] == "/static/paintings/dawn.jpg"
    assert dusk["title"] == "Dusk" and dusk["thumbnail"] is None  # not in the catalogue
    assert {s["name"]: s["controls"] for s in styles}["tiny"] is False
    models = {m["name"]: m for m in body["models"]}
    assert models["tiny_multi"]["paintings"] == ["dawn", "dusk"]
    assert models["tiny_multi"]["multi_style"] and models["tiny_multi"]["versions"] == [1]


def test_a_painting_a_mix_and_the_controls(client, tmp_path):
    photo = encoded(tmp_path, "a.jpg", size=(64, 48))
    dawn = upload(client, photo, style="dawn")
    assert dawn.headers["X-Model"] == "tiny_multi" and dawn.headers["X-Style"] == "dawn"
    assert dawn.headers["X-Model-Version"] == "1"
    mix = upload(client, photo, style=" dawn : 7, dusk:3 ")
    assert mix.headers["X-Style"] == "dawn:0.70,dusk:0.30"
    images = {name: pixels(upload(client, photo, **form)) for name, form in {
        "dawn": {"style": "dawn"}, "dusk": {"style": "dusk"}, "mix": {"style": "dawn:1,dusk:1"},
        "weak": {"style": "dawn", "strength": "0.2"},
        "kept": {"style": "dawn", "preserve_colors": "true"}}.items()}
    assert np.abs(images["dawn"] - images["dusk"]).mean() > 0.5  # 4 training steps: apart, not far
    assert np.abs(images["mix"] - images["dawn"]).mean() > 0.5
    assert np.abs(images["weak"] - images["dawn"]).mean() > 0.5
    # Colours kept: the photo's chroma (Cb, Cr), closer than the painting's own.
    original = np.asarray(Image.open(io.BytesIO(photo)).convert("YCbCr"), np.float32)
    chroma = lambda x: np.abs(x[..., 1:] - original[..., 1:]).mean()  # noqa: E731
    assert chroma(images["kept"]) < 0.5 * chroma(images["dawn"])
    # The same request paints the same picture.
    assert np.array_equal(pixels(upload(client, photo, style="dawn")), images["dawn"])


def test_single_style_models_stay_reachable(client, tmp_path):
    photo = encoded(tmp_path, "a.jpg")
    response = upload(client, photo, style="tiny")
    assert response.headers["X-Model"] == "tiny" and response.status_code == 200
    assert upload(client, photo, style="dawn", model="tiny_multi").status_code == 200


@pytest.mark.parametrize("form,message", [
    ({"style": "dawn:-1"}, ">= 0"),
    ({"style": "dawn:0,dusk:0"}, "all 0"),
    ({"style": "dawn:abc"}, "malformed weight"),
    ({"style": "dawn:"}, "malformed style"),
    ({"style": "dawn,,dusk"}, "malformed style"),
    ({"style": "dawn,dawn:2"}, "twice"),
    ({"style": "dawn:inf"}, ">= 0"),
    ({"style": "nope"}, "unknown style 'nope'"),
    ({"style": "dawn,tiny"}, "unknown style"),
    ({"style": "dawn", "strength": "1.5"}, "strength must be a number from 0"),
    ({"style": "dawn", "strength": "-0.1"}, "strength"),
    ({"style": "dawn", "strength": "nan"}, "strength"),
    ({"style": "dawn", "preserve_colors": "maybe"}, "preserve_colors must be true or false"),
    ({"style": "dawn", "model": "nope"}, "unknown model 'nope'"),
    ({"style": "tiny", "model": "tiny_multi"}, "unknown style 'tiny' for model 'tiny_multi'"),
    ({"style": "tiny", "strength": "0.5"}, "single-style model"),
])
def test_bad_controls_are_422_naming_what_is_allowed(client, tmp_path, form, message):
    assert message in error_of(upload(client, encoded(tmp_path, "a.jpg"), **form), 422)


def previews(client, data, **form):
    form["image"] = (io.BytesIO(data), "photo.jpg", "image/jpeg")
    return client.post("/api/v1/previews", data=form, content_type="multipart/form-data")


def test_previews_show_the_photo_in_every_painting_in_one_call(client, tmp_path):
    response = previews(client, encoded(tmp_path, "big.jpg", size=(300, 200)))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["model"] == "tiny_multi" and body["version"] == 1
    assert (body["width"], body["height"]) == (192, 128)
    assert [p["style"] for p in body["previews"]] == ["dawn", "dusk"]
    jpegs = [base64.b64decode(p["image"].removeprefix("data:image/jpeg;base64,"))
             for p in body["previews"]]
    assert [Image.open(io.BytesIO(j)).size for j in jpegs] == [(192, 128)] * 2
    assert jpegs[0] != jpegs[1]
    small = previews(client, encoded(tmp_path, "big.jpg", size=(300, 200)), side="64")
    assert small.get_json()["width"] == 64
    assert "side" in error_of(previews(client, b"", side="4000"), 422)
    assert "no image" in error_of(previews(client, b""), 400)


def test_previews_need_a_multi_style_model(model_server, tmp_path):
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(json.dumps({"styles": [{"name": "tiny", "title": "Tiny"}]}))
    client = create_app({"TESTING": True, "MODEL_SERVER": model_server.grpc_target,
                         "CATALOGUE_FILE": str(catalogue), "STYLIZE_RATE_LIMIT": ""}).test_client()
    assert "multi-style" in error_of(previews(client, encoded(tmp_path, "a.jpg")), 422)
    assert "multi-style" in error_of(previews(client, encoded(tmp_path, "a.jpg"), model="tiny"), 422)


@pytest.fixture
def sent(monkeypatch) -> list[tuple[int, int]]:
    """The size of each image the gateway sends the model server, in order."""
    from gateway.model_client import ModelClient

    sizes = []
    stylize = ModelClient.stylize

    def spy(self, model, jpegs, *args, **kwargs):
        sizes.append(Image.open(io.BytesIO(jpegs[0])).size)
        return stylize(self, model, jpegs, *args, **kwargs)

    monkeypatch.setattr(ModelClient, "stylize", spy)
    return sizes


def test_stroke_size_paints_the_photo_smaller_or_larger_and_scales_it_back(client, tmp_path, sent):
    photo = encoded(tmp_path, "a.jpg", size=(120, 80))
    images = {stroke: upload(client, photo, style=style, stroke_size=stroke, max_side="100")
              for stroke, style in (("1", "dawn"), ("2", "dawn"), ("0.5", "dawn"),
                                    ("1.5", "tiny"))}
    # Painted at 1/stroke_size of max_side, at most the largest max_side (2048 here).
    assert sent == [(100, 67), (50, 34), (200, 134), (67, 45)]
    sizes = {stroke: Image.open(io.BytesIO(r.data)).size for stroke, r in images.items()}
    assert set(sizes.values()) == {(100, 67)}  # every painting back at the asked size
    assert [r.headers["X-Stroke-Size"] for r in images.values()] == ["1", "2", "0.5", "1.5"]
    assert np.abs(pixels(images["2"]) - pixels(images["1"])).mean() > 0.5
    for bad in ("0.2", "3", "big", "nan"):
        message = error_of(upload(client, photo, style="dawn", stroke_size=bad), 422)
        assert "stroke_size must be a number from 0.5" in message


def test_without_a_stroke_size_each_painting_gets_the_catalogues(client, tmp_path, sent):
    gallery = {s["name"]: s for s in client.get("/api/v1/styles").get_json()["styles"]}
    assert (gallery["dusk"]["stroke_size"], gallery["dawn"]["stroke_size"]) == (1.5, 1.0)
    photo = encoded(tmp_path, "a.jpg", size=(120, 80))
    # The conftest catalogue gives tiny_multi's dusk 1.5; a mix weighs the sizes.
    asked = [{"style": "dusk"}, {"style": "dawn:1,dusk:1"}, {"style": "dawn"},
             {"style": "dusk", "stroke_size": "1"}]
    answers = [upload(client, photo, max_side="120", **form) for form in asked]
    assert [r.headers["X-Stroke-Size"] for r in answers] == ["1.5", "1.25", "1", "1"]
    assert sent == [(80, 53), (96, 64), (120, 80), (120, 80)]


def test_a_catalogue_stroke_size_the_api_would_refuse_stops_the_start(tmp_path):
    catalogue = tmp_path / "catalogue.json"
    for bad in ({"dusk": 3}, {"dusk": "big"}, [1.5]):
        catalogue.write_text(json.dumps({"styles": [
            {"name": "tiny_multi", "multi_style": True, "stroke_sizes": bad}]}))
        with pytest.raises(ValueError, match="tiny_multi's stroke"):
            create_app({"CATALOGUE_FILE": str(catalogue)})
