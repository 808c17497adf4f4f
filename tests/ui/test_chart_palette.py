"""The shared segment palette: colour-blind safe, stable per segment, distinct within a chart."""

from __future__ import annotations

from seglab.ui import palette


def test_segment_colour_follows_its_id_and_cycles():
    assert palette.color_for_segment(1) == palette.PALETTE[0]
    assert palette.color_for_segment(2) == palette.PALETTE[1]
    assert palette.color_for_segment(1 + len(palette.PALETTE)) == palette.PALETTE[0]


def test_name_colour_is_stable():
    assert palette.color_for_name("Power users") == palette.color_for_name("Power users")
    assert palette.color_for_name("x") in palette.PALETTE


def test_series_colours_never_repeat_within_a_chart():
    n = len(palette.PALETTE)
    series = [("a", 1, "segment"), ("b", 1 + n, "segment"), ("c", None, "segment"), ("rest", None, "rest")]
    colors = palette.series_colors(series)
    assert colors[0] == palette.PALETTE[0]
    assert colors[1] != colors[0] and colors[1] in palette.PALETTE
    assert len(set(colors[:3])) == 3
    assert colors[3] == palette.REST_COLOR
    assert palette.series_colors([("everyone", None, "everyone")]) == [palette.EVERYONE_COLOR]


def test_heat_scale_and_readable_text():
    assert palette.heat_color(0) == palette.HEAT_LOW.upper()
    assert palette.heat_color(1) == palette.HEAT_HIGH.upper()
    assert palette.heat_color(2) == palette.heat_color(1)
    assert palette.text_color_on(palette.heat_color(0)) == "#000000"
    assert palette.text_color_on(palette.heat_color(1)) == "#FFFFFF"


def test_palette_module_does_not_import_qt():
    import subprocess
    import sys

    code = "import sys, seglab.ui.palette; print('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
