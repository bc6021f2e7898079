"""Parsing aggregated time series results and drawing charts."""
from __future__ import annotations

import math

import numpy as np
import pytest

from jupyter_eo.widgets.charts import histogram_svg, parse_timeseries, timeseries_png


def test_labeled_array_json_of_the_embedded_backend():
    payload = {"dims": ["geometry", "t"], "coords": {"t": ["2023-06-10T00:00:00Z", "2023-06-05T00:00:00Z"]},
               "geometry": [{}], "data": [[0.5, None]]}
    series = parse_timeseries(payload)
    assert series[0][0] == "2023-06-05T00:00:00Z" and math.isnan(series[0][1])
    assert series[1] == ("2023-06-10T00:00:00Z", 0.5)
    with_bands = {"dims": ["geometry", "t", "bands"], "coords": {"t": ["2023-01-01", "2023-01-06"]},
                  "data": [[[1.0, 9.0], [2.0, 9.0]]]}
    assert parse_timeseries(with_bands) == [("2023-01-01", 1.0), ("2023-01-06", 2.0)]


@pytest.mark.parametrize("payload", [
    {"2023-01-06T00:00:00Z": [[2.0]], "2023-01-01T00:00:00Z": [[1.0]]},
    [{"date": "2023-01-01", "value": 1.0}, {"date": "2023-01-06", "value": 2.0}],
    {"type": "FeatureCollection", "features": [{"properties": {"2023-01-01": 1.0, "2023-01-06": 2.0,
                                                               "name": "x"}}]},
])
def test_other_common_shapes(payload):
    assert [v for _, v in parse_timeseries(payload)] == [1.0, 2.0]


def test_charts_render():
    assert timeseries_png([("2023-01-01", 1.0), ("2023-01-06", float("nan"))])[:4] == b"\x89PNG"
    svg = histogram_svg(np.array([0.0, 0.5, 0.5, 1.0, np.nan]), bins=4)
    assert svg.count("<rect") == 3 and "aria-label" in svg
    with pytest.raises(ValueError):
        parse_timeseries("VectorCube(...)")
