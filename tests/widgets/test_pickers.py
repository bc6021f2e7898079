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


def test_date_pickers_drive_value_and_keep_ranges_ordered():
    temporal = TemporalExtentPicker(("2023-03-01", "2023-04-01"))
    temporal.end.value = dt.date(2023, 5, 1)
    assert temporal.value == ("2023-03-01", "2023-05-01")
    temporal.start.value = dt.date(2023, 6, 1)  # after the end: the end moves along (61 days)
    assert temporal.value == ("2023-06-01", "2023-08-01")
    assert temporal.end.value == dt.date(2023, 8, 1)
    temporal.end.value = dt.date(2023, 5, 1)  # before the start: the start moves along
    assert temporal.value == ("2023-03-01", "2023-05-01")
    temporal.set_collection({"id": "x", "extent": {"temporal": {"interval": [["2023-01-01", "2023-12-31"]]}}})
    temporal.start.value = dt.date(2025, 6, 1)  # outside the collection: clamped
    assert temporal.value[1] == "2024-01-01"
    with pytest.raises(t.TraitError):
        temporal.value = ("2023-13-01", "2023-14-01")
