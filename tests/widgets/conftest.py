"""Fixtures for widget tests: collection metadata dicts shaped like the catalog's STAC output,
and an embedded backend with a logged-in openeo connection per test module."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

BACKEND_USER, BACKEND_PASSWORD = "ann", "widgets-test-pw"

S2_BANDS = [("B01", "coastal", 0.443), ("B02", "blue", 0.490), ("B03", "green", 0.560),
            ("B04", "red", 0.665), ("B05", "rededge", 0.705), ("B06", "rededge", 0.740),
            ("B07", "rededge", 0.783), ("B08", "nir", 0.842), ("B8A", "nir08", 0.865),
            ("B09", "nir09", 0.945), ("B11", "swir16", 1.610), ("B12", "swir22", 2.190)]


def s2_metadata() -> dict:
    bands = [{"name": n, "common_name": c, "center_wavelength": wl} for n, c, wl in S2_BANDS]
    bands.append({"name": "SCL", "description": "scene classification"})
    return {
        "id": "SENTINEL2_L2A", "title": "Sentinel-2 L2A (simulated)", "license": "CC-BY-4.0",
        "keywords": ["sentinel", "optical"],
        "extent": {"spatial": {"bbox": [[5.0, 43.0, 17.0, 50.0]]},
                   "temporal": {"interval": [["2023-01-01T00:00:00Z", "2023-12-31T23:59:59Z"]]}},
        "cube:dimensions": {"x": {"type": "spatial", "axis": "x"}, "y": {"type": "spatial", "axis": "y"},
                            "t": {"type": "temporal", "extent": ["2023-01-01", "2023-12-31"]},
                            "bands": {"type": "bands", "values": [b["name"] for b in bands]}},
        "summaries": {"eo:bands": bands},
    }


def s1_metadata() -> dict:
    return {
        "id": "SENTINEL1_GRD", "title": "Sentinel-1 GRD (simulated)", "license": "CC-BY-4.0",
        "extent": {"spatial": {"bbox": [[5.0, 43.0, 17.0, 50.0]]},
                   "temporal": {"interval": [["2022-01-01T00:00:00Z", "2022-06-30T00:00:00Z"]]}},
        "cube:dimensions": {"bands": {"type": "bands", "values": ["VV", "VH"]}},
        "summaries": {"eo:bands": [{"name": "VV"}, {"name": "VH"}]},
    }


@pytest.fixture
def collections() -> list[dict]:
    return [s2_metadata(), s1_metadata()]


@pytest.fixture
def backend_password() -> str:
    """The password of the ``connection`` fixture's user (to check it leaks nowhere)."""
    return BACKEND_PASSWORD


@pytest.fixture(scope="module")
def connection(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The official client, logged in to an embedded backend started for this test module
    (the client's config home is isolated, and restored when the module is done)."""
    import openeo

    from jupyter_eo.backend.config import BackendConfig
    from jupyter_eo.backend.testing import serve_in_thread

    root = tmp_path_factory.mktemp("widgets-backend")
    config = BackendConfig(data_dir=root / "state", users={BACKEND_USER: BACKEND_PASSWORD})
    with pytest.MonkeyPatch.context() as env:
        env.setenv("OPENEO_CONFIG_HOME", str(root / "openeo-config"))
        with serve_in_thread(config) as url:
            yield openeo.connect(url).authenticate_basic(BACKEND_USER, BACKEND_PASSWORD)
