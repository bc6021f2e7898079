"""Browser test: uploading a GeoPackage with the mouse (file chooser) sets the Explorer's AOI to
the chosen polygon feature and zooms the map to it."""
from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.browser

EXPLORER = """\
import jupyter_eo
from jupyter_eo.widgets import Explorer
connection = jupyter_eo.connect("local")
explorer = Explorer(connection, temporal_extent=("2023-06-01", "2023-07-01"), auto_preview=False,
                    center=(0.0, 0.0), zoom=3)
explorer"""


def write_geopackage(path) -> None:
    """Two fields in UTM 32N (the upload must reproject them) and a road (not a polygon)."""
    import pyogrio.raw
    import shapely
    from pyproj import Transformer

    to_utm = Transformer.from_crs(4326, 32632, always_xy=True)
    boxes = [shapely.box(11.0, 46.0, 11.02, 46.01), shapely.box(11.1, 46.1, 11.15, 46.12),
             shapely.LineString([(11.0, 46.0), (11.1, 46.1)])]
    utm = [shapely.transform(b, lambda xy: np.column_stack(to_utm.transform(xy[:, 0], xy[:, 1]))) for b in boxes]
    pyogrio.raw.write(str(path), np.array([shapely.to_wkb(g) for g in utm], dtype=object),
                      [np.array(["North field", "South field", "road"], dtype=object)], ["name"],
                      layer="parcels", driver="GPKG", geometry_type="Unknown", crs="EPSG:32632")


def test_geopackage_upload_sets_the_aoi(lab, tmp_path) -> None:
    page = lab.page
    page.set_viewport_size({"width": 1400, "height": 1300})
    gpkg = tmp_path / "parcels.gpkg"
    write_geopackage(gpkg)
    path = lab.write_notebook("upload.ipynb", [EXPLORER])
    lab.open_notebook(path)
    lab.run_cell(path, 0)
    cell = lab.cell_locator(path, 0)
    button = cell.locator(".jeo-vector-upload button", has_text="Upload AOI").first
    button.wait_for(timeout=90_000)
    with page.expect_file_chooser() as chooser:
        button.click()
    chooser.value.set_files(str(gpkg))
    status = cell.locator(".jeo-aoi-map", has_text="AOI bbox: W 11.0000, S 46.0000, E 11.0200, N 46.0100").first
    status.wait_for(timeout=30_000)
    assert "2 polygon features" in cell.locator(".jeo-vector-upload").first.inner_text()

    # choose the other feature with the mouse
    select = cell.locator(".jeo-vector-upload select").first
    select.click()
    select.select_option(label="South field")
    cell.locator(".jeo-aoi-map", has_text="W 11.1000, S 46.1000, E 11.1500, N 46.1200").first.wait_for(timeout=30_000)
    bbox = eval(lab.kernel_eval(path, "explorer.map.bbox"))
    assert bbox == pytest.approx((11.1, 46.1, 11.15, 46.12), abs=1e-6)
    assert float(lab.kernel_eval(path, "explorer.map.map.zoom")) >= 12  # the map zoomed to the AOI
    assert "load_collection" in lab.kernel_eval(path, "str(explorer.graph())")
