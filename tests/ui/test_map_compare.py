"""Browser tests of map colours and comparison in the Explorer, with real mouse and keyboard:
a change map's colour bar is symmetric around 0; kept layers are listed with visibility and
opacity, shown in a split (swipe) view, and the click inspector reads their values."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

EXPLORER = """\
import jupyter_eo
from jupyter_eo.widgets import Explorer
connection = jupyter_eo.connect("local")
explorer = Explorer(connection, temporal_extent=("2023-04-01", "2023-05-01"), recipe="NDVI",
                    center=(46.01, 11.015), zoom=13)
explorer"""

CHANGE = "NDVI change between two periods (difference map)"
NDWI = "NDWI composite — Normalized Difference Water Index (McFeeters)"


def open_explorer(lab, name: str):
    path = lab.write_notebook(name, [EXPLORER])
    lab.open_notebook(path)
    lab.run_cell(path, 0)
    cell = lab.cell_locator(path, 0)
    cell.locator(".jeo-explorer .leaflet-container").first.wait_for(timeout=90_000)
    return path, cell


def type_aoi(lab, cell, text: str) -> None:
    """Type an AOI into the map's text box with the keyboard and commit it with Enter."""
    box = cell.locator(".jeo-aoi-map input[type=text]").first
    box.click()
    lab.page.keyboard.type(text)
    lab.page.keyboard.press("Enter")


def choose_recipe(cell, label: str) -> None:
    select = cell.locator(".jeo-recipe-picker select").first
    select.click()
    select.select_option(label=label)


def colour_bar_ticks(cell, title: str) -> list[float]:
    bar = cell.locator(".jeo-preview .jeo-colorbar", has_text=title).first
    bar.wait_for(timeout=120_000)
    return [float(t) for t in bar.locator(".jeo-ticks span").all_inner_texts()]


def test_change_map_colour_bar_is_symmetric_around_zero(lab) -> None:
    lab.page.set_viewport_size({"width": 1400, "height": 1400})
    path, cell = open_explorer(lab, "change_colours.ipynb")
    type_aoi(lab, cell, "11.0, 46.0, 11.03, 46.02")
    choose_recipe(cell, CHANGE)
    low, mid, high = colour_bar_ticks(cell, "NDVI change")
    assert mid == 0.0 and low == -high and high > 0, (low, mid, high)
    assert "Δ NDVI" in cell.locator(".jeo-preview .jeo-colorbar").first.inner_text()
    # the preview drawn is the change map of the typed AOI, with the colour bar's limits
    assert lab.kernel_eval(path, "explorer.preview.vmin.value == -explorer.preview.vmax.value") == "True"
    assert lab.kernel_eval(path, "explorer.map.bbox") == "(11.0, 46.0, 11.03, 46.02)"


def test_layer_list_split_view_and_inspector_by_mouse(lab) -> None:
    page = lab.page
    page.set_viewport_size({"width": 1400, "height": 1600})
    path, cell = open_explorer(lab, "compare_layers.ipynb")
    type_aoi(lab, cell, "11.0, 46.0, 11.03, 46.02")
    colour_bar_ticks(cell, "NDVI composite")
    keep = cell.locator(".jeo-layers-box button", has_text="Keep as layer").first
    page.wait_for_function("(el) => !el.disabled", arg=keep.element_handle(), timeout=60_000)
    keep.click()
    cell.locator(".jeo-layer-row").first.wait_for(timeout=30_000)
    choose_recipe(cell, NDWI)
    colour_bar_ticks(cell, "NDWI composite")
    page.wait_for_function("(el) => !el.disabled", arg=keep.element_handle(), timeout=60_000)
    keep.click()
    rows = cell.locator(".jeo-layer-row")
    page.wait_for_function("(cell) => cell.querySelectorAll('.jeo-layer-row').length === 2",
                           arg=cell.element_handle(), timeout=30_000)
    assert "NDVI composite" in rows.nth(0).inner_text() and "NDWI composite" in rows.nth(1).inner_text()

    # split view: toggle it with the mouse, then drag the divider to the left
    cell.locator(".jeo-layer-list button", has_text="Split view").first.click()
    divider = cell.locator(".leaflet-sbs-divider").first
    divider.wait_for(timeout=30_000)
    container = cell.locator(".jeo-explorer .leaflet-container").first.bounding_box()
    before = divider.bounding_box()
    assert abs(before["x"] - (container["x"] + container["width"] / 2)) < 30
    handle_y = before["y"] + before["height"] / 2
    page.mouse.move(before["x"] + before["width"] / 2, handle_y)
    page.mouse.down()
    page.mouse.move(container["x"] + container["width"] * 0.25, handle_y, steps=15)
    page.mouse.up()
    after = divider.bounding_box()
    assert after["x"] < before["x"] - container["width"] * 0.15, (before, after)
    left_pane_clip = page.evaluate("() => document.querySelector('.leaflet-jeo-layer-1-pane').style.clip")
    assert left_pane_clip.startswith("rect("), left_pane_clip
    assert lab.kernel_eval(path, "explorer.preview.layers.split_control.left_layer.name") == "'NDVI composite'"

    # visibility and opacity by mouse
    rows.nth(1).locator(".jeo-layer-visible input[type=checkbox]").click()
    for _ in range(100):
        if lab.kernel_eval(path, "explorer.preview.layers.results[1].layer.visible") == "False":
            break
        page.wait_for_timeout(100)
    assert lab.kernel_eval(path, "explorer.preview.layers.results[1].layer.visible") == "False"
    slider = rows.nth(0).locator(".jeo-layer-opacity .noUi-handle").first
    slider.focus()
    for _ in range(4):
        page.keyboard.press("ArrowLeft")
    for _ in range(100):
        if lab.kernel_eval(path, "round(explorer.preview.layers.results[0].layer.opacity, 2)") == "0.7":
            break
        page.wait_for_timeout(100)
    assert lab.kernel_eval(path, "round(explorer.preview.layers.results[0].layer.opacity, 2)") == "0.7"

    # inspector: a click inside the AOI lists both layers' values at that lon/lat
    aoi_px = page.evaluate("""() => {
        const m = document.querySelector('.jeo-explorer .leaflet-container');
        const r = m.getBoundingClientRect(); return [r.x + r.width * 0.7, r.y + r.height * 0.5]; }""")
    page.mouse.click(*aoi_px)
    table = cell.locator(".jeo-inspector-table").first
    page.wait_for_function("(el) => el.innerText.includes('° E')", arg=table.element_handle(), timeout=30_000)
    text = table.inner_text()
    assert "NDVI composite" in text and "NDWI composite" in text and "° N" in text
