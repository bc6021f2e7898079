"""Fixtures for catalog tests: one shared temporary cache dir (world data, chunks) per session."""
from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio
from rasterio.transform import from_origin

from jupyter_eo.backend.catalog import default_catalog
from jupyter_eo.backend.catalog.world_data import set_world_dir

# The derived land-mask file (117 MB, immutable, written atomically) is shared between test
# sessions in the system temp dir so that only the first session pays the ~10 s to build it.
set_world_dir(Path(tempfile.gettempdir()) / "jupyter_eo_test_world")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jupyter-eo-cache")


@pytest.fixture(scope="session")
def catalog(cache_dir: Path):
    return default_catalog(cache_dir=cache_dir)


@pytest.fixture
def make_stac():
    """A function writing a static STAC catalog (3 dated items, red/nir GeoTIFF assets) to a dir."""
    return make_stac_catalog


def make_stac_catalog(root: Path) -> Path:
    """3 items (2022-05/06/07-01), assets red = 100+k and nir = 200+k, EPSG:32633, 30 x 20 px."""
    root.mkdir()
    cat = pystac.Catalog(id="my-stac", description="test catalog")
    for k, day in enumerate([dt.datetime(2022, 5, 1), dt.datetime(2022, 6, 1), dt.datetime(2022, 7, 1)]):
        item_dir = root / f"item{k}"
        item_dir.mkdir()
        for band, value in (("red", 100 + k), ("nir", 200 + k)):
            with rasterio.open(item_dir / f"{band}.tif", "w", driver="GTiff", width=30, height=20, count=1,
                               dtype="uint16", crs="EPSG:32633", nodata=0,
                               transform=from_origin(400000, 5800000, 10, 10)) as dst:
                dst.write(np.full((1, 20, 30), value, np.uint16))
        item = pystac.Item(id=f"item{k}", geometry={"type": "Point", "coordinates": [13.5, 52.3]},
                           bbox=[13.5, 52.3, 13.51, 52.31], datetime=day,
                           properties={"eo:cloud_cover": 10.0 * k})
        for band in ("red", "nir"):
            item.add_asset(band, pystac.Asset(href=str(item_dir / f"{band}.tif"), media_type=pystac.MediaType.GEOTIFF,
                                              roles=["data"], extra_fields={"eo:bands": [{"name": band, "common_name": band}]}))
        cat.add_item(item)
    cat.normalize_hrefs(str(root))
    cat.make_all_asset_hrefs_relative()
    cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"
