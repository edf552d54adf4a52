
import json

import numpy as np
from PIL import Image

from export.side_by_side import (
    blue_crests,
    colour_distance,
    dark_lines,
    main,
    painter,
    print_shape_measures,
    yellow_stars,
)
from tests.conftest import bundled, high_frequency_share, write_image


def _cell(sheet, row, column):
    """The picture in a sheet of 60x40 cells (64x44 with the margins, 24 px of titles)."""
    return sheet[24 + row * 44 + 2: 24 + row * 44 + 42, column * 64 + 2: column * 64 + 62]


def test_side_by_side_puts_every_model_next_to_the_references(tmp_path, trained_run,
                                                              multi_style_run, capsys):
    styles = bundled(tmp_path / "styles", dawn=trained_run, masters=multi_style_run)
    photo = write_image(tmp_path / "city.jpg", size=(60, 40))
    for painting in ("dusk", "dawn", "other"):  # the references of three paintings
        write_image(tmp_path / "refs" / f"city_{painting}.jpg", size=(60, 40), seed=3)
    out = tmp_path / "sheet.png"
    paintings = multi_style_run.parent / "paintings"  # dawn.png and dusk.jpg
    assert main(["--photo", str(photo), "--reference", str(tmp_path / "refs"),
                 "--styles", str(styles), "--paintings", str(paintings), "--size", "60",
                 "--out", str(out)]) == 0
    sheet = np.asarray(Image.open(out))
    # Columns: references, masters, the arbitrary-style model, the single-style nets;
    # rows: 3 paintings + the mix.
    assert sheet.shape[:2] == (24 + 4 * 44, 4 * 64)
    printed = capsys.readouterr().out
    assert "rows dawn, dusk, other" in printed and "50/50 mix of dawn + dusk" in printed

    assert _cell(sheet, 2, 1).min() == 255  # masters has no painting 'other': blank
    assert _cell(sheet, 3, 1).min() < 255  # but paints the mix
    assert _cell(sheet, 0, 2).min() < 255 and _cell(sheet, 2, 2).min() == 255  # no painting file 'other'
    assert _cell(sheet, 3, 2).min() < 255  # the arbitrary-style mix
    # The single-style net paints dawn only.
    assert _cell(sheet, 0, 3).min() < 255 and _cell(sheet, 1, 3).min() == 255


def test_without_references_the_rows_are_the_paintings(tmp_path, multi_style_run, capsys):
    photo = write_image(tmp_path / "city.jpg", size=(60, 40))
    out = tmp_path / "any.png"
    bundled(tmp_path / "styles", masters=multi_style_run)
    assert main(["--photo", str(photo), "--paintings", str(multi_style_run.parent / "paintings"),
                 "--styles", str(tmp_path / "styles"), "--size", "60", "--out", str(out)]) == 0
    # Columns: the paintings, masters, the arbitrary-style model; rows: dawn, dusk, the mix.
    assert np.asarray(Image.open(out)).shape[:2] == (24 + 3 * 44, 3 * 64)
    # Each column's colour distance to the painting: the painting itself is at 0.
    rows = [line.split() for line in capsys.readouterr().out.splitlines()
            if line.startswith("  d")]
    assert [row[:2] for row in rows] == [["dawn", "0.0"], ["dusk", "0.0"]]
    assert all(float(row[3]) > 0 for row in rows)  # masters' picture is not the painting


def test_a_painting_with_a_stroke_size_is_painted_smaller_and_scaled_back(tmp_path,
                                                                         multi_style_run):
    photo = np.asarray(Image.open(write_image(tmp_path / "city.jpg", size=(60, 40))))
    _, as_trained = painter(multi_style_run)
    _, served = painter(multi_style_run, {"dusk": 2.0})
    assert np.array_equal(served(photo, {"dawn": 1.0}), as_trained(photo, {"dawn": 1.0}))
    larger, trained = served(photo, {"dusk": 1.0}), as_trained(photo, {"dusk": 1.0})
    assert larger.shape == trained.shape == photo.shape
    # Painted at 30x20 and enlarged.
    assert high_frequency_share(larger) < 0.5 * high_frequency_share(trained)


def test_the_sheet_paints_at_the_catalogues_stroke_sizes(tmp_path, multi_style_run, capsys):
    photo = write_image(tmp_path / "city.jpg", size=(60, 40))
    styles = bundled(tmp_path / "styles", masters=multi_style_run)
    (styles / "catalogue.json").write_text(json.dumps(
        {"styles": [{"name": "masters", "multi_style": True, "stroke_sizes": {"dusk": 2}}]}))
    sheets = {}
    for flags in ([], ["--as-trained"]):
        out = tmp_path / f"sheet{len(flags)}.png"
        assert main(["--photo", str(photo), "--paintings", str(multi_style_run.parent / "paintings"),
                     "--styles", str(styles), "--size", "60", "--out", str(out), *flags]) == 0
        sheets[bool(flags)] = np.asarray(Image.open(out))
    assert "stroke sizes of masters (the catalogue's; --as-trained for 1): dusk 2" \
        in capsys.readouterr().out
    # Rows dawn, dusk, the mix; column 1 is masters: only dusk's and the mix's cells change.
    assert np.array_equal(_cell(sheets[True], 0, 1), _cell(sheets[False], 0, 1))
    for row in (1, 2):
        assert not np.array_equal(_cell(sheets[True], row, 1), _cell(sheets[False], row, 1))


def test_colour_distance_is_zero_for_the_same_colours_and_grows_with_a_shift():
    rng = np.random.default_rng(0)
    painting = rng.integers(0, 256, (40, 30, 3)).astype(np.float32)
    shuffled = rng.permutation(painting.reshape(-1, 3)).reshape(30, 40, 3)
    assert colour_distance(shuffled, painting) < 1e-3  # where the colours are does not count
    near, far = (np.clip(painting + shift, 0, 255) for shift in (5, 40))
    assert 0 < colour_distance(near, painting) < colour_distance(far, painting)


def _sky_with_stars(radii, width=512):
    """A blue sky 256 px high with a yellow disc of each radius, spaced along it."""
    sky = np.zeros((256, width, 3), np.uint8)
    sky[...] = (30, 60, 160)
    yy, xx = np.mgrid[:256, :width]
    for i, radius in enumerate(radii):
        x = (i + 0.5) * width / len(radii)
        sky[(yy - 128) ** 2 + (xx - x) ** 2 <= radius ** 2] = (240, 220, 60)
    return sky


def test_yellow_stars_counts_the_discs_over_40_px_and_their_median_area():
    # Discs of radius 3 (about 29 px) are specks, not stars; of 6, 10 and 12, about 113,
    # 310 and 450 px.
    assert (yellow_stars(_sky_with_stars([3, 6, 6, 10, 12]))
            == "4 stars (1 over 400 px), median 211 px, 0.8% yellow")
    assert yellow_stars(_sky_with_stars([])) == "0 stars (0 over 400 px), median 0 px, 0.0% yellow"
    # Counted at 512 px wide: the same sky at 1024 px has the same stars.
    big = np.asarray(Image.fromarray(_sky_with_stars([6, 10])).resize((1024, 512)))
    assert yellow_stars(big).startswith("2 stars")


def test_dark_lines_counts_dark_pixels_and_those_in_wide_lines():
    canvas = np.full((100, 512, 3), 200, np.uint8)
    canvas[:, :44] = 20  # a band 44 px wide at the edge: 43 columns keep dark either side
    canvas[:, 300:302] = 20  # and a line 2 px wide, dark but too thin to count as wide
    assert dark_lines(canvas) == "9.0% dark, 8.4% in lines 3 px wide or more"
    # Measured at 512 px wide: a line 4 px wide in a picture 1024 px wide is 2 px there.
    double = np.full((100, 1024, 3), 200, np.uint8)
    double[:, 500:504] = 20
    assert dark_lines(double) == "0.4% dark, 0.0% in lines 3 px wide or more"


def test_blue_crests_counts_dark_blue_clumps_with_their_foam_as_one():
    canvas = np.full((256, 512, 3), (235, 225, 200), np.uint8)  # Hokusai's cream
    yy, xx = np.mgrid[:256, :512]
    for x, radius in ((60, 6), (180, 12), (300, 20)):  # about 113, 450 and 1250 px
        canvas[(yy - 128) ** 2 + (xx - x) ** 2 <= radius ** 2] = (40, 70, 130)
    foam = canvas.copy()
    foam[::3, :] = foam[:, ::3] = (235, 225, 200)  # a cream net over each crest
    assert blue_crests(canvas) == "2 crests (1 over 1000 px), median 849 px, 1.4% dark blue"
    assert blue_crests(foam).startswith("2 crests (1 over 1000 px)")
    # A light blue (the painting's sky) is not a crest.
    assert blue_crests(np.full((256, 512, 3), (150, 180, 230), np.uint8)).startswith("0 crests")


def test_shape_measures_print_a_line_per_measured_painting(capsys):
    stars, blank = _sky_with_stars([10]), np.full((256, 512, 3), 255, np.uint8)
    columns = [("reference", [stars, stars, stars]), ("masters", [blank, stars, blank])]
    print_shape_measures(columns, ["starry_night", "dawn", "composition_vii"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "shapes: reference | masters"
    assert lines[1].split() == ["starry_night", "1", "stars", "(0", "over", "400", "px),",
                                "median", "317", "px,", "0.2%", "yellow", "|", "-"]
    assert lines[2].split()[0] == "composition_vii" and len(lines) == 3  # dawn has none
    print_shape_measures(columns, ["dawn"])
    assert capsys.readouterr().out == ""


def test_missing_references_are_a_clear_error(tmp_path, capsys):
    photo = write_image(tmp_path / "city.jpg")
    assert main(["--photo", str(photo), "--reference", str(tmp_path),
                 "--styles", str(tmp_path)]) == 2
    assert "need city_*.jpg" in capsys.readouterr().err
    assert main(["--photo", str(photo), "--styles", str(tmp_path)]) == 2
    assert "give --reference, or --paintings" in capsys.readouterr().err


def test_hd_adds_the_multi_style_models_pictures_refined(tmp_path, multi_style_run, capsys):
    photo = write_image(tmp_path / "city.jpg", size=(60, 40))
    styles = bundled(tmp_path / "styles", masters=multi_style_run)
    paintings = multi_style_run.parent / "paintings"
    argv = ["--photo", str(photo), "--paintings", str(paintings), "--styles", str(styles),
            "--size", "60", "--out", str(tmp_path / "hd.png")]
    assert main([*argv, "--hd", "15"]) == 0
    assert "masters + Refine in HD (15 iterations)" in capsys.readouterr().out
    sheet = np.asarray(Image.open(tmp_path / "hd.png")).astype(int)
    # Columns: the paintings, masters, arbitrary, masters refined; rows: dawn, dusk, the mix.
    assert sheet.shape[:2] == (24 + 3 * 44, 4 * 64)

    for row in range(3):  # every cell refined: moved away from masters' picture
        assert np.abs(_cell(sheet, row, 3) - _cell(sheet, row, 1)).mean() > 1
    # The optimisation reads the painting files.
    write_image(tmp_path / "refs" / "city_dawn.jpg", size=(60, 40), seed=3)
    no_paintings = [a for a in argv if a not in ("--paintings", str(paintings))]
    assert main([*no_paintings, "--reference", str(tmp_path / "refs"), "--hd", "3"]) == 2
    assert "--hd needs --paintings" in capsys.readouterr().err
