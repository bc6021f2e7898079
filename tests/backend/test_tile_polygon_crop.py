"""XYZ tiles of a graph with a polygon spatial_extent are cropped to the polygons' bbox first."""
from __future__ import annotations

from typing import Any

import pytest

from jupyter_eo.backend.handlers.services import _EmptyTile, _TileCollection, tile_bounds

FIELD = {"type": "Polygon", "coordinates": [[[11.0, 46.0], [11.01, 46.002], [11.004, 46.008],
                                             [11.0, 46.0]]]}


class Recording:
    def __init__(self) -> None:
        self.loads: list[dict[str, Any]] = []

    def load(self, spatial_extent: Any, *args: Any, **kwargs: Any) -> str:
        self.loads.append(spatial_extent)
        return "cube"


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    import math

    n = 2 ** z
    lat_r = math.radians(lat)
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(lat_r)) / math.pi) / 2 * n)


@pytest.mark.parametrize("extent", [FIELD, {"type": "Feature", "properties": {}, "geometry": FIELD},
                                    {"type": "FeatureCollection", "features": [
                                        {"type": "Feature", "properties": {}, "geometry": FIELD}]}])
def test_tile_far_from_a_polygon_loads_nothing(extent: dict) -> None:
    recording = Recording()
    x, y = _tile_of(-60.0, -10.0, 14)
    tiles = _TileCollection(recording, tile_bounds(14, x, y))
    with pytest.raises(_EmptyTile):
        tiles.load(extent, ["2023-06-01", "2023-07-01"], ["B04"])
    assert recording.loads == []


def test_tile_over_a_polygon_loads_only_the_polygon_bbox() -> None:
    from pyproj import Transformer

    recording = Recording()
    z = 12  # one tile (~10 km) holds the whole field (~1 km)
    x, y = _tile_of(11.005, 46.004, z)
    bounds = tile_bounds(z, x, y)
    assert _TileCollection(recording, bounds).load(FIELD, None, ["B04"]) == "cube"
    (loaded,) = recording.loads
    assert loaded["crs"] == 3857
    to_merc = Transformer.from_crs(4326, 3857, always_xy=True)
    west, south = to_merc.transform(11.0, 46.0)
    east, north = to_merc.transform(11.01, 46.008)
    assert loaded["west"] == pytest.approx(west, abs=1) and loaded["east"] == pytest.approx(east, abs=1)
    assert loaded["south"] == pytest.approx(south, abs=1)
    assert loaded["north"] == pytest.approx(north, abs=1)
    assert bounds[2] - bounds[0] > 5 * (loaded["east"] - loaded["west"])
