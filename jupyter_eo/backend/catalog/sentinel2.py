"""Simulated SENTINEL2_L2A: CDSE band names, uint16 reflectance x 10000, SCL consistent with clouds.

Grid: the UTM zone of the AOI centre at 10 m unless ``resolution``/``crs`` say otherwise. All bands
are delivered on that grid. 20 m and 60 m bands (B05-B07, B8A, B11, B12, SCL; B01, B09) keep their
native pixel size in their pixel-level texture, which is constant over each native 20/60 m pixel
(like CDSE's nearest-neighbour upsampling), while land-cover and cloud edges are drawn on the
output grid, so cloud masks from SCL line up exactly with every band.
"""
from __future__ import annotations

import datetime as _dt

import numpy as np

from . import simulated_world as world
from .grid import Grid
from .metadata import collection_document, eo_band, iso
from .base import queryables_schema, resolve_bands
from .simulated import SimulatedCollection
from .simulated_orbits import SENTINEL2

# name, common name, centre wavelength (um), native resolution (m)
BANDS = [
    ("B01", "coastal", 0.443, 60), ("B02", "blue", 0.490, 10), ("B03", "green", 0.560, 10),
    ("B04", "red", 0.665, 10), ("B05", "rededge", 0.705, 20), ("B06", "rededge", 0.740, 20),
    ("B07", "rededge", 0.783, 20), ("B08", "nir", 0.842, 10), ("B8A", "nir08", 0.865, 20),
    ("B09", "nir09", 0.945, 60), ("B11", "swir16", 1.610, 20), ("B12", "swir22", 2.190, 20),
]
REFLECTANCE_BANDS = [b[0] for b in BANDS]
NATIVE_RES = {b[0]: b[3] for b in BANDS} | {"SCL": 20, "AOT": 20, "WVP": 20}
AUX_BANDS = ("SCL", "AOT", "WVP")
# Column water vapour (cm) by climate group (sea, A, B, C, D, E), typical annual means
_WVP_CM = np.array([2.5, 4.0, 1.2, 2.2, 1.5, 0.5], np.float32)

# Surface reflectance (0..1) per land-cover class for B01..B12 (no B10), "dormant" and "green"
# states, mixed by the seasonal greenness. Approximate values read off typical curves in the USGS
# Spectral Library Version 7 (Kokaly et al. 2017, doi:10.5066/F7RR1WDJ) and the ECOSTRESS
# spectral library (Meerdink et al. 2019), cf. Jensen (2007) "Remote Sensing of the Environment",
# ch. 11-12 (vegetation, soil, water spectra), rounded and sampled at the S2 band centres.
_D = np.array([
    [.045, .040, .032, .016, .012, .009, .008, .007, .006, .004, .003, .002],  # water (clear, deep)
    [.030, .035, .065, .040, .100, .250, .320, .340, .350, .320, .200, .100],  # evergreen broadleaf
    [.045, .055, .075, .085, .110, .150, .180, .200, .210, .200, .250, .170],  # deciduous, leaf-off
    [.022, .026, .045, .032, .065, .140, .170, .185, .190, .180, .120, .060],  # conifer, winter
    [.060, .075, .105, .135, .165, .195, .215, .225, .235, .225, .320, .240],  # dry grass
    [.070, .085, .115, .160, .180, .200, .220, .235, .245, .245, .330, .280],  # bare crop soil
    [.140, .180, .260, .370, .400, .420, .430, .440, .450, .450, .560, .500],  # desert sand
    [.090, .100, .120, .135, .150, .170, .185, .195, .200, .200, .230, .210],  # urban
    [.850, .870, .860, .840, .820, .800, .780, .760, .740, .600, .080, .050],  # snow / ice
    [.070, .080, .100, .120, .140, .170, .190, .200, .205, .200, .240, .190],  # rock, lichen
    [.100, .130, .180, .250, .280, .310, .330, .340, .350, .350, .450, .400],  # arid soil + shrubs
], np.float32)
_G = np.array([
    _D[0],
    [.025, .030, .060, .030, .090, .270, .360, .390, .400, .370, .190, .085],  # evergreen broadleaf
    [.030, .035, .075, .035, .110, .320, .420, .450, .460, .420, .220, .100],  # deciduous, leaf-on
    [.020, .022, .045, .022, .070, .180, .230, .250, .260, .240, .120, .050],  # conifer, summer
    [.035, .040, .090, .045, .130, .290, .350, .370, .380, .340, .250, .130],  # green grass
    [.030, .035, .085, .035, .125, .360, .460, .490, .500, .450, .240, .110],  # green crop
    _D[6],
    [.070, .075, .100, .095, .130, .220, .260, .280, .285, .270, .230, .180],  # urban green
    _D[8],
    [.040, .045, .080, .060, .120, .240, .290, .310, .320, .300, .220, .130],  # tundra, summer
    [.080, .100, .140, .170, .210, .290, .320, .340, .350, .340, .380, .300],  # shrubs, wet season
], np.float32)
_SNOW = _D[8]
_CLOUD = np.array([.48, .47, .47, .47, .48, .49, .49, .50, .50, .42, .33, .20], np.float32)
_SHADOW_DARKENING = np.float32(0.7)

# Scene classification codes (ESA Sen2Cor)
SCL_NODATA, SCL_DARK, SCL_SHADOW, SCL_VEG, SCL_NOT_VEG, SCL_WATER = 0, 2, 3, 4, 5, 6
SCL_CLOUD_MEDIUM, SCL_CLOUD_HIGH, SCL_CIRRUS, SCL_SNOW = 8, 9, 10, 11
CLOUD_HIGH_ALPHA, CLOUD_MEDIUM_ALPHA, CIRRUS_ALPHA, SHADOW_MIN = 0.65, 0.35, 0.10, 0.35

_PLATFORMS = tuple(sat.platform for sat in SENTINEL2)


class Sentinel2L2A(SimulatedCollection):
    """The simulated Sentinel-2 L2A collection (acquisitions of Sentinel-2A/2B/2C from 2017)."""

    id = "SENTINEL2_L2A"
    first_date = _dt.date(2017, 1, 2)
    satellites = SENTINEL2

    def eo_bands(self) -> list[dict]:
        out = [eo_band(n, c, w, scale=0.0001, offset=0, nodata=0, gsd=r,
                       description=f"Surface reflectance x 10000 ({int(w * 1000)} nm, {r} m native)")
               for n, c, w, r in BANDS]
        out.append(eo_band("SCL", nodata=0, gsd=20, description=(
            "Scene classification (Sen2Cor codes): 0 no data, 3 cloud shadow, 4 vegetation, "
            "5 not vegetated, 6 water, 8 cloud medium probability, 9 cloud high probability, "
            "10 thin cirrus, 11 snow/ice")))
        out.append(eo_band("AOT", scale=0.001, offset=0, nodata=0, gsd=20,
                           description="Aerosol optical thickness at 550 nm x 1000"))
        out.append(eo_band("WVP", scale=0.001, offset=0, nodata=0, gsd=20,
                           description="Column water vapour (cm) x 1000"))
        for name, what in (("sunZenithAngles", "Sun zenith angle"),
                           ("sunAzimuthAngles", "Sun azimuth angle (clockwise from north)"),
                           ("viewZenithMean", "Viewing zenith angle"),
                           ("viewAzimuthMean", "Viewing azimuth angle")):
            out.append(eo_band(name, gsd=5000, description=(
                f"{what} in degrees at the overpass, float32 (as on CDSE; loading it with "
                "other bands makes the cube float32). Simulated: see s2_angles.")))
        return out

    def load(self, spatial_extent=None, temporal_extent=None, bands=None, property_filter=None,
             *, resolution=None, crs=None):
        """As :meth:`SimulatedCollection.load`; angle bands (float32 degrees) are computed
        beside the reflectance bands and not loaded unless named."""
        from .s2_angles import ANGLE_BANDS

        names = [b["name"] for b in self.eo_bands()]
        wanted = resolve_bands(bands, self.eo_bands()) if bands is not None else \
            [n for n in names if n not in ANGLE_BANDS]
        angles = [b for b in wanted if b in ANGLE_BANDS]
        others = [b for b in wanted if b not in ANGLE_BANDS]
        kwargs = {"resolution": resolution, "crs": crs}
        if not angles:
            return super().load(spatial_extent, temporal_extent, others, property_filter,
                                **kwargs)
        angle_cube = self._angle_cube(spatial_extent, temporal_extent, angles,
                                      property_filter, **kwargs)
        if not others:
            return angle_cube
        import xarray as xr

        base = super().load(spatial_extent, temporal_extent, others, property_filter, **kwargs)
        cube = xr.concat([base.astype(np.float32), angle_cube], dim="bands",
                         coords="minimal", compat="override", join="override")
        cube.attrs = {k: v for k, v in base.attrs.items() if k != "nodata"}
        return cube.sel(bands=wanted)

    def _angle_cube(self, spatial_extent, temporal_extent, angles, property_filter, *,
                    resolution=None, crs=None):
        import functools

        from dask.base import tokenize

        from .base import assemble, no_data
        from .simulated import place_of_grid

        grid = self.make_grid(spatial_extent, resolution, crs)
        days = self.dates_in(temporal_extent, place_of_grid(grid))
        if property_filter is not None:
            days = [d for d in days if property_filter(self.date_properties(d, grid))]
        if not days:
            raise no_data(self.id, f"no acquisition in {temporal_extent}")
        name = "s2-angles-" + tokenize(self.id, grid.crs.to_wkt(), grid.res, grid.gx0,
                                       grid.gy0, grid.nx, grid.ny,
                                       [d.isoformat() for d in days], angles)
        chunk_fn = functools.partial(_angle_chunk, grid, days, angles)
        times = [np.datetime64(d.isoformat()) for d in days]
        return assemble(name, times, angles, grid.xs(), grid.ys(), grid.crs, np.float32,
                        chunk_fn, chunk=self.chunk_size, offsets=(-grid.gy0, grid.gx0))

    def date_properties(self, day: _dt.date, grid: Grid) -> dict:
        platform, _state, orbit = self.pass_of(day, grid) or (_PLATFORMS[0], "", 0)
        return {"datetime": iso(day), "eo:cloud_cover": self.cloud_cover(day, grid),
                "platform": platform, "constellation": "sentinel-2", "instruments": ["msi"],
                "sat:relative_orbit": orbit}

    def cloud_cover(self, day: _dt.date, grid: Grid) -> float:
        """Percentage of the AOI with cloud (SCL 8/9), estimated on a sparse pixel sample."""
        step_y, step_x = max(1, grid.ny // 24), max(1, grid.nx // 24)
        small = _Sample(grid, step_y, step_x)
        clim = self._static.get(("sample", grid), lambda: world.land_cover(small, self.seed).clim)
        cl = world.clouds(small, day, self.seed, clim)
        if cl is None:
            return 0.0
        return round(float((cl[0] > CLOUD_MEDIUM_ALPHA).mean() * 100.0), 2)

    def render(self, grid: Grid, day: _dt.date, bands: list[str]) -> dict[str, np.ndarray]:
        return render_s2(grid, day, bands, self.seed, self.static_layers(grid))

    def queryables(self) -> dict:
        return queryables_schema(self.id, {
            "eo:cloud_cover": {"title": "Cloud cover (%) over the requested area", "type": "number",
                               "minimum": 0, "maximum": 100},
            "platform": {"title": "Platform", "type": "string", "enum": list(_PLATFORMS)},
            "datetime": {"title": "Acquisition date", "type": "string", "format": "date-time"},
        })

    def metadata(self) -> dict:
        today = self.today()
        return collection_document(
            id=self.id,
            title="Sentinel-2 L2A (simulated)",
            description=(
                "SIMULATED Sentinel-2 Level-2A surface reflectance for anywhere on Earth, generated "
                "offline and deterministically by jupyter_eo (not real observations). Land and sea "
                "come from the global-land-mask 1 km GLOBE mask, climate groups from the Beck et al. "
                "(2018) Köppen-Geiger map; land-cover spectra are textbook values; phenology follows "
                "the hemisphere's seasons; clouds, cloud shadows and snow vary per date and the SCL "
                "band marks them. Band names, scale (0.0001) and nodata (0) follow the Copernicus Data "
                "Space Ecosystem collection SENTINEL2_L2A so code runs unchanged there. Acquisition "
                "dates follow the orbits of Sentinel-2A, 2B and 2C (10-day cycle of 143 relative "
                "orbits each, 290 km swath, 2B half a cycle after 2A, 2C in 2A's place from "
                "2025-01-21): every 5 days at the equator, every 2 to 3 days at mid latitudes. "
                "Delivered on "
                "the UTM zone of the area of interest at 10 m; 20 m and 60 m bands keep their native "
                "pixel texture and are delivered on the same grid."),
            license="CC-BY-4.0",
            providers=[{"name": "jupyter_eo simulation", "roles": ["producer", "processor", "host"],
                        "description": "Deterministic offline simulation"}],
            keywords=["simulated", "Sentinel-2", "L2A", "surface reflectance", "offline"],
            bbox=[-180.0, -90.0, 180.0, 90.0],
            interval=[iso(self.first_date), iso(today)],
            # the calendar is irregular and per place; the size pre-check (limits) counts time
            # steps from this step: 2 days bounds the revisit up to mid latitudes (2.5-5 days);
            # above ~65 degrees overlapping tracks give up to daily acquisitions
            epsg=4326, bands=self.eo_bands(), step=10, t_step="P2D",
            summaries={"eo:cloud_cover": {"minimum": 0, "maximum": 100},
                       "platform": list(_PLATFORMS), "constellation": ["sentinel-2"],
                       "instruments": ["msi"], "gsd": [10, 20, 60],
                       "jupyter_eo:simulated": [True]},
            extra={"sci:citation": "Beck et al. (2018), Scientific Data 5, 180214 (climate groups)",
                   "deprecated": False})


def _angle_chunk(grid: Grid, days: list, bands: list[str], t: int, r0: int, c0: int, ny: int,
                 nx: int) -> np.ndarray:
    """One lazy block (bands, y, x) of the angle bands (module level: picklable for dask)."""
    from .s2_angles import render_angles

    frame = render_angles(grid.sub(r0, c0, ny, nx), days[t], bands)
    return np.stack([frame[b] for b in bands])


class _Sample:
    """Duck-typed sub-sample of a Grid (every step-th pixel) for cloud fields."""

    def __init__(self, grid: Grid, step_y: int, step_x: int) -> None:
        self._xs, self._ys = grid.xs()[::step_x], grid.ys()[::step_y]
        self.crs, self.res, self.unit_m, self.res_m = grid.crs, grid.res, grid.unit_m, grid.res_m
        self.nx, self.ny = len(self._xs), len(self._ys)

    def xs(self) -> np.ndarray:
        return self._xs

    def ys(self) -> np.ndarray:
        return self._ys


def _veg_green_threshold() -> np.ndarray:
    """Per class: the greenness above which the surface NDVI exceeds 0.35 (SCL vegetation)."""
    out = np.full(world.N_CLASSES, np.inf, np.float32)
    for c in range(world.N_CLASSES):
        dr, dn = _D[c, 3], _D[c, 7]
        gr, gn = _G[c, 3] - dr, _G[c, 7] - dn
        num = 0.35 * (dn + dr) - (dn - dr)
        den = (gn - gr) - 0.35 * (gn + gr)
        if abs(den) < 1e-9:
            out[c] = -np.inf if num < 0 else np.inf
        else:
            g = num / den
            out[c] = g if den > 0 else (np.inf if g <= 0 else -np.inf)
    out[world.WATER] = np.inf
    return out


_VEG_GREEN = _veg_green_threshold()


def scene_classification(static: world.Static, surf: world.Surface, cl) -> np.ndarray:
    """SCL codes from the simulated surface and clouds."""
    scl = np.where(surf.green > np.take(_VEG_GREEN, static.ci), np.uint8(SCL_VEG), np.uint8(SCL_NOT_VEG))
    scl[surf.cls == world.WATER] = SCL_WATER
    snow = surf.cls == world.ICE
    if surf.snow is not None:
        snow |= surf.snow > 0.5
    scl[snow] = SCL_SNOW
    if cl is not None:
        alpha, shadow = cl
        scl[shadow > SHADOW_MIN] = SCL_SHADOW
        scl[alpha > CIRRUS_ALPHA] = SCL_CIRRUS
        scl[alpha > CLOUD_MEDIUM_ALPHA] = SCL_CLOUD_MEDIUM
        scl[alpha > CLOUD_HIGH_ALPHA] = SCL_CLOUD_HIGH
    return scl


GREEN_LEVELS = 1024  # greenness is quantised to 1/1023 for one-lookup spectra
_LEVELS = np.linspace(0.0, 1.0, GREEN_LEVELS, dtype=np.float32)
# (band, class * GREEN_LEVELS + level) -> surface reflectance
_SPECTRA = (_D.T[:, :, None] + (_G - _D).T[:, :, None] * _LEVELS[None, None, :]).reshape(len(BANDS), -1)


def atmosphere(grid: Grid, day: _dt.date, seed: int, static: world.Static, bands: list[str]) -> dict[str, np.ndarray]:
    """AOT and WVP (uint16, x 1000): smooth per-date fields, water vapour by climate group."""
    unit = grid.unit_m
    xm, ym = grid.xs() * unit, grid.ys() * unit
    field = world.noise.fbm(xm, ym, (60_000.0, 20_000.0), world.noise.hash_seed(seed, "atmo", day.toordinal()))
    out = {}
    if "AOT" in bands:
        aot = (np.float32(0.05) + np.float32(0.3) * field) * np.float32(1000.0) + np.float32(0.5)
        out["AOT"] = aot.astype(np.uint16)
    if "WVP" in bands:
        wvp = static.take(_WVP_CM[world._KCLIM])
        wvp *= np.float32(0.6) + np.float32(0.8) * field
        wvp *= np.float32(1000.0)
        wvp += np.float32(0.5)
        out["WVP"] = np.clip(wvp, 1, 65535).astype(np.uint16)
    return out


def render_s2(grid: Grid, day: _dt.date, bands: list[str], seed: int, static: world.Static, *,
              cloudless: bool = False) -> dict[str, np.ndarray]:
    """Requested S2 bands (uint16 DN) of one frame; ``cloudless`` skips clouds (basemap)."""
    surf = world.surface(grid, day, seed, static)
    cl = None if cloudless else world.clouds(grid, day, seed, static)
    out: dict[str, np.ndarray] = {}
    if "SCL" in bands:
        out["SCL"] = scene_classification(static, surf, cl)
    if "AOT" in bands or "WVP" in bands:
        out.update(atmosphere(grid, day, seed, static, [b for b in bands if b in ("AOT", "WVP")]))
    refl = [b for b in bands if b not in AUX_BANDS]
    if not refl:
        return out
    shape = (grid.ny, grid.nx)
    r, tmp = np.empty(shape, np.float32), np.empty(shape, np.float32)
    stack = np.empty((len(refl),) + shape, np.uint16)
    index = (surf.green * np.float32(GREEN_LEVELS - 1) + np.float32(0.5)).astype(np.intp)
    index += static.ci * GREEN_LEVELS
    keep = None
    if cl is not None:
        alpha, shadow = cl
        keep = np.float32(1.0) - alpha
        keep *= np.float32(1.0) - _SHADOW_DARKENING * shadow
    for i, name in enumerate(refl):
        b = REFLECTANCE_BANDS.index(name)
        tex = world.texture_multiplier(grid, static, NATIVE_RES[name], seed)
        np.take(_SPECTRA[b], index, out=r)
        r *= tex
        if surf.snow is not None:
            np.subtract(_SNOW[b], r, out=tmp)
            tmp *= surf.snow
            r += tmp
        if keep is not None:
            r *= keep
            np.multiply(alpha, _CLOUD[b], out=tmp)
            r += tmp
        r *= np.float32(10000.0)
        r += np.float32(0.5)
        np.clip(r, 1, 65535, out=r)
        np.copyto(stack[i], r, casting="unsafe")
        out[name] = stack[i]
    return out
