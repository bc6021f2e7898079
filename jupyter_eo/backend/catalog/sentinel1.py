"""Simulated SENTINEL1_GRD: VV/VH linear sigma0 over the same simulated land cover, with speckle."""
from __future__ import annotations

import datetime as _dt

import numpy as np

from . import noise
from . import simulated_world as world
from .base import queryables_schema
from .grid import Grid
from .metadata import collection_document, eo_band, iso
from .simulated import SimulatedCollection
from .simulated_orbits import SENTINEL1

# Typical C-band backscatter (dB) per land-cover class, at low and full greenness, for VV and VH.
# Approximate values from the literature on Sentinel-1 IW GRD land-cover signatures (e.g. Abdikan
# et al. 2016, ISPRS Archives XLI-B7; Ulaby & Long 2014 "Microwave Radar and Radiometric Remote
# Sensing", ch. 11): calm water is darkest, dense canopies ~ -7 dB VV, double bounce in towns bright.
_VV = np.array([  # (dormant, green)
    (-22.0, -22.0), (-7.0, -6.5), (-9.0, -7.5), (-7.5, -7.0), (-12.0, -10.5), (-14.0, -9.0),
    (-18.0, -18.0), (1.0, 1.0), (-10.0, -10.0), (-13.0, -12.0), (-14.0, -13.0)], np.float32)
_VH = np.array([
    (-29.0, -29.0), (-12.5, -12.0), (-15.5, -13.0), (-13.5, -12.5), (-20.0, -17.5), (-22.0, -15.0),
    (-26.0, -26.0), (-8.0, -8.0), (-18.0, -18.0), (-21.0, -19.0), (-22.0, -20.0)], np.float32)
LOOKS = 4  # equivalent number of looks of the speckle (GRD IW high resolution: ~4.4)
_LEVELS = np.linspace(0.0, 1.0, 1024, dtype=np.float32)


def _tables(day: _dt.date, seed: int) -> dict[str, np.ndarray]:
    """Per band: (class * 1024 + greenness level) -> linear sigma0, with a per-date wind on water."""
    wind_db = 4.0 * float(noise.hash01(np.int64(day.toordinal()), np.int64(1), seed + 211))
    out = {}
    for name, table in (("VV", _VV), ("VH", _VH)):
        t = table.copy()
        t[world.WATER] += wind_db  # rougher water on windy days, still far below -15 dB
        db = t[:, :1] + (t[:, 1:] - t[:, :1]) * _LEVELS[None, :]
        # float64 transcendental functions, then rounded to float32: the same bits on every CPU
        out[name] = np.power(10.0, db.astype(np.float64) / 10.0).astype(np.float32).ravel()
    return out


def speckle(grid: Grid, day: _dt.date, band: str, seed: int) -> np.ndarray:
    """Multiplicative fully developed speckle, Gamma(L=4, mean 1), from 2 per-pixel hashes."""
    gx, gy = grid.gx(), grid.gy()
    prod = None
    for k in range(2):
        h = noise.hash2(gx[None, :], gy[:, None], noise.hash_seed(seed, "speckle", band, day.toordinal(), k))
        lo = ((h & np.uint32(0xFFFF)).astype(np.float32) + np.float32(0.5)) * np.float32(1 / 65536)
        hi = ((h >> np.uint32(16)).astype(np.float32) + np.float32(0.5)) * np.float32(1 / 65536)
        lo *= hi
        prod = lo if prod is None else prod * lo
    out = np.log(prod.astype(np.float64))  # float64 log rounded to float32: CPU-independent bits
    out *= -1.0 / LOOKS
    return out.astype(np.float32)


def render_s1(grid: Grid, day: _dt.date, bands: list[str], seed: int, static: world.Static) -> dict[str, np.ndarray]:
    """VV/VH linear sigma0 (float32) of one frame."""
    surf = world.surface(grid, day, seed, static)
    index = (surf.green * np.float32(1023) + np.float32(0.5)).astype(np.intp)
    index += static.ci * 1024
    tables = _tables(day, seed)
    tex = world.texture_multiplier(grid, static, 10.0, seed)
    out = {}
    for name in bands:
        sigma = np.take(tables[name], index)
        sigma *= tex
        if surf.snow is not None:  # wet snow absorbs: up to -3 dB
            sigma *= np.float32(1.0) - np.float32(0.5) * surf.snow
        sigma *= speckle(grid, day, name, seed)
        out[name] = sigma
    return out


class Sentinel1GRD(SimulatedCollection):
    """Simulated Sentinel-1 IW GRD backscatter (acquisitions of Sentinel-1A/1B/1C from 2017)."""

    id = "SENTINEL1_GRD"
    dtype = np.float32
    nodata = None
    first_date = _dt.date(2017, 1, 3)
    satellites = SENTINEL1

    def eo_bands(self) -> list[dict]:
        return [eo_band("VV", description="sigma0 VV, linear power ratio"),
                eo_band("VH", description="sigma0 VH, linear power ratio")]

    def date_properties(self, day: _dt.date, grid: Grid) -> dict:
        platform, state, orbit = self.pass_of(day, grid) or ("sentinel-1a", "ascending", 0)
        return {"datetime": iso(day), "sat:orbit_state": state, "sar:instrument_mode": "IW",
                "platform": platform, "sar:polarizations": ["VV", "VH"],
                "sat:relative_orbit": orbit}

    def render(self, grid: Grid, day: _dt.date, bands: list[str]) -> dict[str, np.ndarray]:
        return render_s1(grid, day, bands, self.seed, self.static_layers(grid))

    def queryables(self) -> dict:
        return queryables_schema(self.id, {
            "sat:orbit_state": {"type": "string", "enum": ["ascending", "descending"]},
            "sar:instrument_mode": {"type": "string", "enum": ["IW"]},
            "platform": {"type": "string", "enum": [sat.platform for sat in SENTINEL1]},
        })

    def metadata(self) -> dict:
        return collection_document(
            id=self.id,
            title="Sentinel-1 GRD backscatter (simulated)",
            description=(
                "SIMULATED Sentinel-1 IW GRD backscatter (sigma0, linear) in VV and VH for anywhere on "
                "Earth, generated offline and deterministically by jupyter_eo over the same simulated "
                "land cover as SENTINEL2_L2A: calm water dark (below -15 dB), towns bright, crops and "
                "grass seasonal, with multiplicative speckle (4 looks). Acquisition dates follow the "
                "orbits of Sentinel-1A, 1B and 1C (12-day cycle of 175 relative orbits each, "
                "250 km IW swath, ascending and descending passes; 1B until its end on 2021-12-23, "
                "1C in 1B's place from its launch on 2024-12-05). Band names follow the Copernicus Data Space "
                "Ecosystem collection SENTINEL1_GRD. Delivered on the UTM zone of the AOI at 10 m."),
            license="CC-BY-4.0",
            providers=[{"name": "jupyter_eo simulation", "roles": ["producer", "processor", "host"]}],
            keywords=["simulated", "Sentinel-1", "SAR", "GRD", "backscatter", "offline"],
            bbox=[-180.0, -90.0, 180.0, 90.0],
            interval=[iso(self.first_date), iso(self.today())],
            # the per-place revisit for the size pre-check, as Sentinel2L2A's (2 days)
            epsg=4326, bands=self.eo_bands(), step=10, t_step="P2D",
            summaries={"sar:polarizations": ["VV", "VH"], "sar:instrument_mode": ["IW"],
                       "sar:frequency_band": ["C"], "sar:product_type": ["GRD"],
                       "platform": [sat.platform for sat in SENTINEL1],
                       "constellation": ["sentinel-1"],
                       "sat:orbit_state": ["ascending", "descending"], "jupyter_eo:simulated": [True]},
            extra={"deprecated": False})
