"""AOIMap state: drawn shapes (as the draw control syncs them) drive ``aoi``/``bbox``."""
from __future__ import annotations

import pytest

from jupyter_eo.widgets.aoi_map import AOIMap
from jupyter_eo.widgets.geometry import AOIInvalid, geometry_bbox, parse_aoi_text


def feature(ring):
    return {"type": "Feature", "properties": {"style": {}},
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


RECT = [[11.0, 46.0], [11.0, 46.5], [11.5, 46.5], [11.5, 46.0], [11.0, 46.0]]


def test_drawing_a_rectangle_updates_aoi_and_bbox():
    m = AOIMap(basemap_url=None)
    seen = []
    m.on_aoi_change(seen.append)
    m.draw.data = [feature(RECT)]  # what the Geoman view syncs after pm:create
    assert m.aoi["type"] == "Polygon"
    assert m.bbox == (11.0, 46.0, 11.5, 46.5)
    assert seen and seen[-1] == m.aoi
    assert "W 11.0000" in m.status.value and "AOI bbox" in m.status.value


def test_status_says_when_a_polygon_clips_results():
    m = AOIMap(basemap_url=None)
    m.draw.data = [feature([[11.0, 46.0], [11.5, 46.1], [11.2, 46.5], [11.0, 46.0]])]
    assert "clipped" in m.status.value and "W 11.0000" in m.status.value
    m.draw.data = [feature(RECT)]
    assert "clipped" not in m.status.value


def test_editing_and_deleting_keep_aoi_in_sync():
    m = AOIMap(basemap_url=None)
    m.draw.data = [feature(RECT)]
    moved = [[lon + 1, lat] for lon, lat in RECT]
    m.draw.data = [feature(moved)]  # pm:markerdragend / pm:dragend
    assert m.bbox == (12.0, 46.0, 12.5, 46.5)
    m.draw.data = []  # pm:remove
    assert m.aoi is None and m.bbox is None


def test_second_drawing_replaces_the_first():
    m = AOIMap(basemap_url=None)
    other = [[lon + 2, lat + 1] for lon, lat in RECT]
    m.draw.data = [feature(RECT), feature(other)]
    assert m.bbox == (13.0, 47.0, 13.5, 47.5)
    assert len(m.draw.data) == 1


def test_callback_removal():
    m = AOIMap(basemap_url=None)
    seen = []
    m.on_aoi_change(seen.append)
    m.on_aoi_change(seen.append, remove=True)
    m.draw.data = [feature(RECT)]
    assert seen == []


def test_programmatic_aoi_is_drawn_on_the_map():
    m = AOIMap(aoi=(11, 46, 11.5, 46.5), basemap_url=None)
    assert m.bbox == (11.0, 46.0, 11.5, 46.5)
    assert m.draw.data[0]["geometry"] == m.aoi
    m.clear()
    assert m.draw.data == [] and m.aoi is None


def test_dateline_panned_longitudes_are_normalised():
    m = AOIMap(basemap_url=None)
    m.draw.data = [feature([[370.0, 10.0], [371.0, 10.0], [371.0, 11.0], [370.0, 11.0], [370.0, 10.0]])]
    assert m.bbox == (10.0, 10.0, 11.0, 11.0)
    m.draw.data = [feature([[179.0, 0.0], [181.0, 0.0], [181.0, 1.0], [179.0, 1.0], [179.0, 0.0]])]
    assert m.aoi["type"] == "MultiPolygon"
    assert m.bbox == (179.0, 0.0, -179.0, 1.0)
    for poly in m.aoi["coordinates"]:
        assert all(-180 <= lon <= 180 for lon, _ in poly[0])


@pytest.mark.parametrize("text, expected", [
    ("11, 46, 11.5, 46.5", (11.0, 46.0, 11.5, 46.5)),
    ("[11 46 11.5 46.5]", (11.0, 46.0, 11.5, 46.5)),
    ("POLYGON((11 46, 11.5 46, 11.5 46.5, 11 46.5, 11 46))", (11.0, 46.0, 11.5, 46.5)),
    ('{"type": "Polygon", "coordinates": [[[11,46],[11.5,46],[11.5,46.5],[11,46.5],[11,46]]]}',
     (11.0, 46.0, 11.5, 46.5)),
    ('{"west": 11, "south": 46, "east": 11.5, "north": 46.5}', (11.0, 46.0, 11.5, 46.5)),
    ("175, -10, -175, -5", (175.0, -10.0, -175.0, -5.0)),
])
def test_import_text(text, expected):
    assert geometry_bbox(parse_aoi_text(text)) == expected
    m = AOIMap(basemap_url=None)
    assert m.set_aoi_text(text)
    assert m.bbox == expected


@pytest.mark.parametrize("text", ["", "hello", "1, 2, 3", "POLYGON((0 0, 1 1))", "{bad json",
                                  '{"type": "Point", "coordinates": [1, 2]}', "0, 95, 1, 96"])
def test_bad_text_shows_an_inline_error(text):
    m = AOIMap(basemap_url=None)
    assert not m.set_aoi_text(text)
    assert "jeo-error" in m.status.value
    assert m.aoi is None
    with pytest.raises(AOIInvalid):
        parse_aoi_text(text)


def test_basemap_points_at_the_proxy_in_jupyter(monkeypatch):
    monkeypatch.setenv("JUPYTER_EO_SERVER_URL", "http://127.0.0.1:8888/user/ann/")
    m = AOIMap()
    assert m.basemap is not None
    assert m.basemap.url.startswith("/user/ann/jupyter-eo/openeo/local/")  # origin-relative: cookie auth
    assert m.basemap.url.endswith("{z}/{x}/{y}.png")
    monkeypatch.delenv("JUPYTER_EO_SERVER_URL")
    assert AOIMap().basemap is None


def test_online_basemaps_are_opt_in():
    offline = AOIMap(basemap_url=None)
    assert not any(getattr(layer, "base", False) for layer in offline.map.layers)
    online = AOIMap(basemap_url="/base/jupyter-eo/openeo/local/basemap/{z}/{x}/{y}.png", online_basemaps=True)
    names = [layer.name for layer in online.map.layers if getattr(layer, "base", False)]
    assert names == ["Offline basemap", "OpenStreetMap", "Esri World Imagery"]
    assert any(type(c).__name__ == "LayersControl" for c in online.map.controls)


def _write_gpkg(path, crs: str = "EPSG:4326") -> None:
    import numpy as np
    import pyogrio.raw
    import shapely
    from pyproj import Transformer

    squares = [shapely.box(11.0, 46.0, 11.02, 46.01), shapely.box(11.1, 46.1, 11.15, 46.12)]
    if crs != "EPSG:4326":
        t = Transformer.from_crs(4326, crs, always_xy=True)
        squares = [shapely.transform(s, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))
                   for s in squares]
    line = shapely.LineString([(11.0, 46.0), (11.1, 46.1)])
    geometry = np.array([shapely.to_wkb(g) for g in squares + [line]], dtype=object)
    pyogrio.raw.write(str(path), geometry, [np.array(["field A", "field B", "road"], dtype=object)],
                  ["name"], layer="fields", driver="GPKG", geometry_type="Unknown", crs=crs)


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32632"])
def test_geopackage_upload_lists_polygons_and_sets_the_aoi(tmp_path, crs):
    from jupyter_eo.widgets.vector_upload import read_vector

    _write_gpkg(tmp_path / "fields.gpkg", crs)
    content = (tmp_path / "fields.gpkg").read_bytes()
    features = read_vector("fields.gpkg", content)
    assert [f.label for f in features] == ["field A", "field B"]  # the line is no AOI
    m = AOIMap(basemap_url=None)
    m.vector_upload.load("fields.gpkg", content)
    west, south, east, north = m.bbox
    assert (west, south, east, north) == pytest.approx((11.0, 46.0, 11.02, 46.01), abs=1e-6)
    m.vector_upload.choice.value = 1
    assert m.bbox == pytest.approx((11.1, 46.1, 11.15, 46.12), abs=1e-6)
    assert m.map.zoom >= 12 and m.map.center == pytest.approx([46.11, 11.125], abs=0.01)


def test_zipped_shapefile_geojson_and_kml(tmp_path):
    import zipfile

    import numpy as np
    import pyogrio.raw
    import shapely

    from jupyter_eo.widgets.vector_upload import read_vector

    poly = np.array([shapely.to_wkb(shapely.box(5.0, 50.0, 5.5, 50.5))], dtype=object)
    for driver, name in (("ESRI Shapefile", "parcel.shp"), ("GeoJSON", "parcel.geojson"), ("KML", "parcel.kml")):
        pyogrio.raw.write(str(tmp_path / name), poly, [np.array(["P1"], dtype=object)], ["name"],
                      driver=driver, geometry_type="Polygon", crs="EPSG:4326")
    with zipfile.ZipFile(tmp_path / "parcel.zip", "w") as zf:
        for part in tmp_path.glob("parcel.*"):
            if part.suffix in (".shp", ".shx", ".dbf", ".prj"):
                zf.write(part, part.name)
    for name in ("parcel.zip", "parcel.geojson", "parcel.kml"):
        features = read_vector(name, (tmp_path / name).read_bytes())
        assert [f.label for f in features] == ["P1"], name
        assert features[0].geometry["type"] == "Polygon"


def test_bad_vector_files_give_readable_errors():
    from jupyter_eo.widgets.vector_upload import read_vector

    m = AOIMap(basemap_url=None)
    m.vector_upload.load("notes.txt", b"hello")
    assert "Unsupported vector file" in m.vector_upload.message.value and m.aoi is None
    with pytest.raises(AOIInvalid, match="Cannot read"):
        read_vector("broken.gpkg", b"not a geopackage")
    points = b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, ' \
             b'"geometry": {"type": "Point", "coordinates": [1, 2]}}]}'
    with pytest.raises(AOIInvalid, match="no polygon features"):
        read_vector("points.geojson", points)


def test_typed_aoi_zooms_the_map_at_once():
    m = AOIMap(basemap_url=None, center=(0.0, 0.0), zoom=3)
    m.text.value = "11.0, 46.0, 11.03, 46.02"
    assert m.map.zoom >= 13 and m.map.center == pytest.approx([46.01, 11.015], abs=0.001)


def test_geoparquet_in_utm_is_read_in_lon_lat(tmp_path):
    import json

    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely
    from pyproj import CRS, Transformer

    from jupyter_eo.widgets.vector_upload import read_vector

    to_utm = Transformer.from_crs(4326, 32632, always_xy=True)
    field = shapely.transform(shapely.box(11.0, 46.0, 11.02, 46.01),
                              lambda xy: np.column_stack(to_utm.transform(xy[:, 0], xy[:, 1])))
    geo = {"version": "1.0.0", "primary_column": "geometry",
           "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Polygon"],
                                    "crs": CRS.from_epsg(32632).to_json_dict()}}}
    table = pa.table({"name": ["Vineyard"], "geometry": [shapely.to_wkb(field)]})
    table = table.replace_schema_metadata({b"geo": json.dumps(geo).encode()})
    pq.write_table(table, tmp_path / "fields.parquet")
    features = read_vector("fields.parquet", (tmp_path / "fields.parquet").read_bytes())
    assert [f.label for f in features] == ["Vineyard"]
    assert geometry_bbox(features[0].geometry) == pytest.approx((11.0, 46.0, 11.02, 46.01), abs=1e-6)
    with pytest.raises(AOIInvalid, match="not GeoParquet"):
        pq.write_table(pa.table({"name": ["x"]}), tmp_path / "plain.parquet")
        read_vector("plain.parquet", (tmp_path / "plain.parquet").read_bytes())
