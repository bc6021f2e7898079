"""The Explorer on collections no index recipe fits (a DEM, a 3-band product without red/NIR)
served by the real embedded backend from user GeoTIFFs: band view, band-math formula, kept time
range, XYZ fallback and the exported code's backend."""
from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import pytest

from jupyter_eo.widgets.explorer import Explorer

USER, PASSWORD = "eve", "any-collection-pw"
WEST, SOUTH, EAST, NORTH = 11.0, 46.0, 11.02, 46.016  # the GeoTIFFs' footprint
AOI = (11.004, 46.004, 11.014, 46.012)


def write_geotiff(path, bands: dict[str, np.ndarray]) -> None:
    import rasterio
    from rasterio.transform import from_bounds

    first = next(iter(bands.values()))
    height, width = first.shape
    with rasterio.open(path, "w", driver="GTiff", width=width, height=height, count=len(bands),
                       dtype="float32", crs="EPSG:4326",
                       transform=from_bounds(WEST, SOUTH, EAST, NORTH, width, height)) as dst:
        for i, (name, data) in enumerate(bands.items(), start=1):
            dst.write(data.astype("float32"), i)
            dst.set_band_description(i, name)


@pytest.fixture(scope="module")
def files() -> dict[str, np.ndarray]:
    y, x = np.mgrid[0:40, 0:50].astype("float32")
    return {"elevation": 500.0 + 10.0 * x + 3.0 * y,  # a ramp: 500 … 1117 m
            "Oa04": 0.05 + 0.001 * x, "Oa08": 0.04 + 0.002 * y, "Oa17": 0.3 + 0.001 * (x + y)}


@pytest.fixture(scope="module")
def connection(tmp_path_factory: pytest.TempPathFactory, files) -> Iterator[Any]:
    import openeo

    from jupyter_eo.backend.config import BackendConfig
    from jupyter_eo.backend.testing import serve_in_thread

    root = tmp_path_factory.mktemp("any-collection")
    data = root / "collections"
    data.mkdir()
    write_geotiff(data / "dem_2020-01-01.tif", {"elevation": files["elevation"]})
    write_geotiff(data / "olci_2023-06-15.tif", {k: files[k] for k in ("Oa04", "Oa08", "Oa17")})
    config = BackendConfig(data_dir=root / "state", users={USER: PASSWORD}, collections_dir=data)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OPENEO_CONFIG_HOME", str(root / "openeo-config"))
        with serve_in_thread(config) as url:
            yield openeo.connect(url).authenticate_basic(USER, PASSWORD)


def make(connection, collection: str, **kwargs: Any) -> Explorer:
    options = {"aoi": AOI, "basemap_url": None, "delay": 0.0, "temporal_extent": ("2019-06-01", "2023-09-01")}
    options.update(kwargs)
    return Explorer(connection, collection=collection, **options)


def test_dem_gets_the_band_view_and_lists_the_others_with_reasons(connection, files):
    explorer = make(connection, "dem_2020-01-01")  # constructing raised TraitError before
    assert explorer.recipe.value == "bands"
    assert [v for _, v in explorer.recipe.dropdown.options] == ["bands", "expression"]
    assert "NDVI composite: no nir / red band" in explorer.recipe.unavailable.value
    assert explorer.recipe.bands == ("elevation",)
    assert explorer.recipe.mask_box.layout.display == "none" and not explorer.recipe.cloud_mask
    assert explorer.preview.wait(120)
    result = explorer.preview.result
    assert result is not None, explorer.preview.status.value
    assert result.data.shape[0] == 1
    finite = result.data[np.isfinite(result.data)]
    # the AOI's part of the ramp, at full resolution (a small AOI is not resampled)
    assert finite.size > 0.5 * result.data.size
    assert files["elevation"].min() <= finite.min() < finite.max() <= files["elevation"].max()
    assert "elevation" in explorer.preview.colorbar.value


def test_three_bands_as_rgb_and_a_typed_formula(connection, files):
    explorer = make(connection, "olci_2023-06-15", recipe="bands")
    explorer.recipe.band_mode.value = 3  # the mouse's "RGB" toggle: the next bands fill in
    assert explorer.recipe.bands == ("Oa04", "Oa08", "Oa17")
    assert explorer.preview.wait(120)
    assert explorer.preview.result.data.shape[0] == 3, explorer.preview.status.value

    explorer.recipe.value = "expression"
    explorer.recipe.formula.value = "(Oa17 - Oa08) / (Oa17 + Oa08)"  # as committed from the browser
    assert explorer.recipe.expression == "(Oa17 - Oa08) / (Oa17 + Oa08)"
    graph = explorer.graph()
    load = next(n for n in graph.values() if n["process_id"] == "load_collection")
    assert load["arguments"]["bands"] == ["Oa17", "Oa08"]
    assert explorer.preview.wait(120)
    data = explorer.preview.result.data[0]
    expected = (files["Oa17"] - files["Oa08"]) / (files["Oa17"] + files["Oa08"])
    finite = data[np.isfinite(data)]
    assert finite.size > 0.5 * data.size
    assert expected.min() - 1e-6 <= finite.min() and finite.max() <= expected.max() + 1e-6

    # bad formulas: explained inline, never run, the last valid formula stays in use
    for bad in ("Oa17 +", "__import__('os').system('true')", "B08 - B04", "Oa17.real"):
        explorer.recipe.formula.value = bad
        assert "jeo-error" in explorer.recipe.formula_note.value, bad
        assert explorer.recipe.expression == "(Oa17 - Oa08) / (Oa17 + Oa08)"
    assert explorer.graph() == graph


def test_user_time_range_is_kept_and_clamped_only_with_a_note(connection):
    explorer = make(connection, "SENTINEL2_L2A", temporal_extent=("2023-06-01", "2023-07-01"), auto_preview=False)
    assert explorer.temporal.value == ("2023-06-01", "2023-07-01") and explorer.temporal.note.value == ""
    explorer.collection.value = "dem_2020-01-01"  # one date: the range cannot hold the user's
    assert explorer.temporal.value == ("2020-01-01", "2020-01-02")
    assert "outside" in explorer.temporal.note.value
    loads = [n for n in explorer.graph().values() if n["process_id"] == "load_collection"]
    assert [n["arguments"]["temporal_extent"] for n in loads] == [["2020-01-01", "2020-01-02"]]
    explorer.collection.value = "SENTINEL2_L2A"
    assert explorer.temporal.value == ("2023-06-01", "2023-07-01") and explorer.temporal.note.value == ""
    explorer.recipe.value = "ndvi_change"  # the second period: the same dates a year later
    assert explorer.recipe.second_period == ("2024-06-01", "2024-07-01")
    explorer.temporal.start.value = "2023-05-01"  # typed: both periods follow
    assert explorer.recipe.second_period == ("2024-05-01", "2024-07-01")
    # constructed on the short collection first: the user's range is still what S2 gets
    other = make(connection, "dem_2020-01-01", temporal_extent=("2023-06-01", "2023-07-01"), auto_preview=False)
    other.collection.value = "SENTINEL2_L2A"
    assert other.temporal.value == ("2023-06-01", "2023-07-01")


def test_aoi_outside_the_collection_clears_the_preview_and_says_why(connection):
    explorer = make(connection, "olci_2023-06-15", recipe="bands")
    assert explorer.preview.wait(120) and explorer.preview.overlay in explorer.map.map.layers
    assert explorer.preview.colorbar.value
    assert explorer.zoom_button.layout.display == ""
    explorer.map.set_aoi((12.0, 47.0, 12.01, 47.008))  # far from the file's footprint
    assert explorer.preview.overlay is None and explorer.preview.colorbar.value == ""
    assert not any(type(layer).__name__ == "ImageOverlay" for layer in explorer.map.map.layers)
    assert "outside olci_2023-06-15" in explorer.message.value
    fitted = []  # ipyleaflet asks the browser to fit the bounds; record what it is asked
    explorer.map.map.fit_bounds = fitted.append
    explorer.zoom_button.click()
    ((south_west, north_east),) = fitted
    assert np.allclose([*south_west, *north_east], [SOUTH, WEST, NORTH, EAST], atol=1e-3)
    explorer.map.set_aoi(AOI)  # back inside: previews again, the explanation goes
    assert explorer.preview.wait(120) and explorer.preview.overlay in explorer.map.map.layers
    assert "outside" not in explorer.message.value


class _NoServices:
    """The same backend seen through a connection whose capabilities lack the XYZ service."""

    def __init__(self, connection: Any, *, refuse: bool = False) -> None:
        self._connection, self._refuse = connection, refuse
        self.created = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def list_service_types(self) -> dict:
        return {"XYZ": {}} if self._refuse else {}

    def create_service(self, *args: Any, **kwargs: Any) -> Any:
        self.created += 1
        from openeo.rest import OpenEoApiError

        raise OpenEoApiError(http_status_code=400, code="ServiceUnsupported", message="no XYZ here")


@pytest.mark.parametrize("refuse", [False, True], ids=["no-service-type", "create-fails"])
def test_large_aoi_falls_back_to_a_low_resolution_request_without_xyz(connection, refuse):
    from jupyter_eo.widgets.preview_tiles import _XYZ

    no_tiles = _NoServices(connection, refuse=refuse)
    _XYZ.pop(id(no_tiles), None)
    # ~23 km wide: more than the 2048 native pixels previewed as tiles where a backend has them
    explorer = make(no_tiles, "SENTINEL2_L2A", recipe="NDVI", aoi=(10.9, 45.9, 11.2, 46.05),
                    temporal_extent=("2023-06-01", "2023-06-15"))
    assert explorer.preview.wait(240)
    assert no_tiles.created == (1 if refuse else 0)
    result = explorer.preview.result
    assert result is not None and explorer.preview.tiles is None, explorer.preview.status.value
    assert 400 < max(result.data.shape[-2:]) <= explorer.preview.max_pixels + 1  # +1: grid alignment
    assert np.isfinite(result.data).sum() > 0.3 * result.data[0].size
    assert "low resolution" in explorer.message.value
    assert explorer.preview.overlay in explorer.map.map.layers


def test_exported_code_targets_the_connections_backend(connection):
    class ViaProxy:
        """A connection as jupyter_eo.connect("cdse") makes it in a kernel (proxy URL)."""
        root_url = "http://127.0.0.1:8888/user/ann/jupyter-eo/openeo/cdse/"

        def __getattr__(self, name: str) -> Any:
            return getattr(connection, name)

    explorer = make(ViaProxy(), "SENTINEL2_L2A", recipe="NDVI", auto_preview=False)
    assert explorer.export.backend_id == "cdse"
    assert 'jupyter_eo.connect("cdse")' in explorer.export.code()
    direct = make(connection, "SENTINEL2_L2A", recipe="NDVI", auto_preview=False)
    assert 'jupyter_eo.connect("local")' in direct.export.code()  # the embedded backend, directly
    pinned = Explorer(connection, backend_id="course", aoi=AOI, basemap_url=None, auto_preview=False)
    assert 'jupyter_eo.connect("course")' in pinned.export.code()


def test_portable_code_uses_the_backends_url_and_login_and_runs(connection, tmp_path, monkeypatch):
    """Portable code for the embedded backend: its real URL and the basic login it advertises
    (no OIDC there), run with the plain openeo client; the cell ends by downloading the result."""
    from openeo.rest.auth.config import AuthConfig

    from jupyter_eo.widgets.preview_run import read_geotiff

    explorer = make(connection, "olci_2023-06-15", recipe="expression", auto_preview=False)
    explorer.export.flavour.value = "portable"
    explorer.export.ending.value = "download"
    code = explorer.export.code()
    assert f'openeo.connect("{connection._orig_url}").authenticate_basic()' in code
    assert "authenticate_oidc" not in code and "dataspace.copernicus" not in code
    assert "cube.download('expression_olci_2023-06-15.tif')" in code
    AuthConfig().set_basic_auth(backend=connection._orig_url, username=USER, password=PASSWORD)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "<portable>", "exec"), {})
    from_code = read_geotiff((tmp_path / "expression_olci_2023-06-15.tif").read_bytes()).data
    from_widget = read_geotiff(connection.download(explorer.graph())).data
    assert from_code.dtype == from_widget.dtype
    np.testing.assert_array_equal(from_code, from_widget)
