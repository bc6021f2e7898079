"""CubeViewer state: frames per time step, band/RGB, stretch, pixel series, stats, GIF export."""
from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from PIL import Image

from jupyter_eo.errors import OpenEOError
from jupyter_eo.widgets.cube_viewer import CubeViewer

DATES = pd.date_range("2023-05-01", periods=4, freq="10D")


def make_cube() -> xr.DataArray:
    rng = np.random.default_rng(0)
    data = rng.random((4, 3, 20, 30))
    data[:, :, 0, 0] = np.arange(4)[:, None] * 10.0  # known pixel series
    data[1, 0, 5, 5] = np.nan
    return xr.DataArray(data, dims=("t", "bands", "y", "x"),
                        coords={"t": DATES, "bands": ["B04", "B03", "B02"]})


def decode(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_time_slider_changes_the_image_and_date():
    viewer = CubeViewer(make_cube())
    first = viewer.image.url
    assert decode(first).shape == (20, 30, 4)
    viewer.time.value = 2
    assert viewer.image.url != first
    assert "2023-05-21" in viewer.date.value
    assert viewer.play.max == 3


def test_click_pixel_shows_its_time_series():
    viewer = CubeViewer(make_cube())
    # Simple CRS: lat counts up from the bottom edge; row 0 is the top row
    viewer._on_map_event(type="click", coordinates=[19.6, 0.4])
    assert viewer.pixel == (0, 0)
    assert viewer.chart.layout.display == "" and viewer.chart.value[:4] == b"\x89PNG"
    assert [v for _, v in viewer.pixel_series(0, 0)] == [0.0, 10.0, 20.0, 30.0]
    viewer._on_map_event(type="mousemove", coordinates=[1, 1])
    assert viewer.pixel == (0, 0)
    viewer.select_pixel(99, 0)
    assert "outside" in viewer.message.value


def test_rgb_mode_stretch_and_stats():
    viewer = CubeViewer(make_cube())
    stats = viewer.statistics(0)
    values = make_cube().isel(t=0).sel(bands="B04").values
    assert stats["mean"] == pytest.approx(values.mean())
    assert stats["valid"] == 1.0
    viewer.time.value = 1
    assert viewer.statistics()["valid"] == pytest.approx(1 - 1 / 600)
    viewer.stretch.value = (0.0, 100.0)
    (low, high), = viewer.value_ranges()
    assert low == pytest.approx(np.nanmin(make_cube().sel(bands="B04").values))
    viewer.mode.value = "RGB"
    assert viewer.rgb_box.layout.display == "" and viewer.colorbar.value == ""
    assert len(viewer.value_ranges()) == 3
    assert decode(viewer.image.url).shape == (20, 30, 4)
    viewer.compare.value = True
    assert viewer.compare_image.value[:4] == b"\x89PNG"
    # the compared frame is a full-size map next to the main one (same height, linked view)
    assert viewer.compare_box.layout.display == "" and viewer.compare_box in viewer.children[2].children
    assert viewer.compare_map.layout.height == viewer.map.layout.height
    assert decode(viewer.compare_overlay.url).shape == (20, 30, 4)
    assert list(viewer.compare_overlay.bounds) == [[0, 0], [20, 30]]


def test_timelapse_gif(tmp_path):
    viewer = CubeViewer(make_cube())
    path = viewer.export_gif(tmp_path / "t.gif")
    with Image.open(path) as gif:
        assert gif.n_frames == 4 and gif.size == (30, 20)
    viewer._export_gif_clicked()
    assert "data:image/gif;base64," in viewer.gif_link.value


def test_opens_geotiff_and_netcdf_files(tmp_path):
    import rioxarray  # noqa: F401

    cube = make_cube().isel(t=0).astype("float32")
    cube = cube.assign_coords(x=np.arange(30) * 10.0 + 5, y=5000 - np.arange(20) * 10.0)
    tif = tmp_path / "r.tif"
    cube.rename(bands="band").rio.write_crs(32633).rio.to_raster(tif)
    viewer = CubeViewer(str(tif))
    assert viewer.cube.sizes == {"t": 1, "bands": 3, "y": 20, "x": 30}
    assert viewer.time.disabled
    nc = tmp_path / "r.nc"
    make_cube().to_dataset("bands").to_netcdf(nc)
    viewer = CubeViewer(nc)
    assert viewer.bands == ["B04", "B03", "B02"] and viewer.cube.sizes["t"] == 4


def test_single_band_2d_array_and_bad_input():
    viewer = CubeViewer(xr.DataArray(np.arange(12.0).reshape(3, 4), dims=("y", "x"), name="ndvi"))
    assert viewer.bands == ["ndvi"] and viewer.mode.options == ("Band",)
    with pytest.raises(OpenEOError):
        CubeViewer(xr.DataArray(np.arange(3.0), dims=("t",)))
    with pytest.raises(OpenEOError):
        CubeViewer("/nonexistent/file.tif")


def test_single_band_geotiff_with_numeric_band_coordinate(tmp_path):
    import rioxarray  # noqa: F401

    data = xr.DataArray(np.arange(12.0).reshape(1, 3, 4), dims=("band", "y", "x"),
                        coords={"band": [1], "x": np.arange(4.0), "y": np.arange(3.0)[::-1]})
    tif = tmp_path / "one.tif"
    data.rio.write_crs(3857).rio.to_raster(tif)
    viewer = CubeViewer(tif)
    assert viewer.bands == ["1"]
    assert viewer.statistics()["max"] == 11.0


def test_compare_with_another_result():
    cube = make_cube()
    other = cube.isel(t=[0]) * 0 + 5.0  # a constant result, one date
    viewer = CubeViewer(cube, other=other)
    assert viewer.compare.value and viewer.compare_time.max == 0
    left, right = decode(viewer.image.url), np.asarray(Image.open(io.BytesIO(viewer.compare_image.value)))
    assert left.shape == right.shape
    assert len(np.unique(right.reshape(-1, 4), axis=0)) == 1  # same stretch: one colour
    with pytest.raises(OpenEOError):
        CubeViewer(cube, other=cube.isel(x=slice(0, 5)))


def test_no_marker_before_a_click():
    import ipyleaflet

    viewer = CubeViewer(make_cube())
    assert viewer.marker is None
    assert not [layer for layer in viewer.map.layers if isinstance(layer, ipyleaflet.CircleMarker)]
    viewer.select_pixel(3, 4)
    assert viewer.marker in viewer.map.layers and list(viewer.marker.location) == [20 - 3 - 0.5, 4.5]


def test_pixel_chart_is_titled_in_lon_lat(tmp_path):
    import rioxarray  # noqa: F401

    cube = make_cube()
    x = 652_000.0 + 10.0 * np.arange(30) + 5.0  # UTM 32N, near 11.0 E 46.0 N
    y = 5_096_000.0 - 10.0 * np.arange(20) - 5.0
    cube = cube.assign_coords(x=x, y=y).rio.write_crs("EPSG:32632")
    viewer = CubeViewer(cube)
    viewer.select_pixel(0, 0)
    from pyproj import Transformer

    lon, lat = Transformer.from_crs(32632, 4326, always_xy=True).transform(x[0], y[0])
    expected = f"{lon:.4f}° E, {lat:.4f}° N"
    assert expected in viewer.chart_title.value and "row" not in viewer.chart_title.value
    assert CubeViewer(make_cube()).pixel_place(1, 2) == "row 1, column 2"  # no coordinates: say so


def test_product_style_and_band_name_for_job_results():
    from jupyter_eo.widgets.product_styles import style_for_recipe_id

    rng = np.random.default_rng(3)
    ndvi = xr.DataArray(rng.uniform(0.74, 0.94, (2, 1, 10, 10)), dims=("t", "bands", "y", "x"),
                        coords={"t": DATES[:2], "bands": ["data"]})
    viewer = CubeViewer(ndvi, style=style_for_recipe_id("NDVI"), band_name="NDVI")
    assert viewer.bands == ["NDVI"] and viewer.cmap.value == "RdYlGn"
    assert viewer.value_ranges() == [(-0.2, 0.9)]  # fixed, not the 0.74-0.94 of this field
    assert "NDVI (unitless)" in viewer.colorbar.value
    viewer.stretch.value = (2.0, 98.0 - 0.5)  # the user's stretch takes over
    low, high = viewer.value_ranges()[0]
    assert 0.74 <= low < high <= 0.94
    diff = ndvi.copy(data=rng.uniform(-0.05, 0.3, (2, 1, 10, 10)))
    change = CubeViewer(diff, style=style_for_recipe_id("ndvi_change"), band_name="NDVI change")
    (low, high), = change.value_ranges()
    assert low == -high and high in (0.5, 0.25)


def test_rgb_ranges_leave_masked_pixels_out():
    cube = make_cube() * 1000
    cube[:, :, :5, :] = np.nan  # masked rows in every band
    cube[:, 0, 5:8, :] = np.nan  # red masked where green/blue are cloud-bright
    cube[:, 1:, 5:8, :] = 9000.0
    viewer = CubeViewer(cube)
    viewer.mode.value = "RGB"
    assert all(high <= 1000.0 for _, high in viewer.value_ranges())
