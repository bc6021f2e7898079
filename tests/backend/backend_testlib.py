"""Shared helpers of the backend tests: a small in-memory collection, catalog and config."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests
import xarray as xr

from jupyter_eo.backend.app import BackendConfig
from jupyter_eo.backend.cube import set_crs
from jupyter_eo.backend.limits import Limits

USER, PASSWORD = "alice", "wonder-land-pw"
CRS = "EPSG:32631"
X0, Y0, RES = 500_000.0, 5_600_000.0, 10.0
NX, NY = 80, 60
DATES = pd.to_datetime(["2024-05-01", "2024-05-11", "2024-05-21", "2024-05-31"])
BANDS = ["B02", "B04", "B08"]

# load_collection TEST_S2 (whole extent) saved as GTiff: a body for POST /result or /jobs
LOAD_SAVE_GTIFF = {"process": {"process_graph": {
    "l": {"process_id": "load_collection", "arguments": {"id": "TEST_S2",
          "spatial_extent": None, "temporal_extent": None}},
    "s": {"process_id": "save_result", "arguments": {"data": {"from_node": "l"},
          "format": "GTiff"}, "result": True}}}}


def basic_auth_headers(url: str, user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    """The Authorization header of a basic login to the backend at ``url``."""
    token = requests.get(url + "credentials/basic", auth=(user, password)).json()["access_token"]
    return {"Authorization": f"Bearer basic//{token}"}


def make_cube() -> xr.DataArray:
    rng = np.random.default_rng(42)
    data = rng.integers(1, 10_000, size=(len(DATES), len(BANDS), NY, NX)).astype("float32")
    data[1, :, 5:9, 7:12] = np.nan  # some no-data
    xs = X0 + RES / 2 + RES * np.arange(NX)
    ys = Y0 - RES / 2 - RES * np.arange(NY)
    cube = xr.DataArray(data, dims=("t", "bands", "y", "x"),
                        coords={"t": DATES.values, "bands": BANDS, "y": ys, "x": xs})
    return set_crs(cube, CRS)


class ArrayCollection:
    """A Collection (catalog interface) over an in-memory cube; honours extents and bands."""

    id = "TEST_S2"

    def __init__(self) -> None:
        self.cube = make_cube()

    def metadata(self) -> dict[str, Any]:
        return {
            "stac_version": "1.0.0", "type": "Collection", "id": self.id,
            "title": "Test Sentinel-2-like", "description": "Small random test cube.",
            "license": "CC0-1.0", "providers": [{"name": "tests", "roles": ["producer"]}],
            "extent": {"spatial": {"bbox": [[2.99, 50.5, 3.02, 50.52]]},
                       "temporal": {"interval": [["2024-05-01T00:00:00Z", "2024-05-31T00:00:00Z"]]}},
            "cube:dimensions": {
                "x": {"type": "spatial", "axis": "x", "extent": [X0, X0 + NX * RES], "step": RES,
                      "reference_system": 32631},
                "y": {"type": "spatial", "axis": "y", "extent": [Y0 - NY * RES, Y0], "step": RES,
                      "reference_system": 32631},
                "t": {"type": "temporal", "extent": ["2024-05-01T00:00:00Z", "2024-05-31T00:00:00Z"],
                      "values": [d.strftime("%Y-%m-%dT%H:%M:%SZ") for d in DATES], "step": None},
                "bands": {"type": "bands", "values": BANDS},
            },
            "summaries": {"eo:bands": [{"name": "B02", "common_name": "blue"},
                                       {"name": "B04", "common_name": "red"},
                                       {"name": "B08", "common_name": "nir"}]},
            "links": [],
        }

    def queryables(self) -> dict[str, Any]:
        return {"type": "object", "properties": {"eo:cloud_cover": {"type": "number"}}}

    def load(self, spatial_extent=None, temporal_extent=None, bands=None, property_filter=None,
             *, resolution=None, crs=None) -> xr.DataArray:
        from jupyter_eo.errors import ProcessParameterInvalid

        cube = self.cube
        if bands is not None:
            unknown = [b for b in bands if b not in BANDS]
            if unknown:
                raise ProcessParameterInvalid(f"Band {unknown[0]!r} is not available.")
            cube = cube.sel(bands=list(bands))
        if temporal_extent:
            start, end = temporal_extent
            sel = np.ones(cube.sizes["t"], bool)
            if start:
                sel &= cube.t.values >= np.datetime64(pd.Timestamp(start))
            if end:
                sel &= cube.t.values < np.datetime64(pd.Timestamp(end))
            cube = cube.isel(t=sel)
        if spatial_extent:
            from pyproj import Transformer

            tr = Transformer.from_crs(spatial_extent.get("crs") or 4326, CRS, always_xy=True)
            w, s, e, n = tr.transform_bounds(spatial_extent["west"], spatial_extent["south"],
                                             spatial_extent["east"], spatial_extent["north"])
            cube = cube.sel(x=slice(w, e), y=slice(n, s))
        if (crs is not None or resolution is not None) and cube.sizes["x"] and cube.sizes["y"]:
            import rioxarray  # noqa: F401

            target = f"EPSG:{crs}" if isinstance(crs, int) else (crs or CRS)
            steps = [cube.isel(t=i).rio.reproject(target, resolution=resolution)
                     for i in range(cube.sizes["t"])]
            cube = xr.concat(steps, dim="t").transpose("t", "bands", "y", "x")
        return cube.chunk({"t": 1, "bands": -1, "y": 32, "x": 32})


class SlowCollection(ArrayCollection):
    """Like ArrayCollection, but every chunk takes ``delay`` seconds to compute."""

    delay = 0.5

    def load(self, *args: Any, **kwargs: Any) -> xr.DataArray:
        import time

        def slow(block: np.ndarray) -> np.ndarray:
            time.sleep(self.delay)
            return block

        cube = super().load(*args, **kwargs)
        return cube.copy(data=cube.data.map_blocks(slow, dtype=cube.dtype))


class ArrayCatalog:
    def __init__(self, slow: bool = False) -> None:
        self.collection = SlowCollection() if slow else ArrayCollection()

    def ids(self) -> list[str]:
        return [self.collection.id]

    def get(self, collection_id: str) -> ArrayCollection:
        from jupyter_eo.errors import CollectionNotFound

        if collection_id != self.collection.id:
            raise CollectionNotFound(f"Collection {collection_id!r} does not exist.")
        return self.collection


def make_config(data_dir: Path, **overrides: Any) -> BackendConfig:
    limits = overrides.pop("limits", None) or Limits(max_body_bytes=2 * 1024 * 1024,
                                                     max_upload_bytes=4 * 1024 * 1024,
                                                     sync_timeout_s=60)
    catalog = overrides.pop("catalog", None) or ArrayCatalog()
    return BackendConfig(data_dir=data_dir, users={USER: PASSWORD, "bob": "bob-pw"},
                         catalog=catalog, limits=limits, **overrides)
