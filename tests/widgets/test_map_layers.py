"""Kept map layers (visibility, opacity, legend, split view) and the click inspector."""
from __future__ import annotations

import ipyleaflet
import numpy as np
import pytest

from jupyter_eo.widgets.colormaps import ColourScale
from jupyter_eo.widgets.inspector import Inspector, format_lonlat
from jupyter_eo.widgets.map_layers import LayerList, mercator

BOUNDS = ((46.0, 11.0), (46.1, 11.2))  # (south, west), (north, east)


def two_layers() -> tuple[ipyleaflet.Map, LayerList]:
    m = ipyleaflet.Map(layers=())
    layers = LayerList(m)
    cols = np.tile(np.arange(20, dtype="float64"), (10, 1))  # value = column index
    layers.add("before", cols / 20, BOUNDS, style=ColourScale("RdYlGn", "fixed", (-0.2, 0.9), "NDVI (unitless)"))
    layers.add("after", cols / 10, BOUNDS, style=ColourScale("RdYlGn", "fixed", (-0.2, 0.9), "NDVI (unitless)"))
    return m, layers


def test_layers_have_visibility_opacity_legend_and_own_panes():
    m, layers = two_layers()
    before, after = layers.get("before"), layers.get("after")
    assert before.layer in m.layers and after.layer in m.layers
    assert before.layer.pane != after.layer.pane and {before.layer.pane, after.layer.pane} <= set(m.panes)
    assert (before.vmin, before.vmax) == (-0.2, 0.9)
    assert "NDVI (unitless)" in before.legend_html()
    visible, _label, opacity = layers.rows.children[0].children[:3]
    visible.value = False
    opacity.value = 0.4
    assert before.layer.visible is False and before.layer.opacity == 0.4
    layers.add("before", np.zeros((2, 2)), BOUNDS)
    assert layers.names == ["before", "after", "before (2)"]
    layers.remove("before (2)")
    assert layers.names == ["before", "after"]


def test_split_view_puts_two_layers_either_side():
    m, layers = two_layers()
    layers.set_visible("before", False)
    assert (layers.left.value, layers.right.value) == ("before", "after")  # two different by default
    layers.split("before", "after")
    control = layers.split_control
    assert control in m.controls
    assert control.left_layer is layers.get("before").layer and control.right_layer is layers.get("after").layer
    assert layers.get("before").layer.visible  # both halves shown
    layers.right.value = "before"  # same layer both sides: no split
    assert layers.split_control is None
    layers.right.value = "after"
    assert layers.split_control in m.controls
    layers.remove("after")  # fewer than two layers: split off
    assert layers.split_control is None and not layers.split_button.value


def test_value_at_follows_the_drawn_mercator_pixels():
    m, layers = two_layers()
    result = layers.get("before")
    x0, _ = mercator(11.0, 46.0)
    x1, _ = mercator(11.2, 46.0)
    lon_col_7 = (x0 + (7.5 / 20) * (x1 - x0)) / 20037508.342789244 * 180.0
    assert result.value_at(lon_col_7, 46.05) == {"band 1": pytest.approx(7 / 20)}
    assert result.value_at(12.0, 46.05) is None


def test_inspector_lists_all_layers_at_a_clicked_point_in_lonlat():
    m, layers = two_layers()
    inspector = Inspector(m, layers)
    inspector._on_event(type="click", coordinates=[46.05, 11.1 + 360.0])  # panned once round the world
    assert inspector.point == (pytest.approx(11.1), 46.05)
    assert format_lonlat(11.1, 46.05) in inspector.table.value
    values = dict(inspector.inspect(11.1, 46.05))
    assert values["before"]["band 1"] == pytest.approx(values["after"]["band 1"] / 2)
    assert "NDVI (unitless)" in inspector.table.value and "11.1000° E, 46.0500° N" in inspector.table.value
    assert dict(inspector.inspect(-5.0, 40.0)) == {"before": None, "after": None}
    assert inspector.marker in m.layers and list(inspector.marker.location) == [40.0, -5.0]


def test_inspector_ignores_clicks_while_there_is_nothing_to_inspect():
    m = ipyleaflet.Map(layers=())
    inspector = Inspector(m, LayerList(m))
    inspector._on_event(type="click", coordinates=[46.05, 11.1])  # e.g. a corner of a drawn AOI
    assert inspector.marker is None and inspector.point is None
