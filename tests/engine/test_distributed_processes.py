"""Every kind of collection computes on process-based dask workers and equals the threaded run."""
from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pystac
import pytest
import rasterio
import xarray as xr
from rasterio.transform import from_origin

from jupyter_eo.backend.catalog import default_catalog
from jupyter_eo.backend.engine import EvalContext, evaluate, materialize
from jupyter_eo.backend.engine.compute import close_clients


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    import distributed

    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None, silence_logs=40) as cl:
        yield cl
        close_clients()


def _stac_catalog(root: Path) -> Path:
    """3 dated items with red/nir GeoTIFF assets (EPSG:32633, 30 x 20 px)."""
    root.mkdir()
    cat = pystac.Catalog(id="items", description="test items")
    for k in range(3):
        item_dir = root / f"item{k}"
        item_dir.mkdir()
        item = pystac.Item(id=f"item{k}", geometry={"type": "Point", "coordinates": [13.5, 52.3]},
                           bbox=[13.5, 52.3, 13.51, 52.31], datetime=dt.datetime(2022, 5 + k, 1),
                           properties={})
        for band, value in (("red", 100 + k), ("nir", 200 + k)):
            with rasterio.open(item_dir / f"{band}.tif", "w", driver="GTiff", width=30, height=20,
                               count=1, dtype="uint16", crs="EPSG:32633", nodata=0,
                               transform=from_origin(400000, 5800000, 10, 10)) as dst:
                dst.write(np.full((1, 20, 30), value, np.uint16))
            item.add_asset(band, pystac.Asset(href=str(item_dir / f"{band}.tif"),
                                              media_type=pystac.MediaType.GEOTIFF, roles=["data"],
                                              extra_fields={"eo:bands": [{"name": band}]}))
        cat.add_item(item)
    cat.normalize_hrefs(str(root))
    cat.make_all_asset_hrefs_relative()
    cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Any:
    tmp = tmp_path_factory.mktemp("collections")
    data = tmp / "data"
    data.mkdir()
    times = np.array(["2020-01-01", "2020-02-01", "2020-03-01"], dtype="datetime64[ns]")
    ds = xr.Dataset({"temp": (("time", "lat", "lon"),
                              np.arange(60, dtype="float32").reshape(3, 4, 5))},
                    coords={"time": times, "lat": [50.5, 50.25, 50.0, 49.75],
                            "lon": [8.0, 8.25, 8.5, 8.75, 9.0]})
    ds.to_netcdf(data / "temps.nc")
    return default_catalog(data_dir=data, cache_dir=tmp / "cache",
                           stac_catalogs=[str(_stac_catalog(tmp / "stac"))])


def _load(cid: str, extent: dict | None, bands: list[str] | None, t: list | None) -> dict:
    return {"l": {"process_id": "load_collection", "arguments": {
        "id": cid, "spatial_extent": extent, "temporal_extent": t,
        **({"bands": bands} if bands else {})}, "result": True}}


S2_ALL_BANDS = _load("SENTINEL2_L2A", {"west": 5.0, "south": 51.2, "east": 5.05, "north": 51.23},
                     None, ["2024-05-01", "2024-06-01"])
GRAPHS = {
    "stac_items": _load("items", None, ["red", "nir"], None),
    "netcdf": _load("temps", None, None, None),
    # ~50 MB raw result: gathered once (a result() with a short timeout re-started the
    # transfer forever)
    "s2_all_bands": S2_ALL_BANDS,
}


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_collection_on_process_workers_equals_threads(cluster: Any, catalog: Any,
                                                      name: str) -> None:
    local = materialize(evaluate(GRAPHS[name], EvalContext(catalog=catalog)))
    ctx = EvalContext(catalog=catalog, dask_address=cluster.scheduler_address)
    before = cluster.scheduler.transition_counter
    out: dict[str, Any] = {}
    worker = threading.Thread(target=lambda: out.update(v=materialize(evaluate(
        GRAPHS[name], ctx), ctx)), daemon=True)
    worker.start()
    worker.join(timeout=180)
    assert "v" in out, "the cluster computation did not finish within 180 s"
    remote = out["v"]
    assert cluster.scheduler.transition_counter > before  # the cluster did the work
    assert remote.dims == local.dims and remote.dtype == local.dtype
    np.testing.assert_array_equal(remote.values, local.values)
