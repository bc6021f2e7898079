"""Pickers: a chosen collection bounds the time range and the band choices."""
from __future__ import annotations

import datetime as dt

import pytest
import traitlets as t

from jupyter_eo.widgets.pickers import BandPicker, CollectionPicker, TemporalExtentPicker


def test_collection_search_and_summary(collections):
    picker = CollectionPicker(collections)
    assert picker.value == "SENTINEL2_L2A"
    assert "B04" in picker.summary.value and "CC-BY-4.0" in picker.summary.value
    picker.search.value = "sentinel-1"
    assert [v for _, v in picker.dropdown.options] == ["SENTINEL1_GRD"]
    assert picker.value == "SENTINEL1_GRD"
    assert picker.collection["id"] == "SENTINEL1_GRD"
    picker.search.value = "optical"
    assert picker.value == "SENTINEL2_L2A"
    with pytest.raises(t.TraitError):
        picker.value = "NOPE"


def test_collection_uses_describe_for_full_metadata(collections):
    calls = []

    def describe(cid):
        calls.append(cid)
        return {**next(c for c in collections if c["id"] == cid), "described": True}

    short = [{"id": c["id"], "title": c["title"]} for c in collections]
    picker = CollectionPicker(short, describe=describe)
    assert picker.collection["described"] is True
    picker.value = "SENTINEL1_GRD"
    picker.value = "SENTINEL2_L2A"
    assert calls == ["SENTINEL2_L2A", "SENTINEL1_GRD"]  # cached


def test_picking_a_collection_bounds_time_and_bands(collections):
    picker = CollectionPicker(collections)
    temporal = TemporalExtentPicker(("2023-06-01", "2023-09-01"))
    bands = BandPicker()
    temporal.bind(picker)
    bands.bind(picker)
    assert temporal.bounds == ("2023-01-01", "2023-12-31")
    assert temporal.value == ("2023-06-01", "2023-09-01")
    temporal.value = ("2022-05-01", "2024-05-01")
    assert temporal.value == ("2023-01-01", "2024-01-01")
    assert "B8A" in [b["name"] for b in bands.bands]
    assert any("nir" in label and "842 nm" in label for label, _ in bands.select.options)
    bands.value = ("B04", "B08")
    picker.value = "SENTINEL1_GRD"
    assert [b["name"] for b in bands.bands] == ["VV", "VH"]
    assert bands.value == ()  # S2 bands dropped
    assert temporal.bounds == ("2022-01-01", "2022-06-30")
    start, end = temporal.value
    assert "2022-01-01" <= start < end <= "2022-07-01"
    with pytest.raises(t.TraitError):
        bands.value = ("B04",)


def test_presets_are_relative_to_the_collection_end(collections):
    temporal = TemporalExtentPicker(today=dt.date(2026, 11, 25))
    temporal.set_collection(collections[0])
    temporal.apply_preset("Last year")
    assert temporal.value == ("2023-01-01", "2024-01-01")
    temporal.apply_preset("Last summer (JJA)")
    assert temporal.value == ("2023-06-01", "2023-09-01")
    temporal.apply_preset("Last month")
    assert temporal.value == ("2023-12-02", "2024-01-01")
    temporal.preset.value = "Whole extent"
    assert temporal.value == ("2023-01-01", "2024-01-01")
    assert temporal.preset.value == ""  # the dropdown resets for the next choice


def test_typed_dates_drive_value_and_keep_ranges_ordered():
    temporal = TemporalExtentPicker(("2023-03-01", "2023-04-01"))
    assert (temporal.start.value, temporal.end.value) == ("2023-03-01", "2023-04-01")
    assert not temporal.start.continuous_update  # committed on Enter / blur, not per keystroke
    temporal.end.value = "2023-05-01"
    assert temporal.value == ("2023-03-01", "2023-05-01")
    # From not before To: said inline, and the To field is left alone (the user may be typing
    # in it: a written-back moved-along To once replaced what a user had typed there)
    temporal.start.value = "2023-06-01"
    assert temporal.value == ("2023-03-01", "2023-05-01")
    assert (temporal.start.value, temporal.end.value) == ("2023-06-01", "2023-05-01")
    assert "jeo-error" in temporal.note.value and "must be before" in temporal.note.value
    temporal.end.value = "2023-07-01"  # the user fixes To: the typed range is used
    assert temporal.value == ("2023-06-01", "2023-07-01") and temporal.note.value == ""
    temporal.end.value = "2023-06-01"  # To not after From: the same, From left alone
    assert temporal.value == ("2023-06-01", "2023-07-01")
    assert temporal.start.value == "2023-06-01" and "must be before" in temporal.note.value
    temporal.start.value = "2023-03-01"
    assert temporal.value == ("2023-03-01", "2023-06-01")
    temporal.set_collection({"id": "x", "extent": {"temporal": {"interval": [["2023-01-01", "2023-12-31"]]}}})
    temporal.end.value = "2025-06-01"  # outside the collection: clamped, and said so
    assert temporal.value == ("2023-03-01", "2024-01-01")
    assert (temporal.start.value, temporal.end.value) == temporal.value
    assert "outside" in temporal.note.value and "2025-06-01" in temporal.note.value
    with pytest.raises(t.TraitError):
        temporal.value = ("2023-13-01", "2023-14-01")


def test_half_typed_dates_are_not_rewritten():
    temporal = TemporalExtentPicker(("2023-03-01", "2023-04-01"))
    for text in ("06012023", "2023-06", "12023-05-01", "2023-02-30"):
        temporal.start.value = text
        assert temporal.value == ("2023-03-01", "2023-04-01")
        assert temporal.start.value == text  # left as typed ...
        assert "jeo-error" in temporal.note.value and "YYYY-MM-DD" in temporal.note.value  # ... and explained
    temporal.start.value = "2023-03-15"
    assert temporal.value == ("2023-03-15", "2023-04-01") and temporal.note.value == ""


LANDSAT_LIKE = {"id": "L", "extent": {"temporal": {"interval": [["2008-04-19T00:00:00Z", "2013-05-27T00:00:00Z"]]}}}


def test_requested_range_survives_collection_round_trips(collections):
    picker = CollectionPicker([collections[0], LANDSAT_LIKE])
    temporal = TemporalExtentPicker(("2023-06-01", "2023-07-01"))
    temporal.bind(picker)
    assert temporal.value == ("2023-06-01", "2023-07-01") and temporal.note.value == ""
    picker.value = "L"  # no overlap: the same length at the collection's end, with a note
    assert temporal.value == ("2013-04-28", "2013-05-28")
    assert (temporal.start.value, temporal.end.value) == temporal.value
    assert "outside" in temporal.note.value
    picker.value = "SENTINEL2_L2A"
    assert temporal.value == ("2023-06-01", "2023-07-01") and temporal.note.value == ""
    assert (temporal.start.value, temporal.end.value) == temporal.value
    # a range typed while on the short collection is the new request
    picker.value = "L"
    temporal.start.value, temporal.end.value = "2010-01-01", "2011-01-01"
    picker.value = "SENTINEL2_L2A"
    assert temporal.value == ("2023-01-01", "2024-01-01")  # the same length, from the collection's start
    assert temporal.requested == ("2010-01-01", "2011-01-01")
