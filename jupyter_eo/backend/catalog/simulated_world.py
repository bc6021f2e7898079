"""The simulated Earth: land cover from real land mask + climate, phenology by hemisphere, clouds.

Everything is a pure function of (grid pixel location, date, seed). Large-scale inputs (land/sea,
latitude, climate group) are evaluated on a node lattice anchored at global multiples of the node
spacing and interpolated; small-scale structure comes from hashed value noise on absolute
coordinates (see :mod:`noise`). No value depends on the chunk origin.
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from . import noise, world_data
from .grid import Grid, to_crs, transformer

# Land-cover classes of the simulation.
WATER, EBF, DBF, CONIFER, GRASS, CROP, BARE, URBAN, ICE, TUNDRA, SHRUB = range(11)
N_CLASSES = 11
CLASS_NAMES = ["water", "evergreen broadleaf forest", "deciduous broadleaf forest", "coniferous forest",
               "grassland", "cropland", "bare soil / sand", "urban", "snow and ice", "tundra / rock",
               "sparse shrubland"]
FOREST_CLASSES = (EBF, DBF, CONIFER)
VEGETATION_CLASSES = (EBF, DBF, CONIFER, GRASS, CROP, TUNDRA, SHRUB)

# Land-cover mix per Köppen–Geiger group: (upper bound of the uniformised noise u, class).
# Low u are lakes, high u towns, so forests border lakes and towns sit amid farmland.
_MIX = {
    world_data.TROPICAL: [(0.015, WATER), (0.72, EBF), (0.86, GRASS), (9, CROP)],
    world_data.ARID: [(0.60, BARE), (0.92, SHRUB), (9, CROP)],
    world_data.TEMPERATE: [(0.02, WATER), (0.35, DBF), (0.45, CONIFER), (0.58, GRASS), (9, CROP)],
    world_data.COLD: [(0.05, WATER), (0.55, CONIFER), (0.70, DBF), (0.80, GRASS), (9, CROP)],
    world_data.POLAR: [(0.60, ICE), (9, TUNDRA)],
}
# Towns: a separate small-scale noise above this quantile (per climate group: sea, A, B, C, D, E).
_URBAN_SHARE = np.array([0, .03, .015, .05, .025, 0], np.float32)
TOWN_SPACINGS = (5_000.0, 1_500.0, 400.0, 100.0)
# Seasonal greenness range (min, max) of each class; crops follow a per-parcel bell curve.
G_MIN = np.array([0, .85, 0, .55, .15, 0, 0, 0, 0, 0, .05], np.float32)
G_MAX = np.array([0, 1., 1., 1., .9, 1., 0, .1, 0, .6, .3], np.float32)
# How much a snow cover shows through each class (forest canopies hide most of it).
SNOW_SHOW = np.array([0, .2, .45, .35, 1, 1, 1, .7, 1, 1, 1], np.float32)
# Texture amplitude (relative reflectance variation between neighbouring pixels).
TEXTURE = np.array([.04, .12, .14, .16, .10, .08, .05, .35, .03, .12, .10], np.float32)

LAND_SPACINGS = (40_000.0, 12_000.0, 3_000.0, 800.0, 200.0, 60.0)
COAST_SPACINGS = (1_500.0, 500.0, 150.0, 40.0)
COAST_ROUGHNESS = 1.8  # noise amplitude added to the interpolated 0/1 land fraction
CLOUD_SPACINGS = (12_000.0, 4_000.0, 1_500.0, 500.0, 160.0, 50.0)
CLOUD_GAIN = 0.65
_CLOUD_SIGMA = 0.107  # standard deviation of the cloud fbm (measured)
PARCEL_SIZE = 400.0  # metres: field size of the agricultural patchwork
SHADOW_OFFSET = (450.0, 0.0)  # metres: clouds east of a pixel shade it (morning sun from the east)
NODE_MIN_SPACING = 500.0  # metres between lattice nodes for land/sea, latitude and climate
CLOUD_EDGE = 0.06  # noise units between cloud edge and opaque core
_FBM_SIGMA = 0.125  # standard deviation of fbm() with 5-6 octaves (measured, see tests)


@dataclass
class Surface:
    """Seasonal surface state of one frame and date."""

    cls: np.ndarray        # uint8 land-cover class
    green: np.ndarray      # float32 0..1 greenness (phenology)
    snow: np.ndarray | None  # float32 0..1 visible snow fraction, None if none
    climate: np.ndarray    # uint8 Köppen–Geiger group per pixel
    north: np.ndarray      # bool, northern hemisphere per pixel


def _node_fields(grid: Grid) -> tuple[np.ndarray, ...]:
    """Node lattice (in metres) covering the grid with lon/lat, land and climate per node."""
    unit = grid.unit_m
    spacing = max(NODE_MIN_SPACING, grid.res_m)
    xm, ym = grid.xs() * unit, grid.ys() * unit
    kx0, kx1 = math.floor(xm.min() / spacing), math.floor(xm.max() / spacing) + 1
    ky0, ky1 = math.floor(ym.min() / spacing), math.floor(ym.max() / spacing) + 1
    kx, ky = np.arange(kx0, kx1 + 1), np.arange(ky0, ky1 + 1)
    nxm, nym = np.meshgrid(kx * spacing / unit, ky * spacing / unit)
    wgs = to_crs(4326)
    if grid.crs == wgs:
        lon, lat = nxm, nym
    else:
        lon, lat = transformer(grid.crs, wgs).transform(nxm, nym)
    lon = np.nan_to_num(np.asarray(lon), nan=0.0)
    lat = np.clip(np.nan_to_num(np.asarray(lat), nan=0.0), -89.999, 89.999)
    land = world_data.is_land(lon, lat).astype(np.float32)
    clim = world_data.climate(lon, lat)
    return xm, ym, spacing, kx0, ky0, lat.astype(np.float32), land, clim


def _interp_axes(coords: np.ndarray, spacing: float, k0: int) -> tuple[np.ndarray, np.ndarray]:
    g = coords / spacing
    i = np.floor(g)
    return (i - k0).astype(np.int64), (g - i).astype(np.float32)


def _bilinear(nodes: np.ndarray, ix, fx, iy, fy) -> np.ndarray:
    rows = nodes[:, ix] * (1 - fx) + nodes[:, ix + 1] * fx
    return rows[iy, :] * (1 - fy)[:, None] + rows[iy + 1, :] * fy[:, None]


def _nearest(nodes: np.ndarray, ix, fx, iy, fy) -> np.ndarray:
    jx = ix + (fx >= 0.5)
    jy = iy + (fy >= 0.5)
    return nodes[jy[:, None], jx[None, :]]


def raw_threshold(share: float) -> float:
    """The fbm value below which a share ``share`` of pixels lies (logistic approx. of Phi)."""
    if share <= 0:
        return -1.0
    if share >= 1:
        return 2.0
    return 0.5 + _FBM_SIGMA / 1.702 * math.log(share / (1.0 - share))


def season(day: _dt.date) -> tuple[float, float]:
    """Seasonal factor 0 (mid-winter) .. 1 (mid-summer) for the northern and southern hemisphere."""
    doy = day.timetuple().tm_yday
    north = 0.5 * (1 + math.cos(2 * math.pi * (doy - 196) / 365.25))
    return north, 1.0 - north


N_KEYS = N_CLASSES * 6 * 2  # (class, climate group, hemisphere) combinations for per-date tables


@dataclass
class Static:
    """Date-independent layers of one grid, kept in memory and reused for every date."""

    cls: np.ndarray            # uint8 land-cover class
    clim: np.ndarray           # uint8 Köppen–Geiger group
    north: np.ndarray          # bool
    key16: np.ndarray          # int16 class + 11 * climate + 66 * south (per-date lookup tables)
    single_key: int | None     # the key when the whole frame has one
    crop: np.ndarray | None    # bool crop mask, None without crops
    pkey16: np.ndarray | None  # int16 parcel level (0..255) + 256 * south, for crop phenology
    textures: dict             # native resolution -> float32 texture multiplier

    # Index arrays are kept compact (memory of the in-memory LRU) and widened when used.
    @property
    def ci(self) -> np.ndarray:
        return self.cls.astype(np.intp)

    @property
    def key(self) -> np.ndarray:
        return self.key16.astype(np.intp)

    @property
    def pkey(self) -> np.ndarray | None:
        return None if self.pkey16 is None else self.pkey16.astype(np.intp)

    def take(self, table: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Per-pixel value of a per-key table."""
        if self.single_key is not None:
            if out is None:
                out = np.empty(self.cls.shape, table.dtype)
            out.fill(table[self.single_key])
            return out
        return np.take(table, self.key, out=out)


def land_cover(grid: Grid, seed: int) -> Static:
    """The static part of the surface: class, climate, hemisphere, parcels."""
    xm, ym, spacing, kx0, ky0, lat_n, land_n, clim_n = _node_fields(grid)
    ix, fx = _interp_axes(xm, spacing, kx0)
    iy, fy = _interp_axes(ym, spacing, ky0)
    min_sp = 2.0 * grid.res_m
    shape = (grid.ny, grid.nx)
    work = np.empty(shape, np.float32)
    # land / sea: interpolated 1 km mask, coastline roughened by noise
    if land_n.min() == 1.0:
        land = None
    elif land_n.max() == 0.0:
        land = np.zeros(shape, bool)
    else:
        frac = _bilinear(land_n, ix, fx, iy, fy)
        coast = noise.fbm(xm, ym, COAST_SPACINGS, seed + 11, min_sp, work=work)
        coast -= np.float32(0.5)
        coast *= np.float32(4.0 * COAST_ROUGHNESS) * frac * (np.float32(1.0) - frac)  # only near coasts
        coast += frac
        land = coast > 0.5
    clim = _nearest(clim_n, ix, fx, iy, fy)
    north = _nearest(lat_n >= 0, ix, fx, iy, fy)
    u = noise.fbm(xm, ym, LAND_SPACINGS, seed + 23, min_sp, work=work)
    cls = np.full(shape, WATER, np.uint8)
    present = np.bincount(clim.ravel(), minlength=6)
    single_clim = int(clim.flat[0]) if present[int(clim.flat[0])] == clim.size else None
    for group, mix in _MIX.items():
        if not present[group]:
            continue
        cg = np.full(shape, mix[-1][1], np.uint8)
        for bound, klass in reversed(mix[:-1]):
            cg[u < raw_threshold(bound)] = klass
        cls = cg if single_clim is not None else np.where(clim == group, cg, cls)
    town_thr = np.array([raw_threshold(1.0 - float(v)) for v in _URBAN_SHARE], np.float32)
    if _URBAN_SHARE[present > 0].max() > 0:
        town = noise.fbm(xm, ym, TOWN_SPACINGS, seed + 29, min_sp, out=u, work=work)
        thr = town_thr[single_clim] if single_clim is not None else town_thr[clim]
        cls[(town > thr) & (cls != WATER)] = URBAN
    if land is not None:
        cls[~land] = WATER
    # agricultural parcels: one hash per 400 m field, meadows among crop fields
    plevel = parcels(xm, ym, seed)
    crop = cls == CROP
    if crop.any():
        cls[crop & (plevel < 46)] = GRASS  # 18 % meadows
        crop = cls == CROP
    south = (~north).astype(np.intp)
    key = cls.astype(np.intp) + N_CLASSES * clim.astype(np.intp) + (N_CLASSES * 6) * south
    k0 = int(key.flat[0])
    single_key = k0 if (key == k0).all() else None
    has_crop = bool(crop.any())
    return Static(cls, clim, north, key.astype(np.int16), single_key, crop if has_crop else None,
                  (plevel + 256 * south).astype(np.int16) if has_crop else None, {})


def parcels(xm: np.ndarray, ym: np.ndarray, seed: int) -> np.ndarray:
    """Field id level (0..255) per pixel: 400 m cells, each split once into two rectangles.

    The split direction and position come from the cell's hash, so fields have varied sizes and
    aspect ratios instead of a chequerboard.
    """
    gx, gy = xm / PARCEL_SIZE, ym / PARCEL_SIZE
    px, py = np.floor(gx), np.floor(gy)
    fx, fy = (gx - px).astype(np.float32), (gy - py).astype(np.float32)
    cell = noise.hash2(px.astype(np.int64)[None, :], py.astype(np.int64)[:, None], seed + 37)
    vertical = (cell & np.uint32(1)).astype(bool)
    pos = np.float32(0.2) + np.float32(0.6 / 255) * ((cell >> np.uint32(1)) & np.uint32(255)).astype(np.float32)
    side = np.where(vertical, fx[None, :] > pos, fy[:, None] > pos)
    level = (cell >> np.uint32(24)) ^ (side.astype(np.uint32) * np.uint32(0x9B))
    return level.astype(np.intp)


def _key_axes() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    k = np.arange(N_KEYS)
    return k % N_CLASSES, (k // N_CLASSES) % 6, k // (N_CLASSES * 6)  # class, climate, south


_KCLS, _KCLIM, _KSOUTH = _key_axes()


def surface(grid: Grid, day: _dt.date, seed: int, static: Static | None = None) -> Surface:
    """Greenness and snow on ``day`` (plus the static layers)."""
    st = static if static is not None else land_cover(grid, seed)
    s_n, s_s = season(day)
    s_key = np.where(_KSOUTH == 1, s_s, s_n)
    span = G_MAX[_KCLS] - G_MIN[_KCLS]
    tropical = (_KCLIM == world_data.TROPICAL) & (_KCLS != CROP)
    green_table = (G_MIN[_KCLS] + span * np.where(tropical, 0.6 + 0.4 * s_key, s_key)).astype(np.float32)
    green = st.take(green_table)
    if st.crop is not None:
        doy = day.timetuple().tm_yday
        level = np.arange(512)
        # crop calendars from winter cereals (peak in May, harvested by July) to maize (August)
        peak = np.where(level >= 256, -182.6, 0.0) + 125 + 110 * ((level % 256) + 0.5) / 256
        d = (doy - peak + 182.6) % 365.25 - 182.6
        bell = np.exp(-(d / 45.0) ** 2).astype(np.float32)
        np.copyto(green, np.take(bell, st.pkey), where=st.crop)
    cold = (_KCLIM == world_data.COLD) | (_KCLIM == world_data.POLAR)
    snow_table = (np.clip((0.3 - s_key) * 8.0, 0, 1) * cold * SNOW_SHOW[_KCLS] * (_KCLS != WATER)).astype(np.float32)
    snow = None
    if snow_table.max() > 0:
        snow = st.take(snow_table)
        if not snow.any():
            snow = None
    return Surface(st.cls, green, snow, st.clim, st.north)


# Per-date cloud amount: many clear dates, some partly cloudy, some overcast. Relative cloudiness by
# climate group (sea, A, B, C, D, E): deserts are rarely cloudy.
_CLIMATE_CLOUDINESS = np.array([0.9, 1.15, 0.3, 1.0, 1.0, 0.9])


def cloud_amount(day: _dt.date, seed: int) -> float:
    """Fraction of the sky covered on ``day`` (before the climate factor)."""
    u = float(noise.hash01(np.int64(day.toordinal()), np.int64(0), seed + 101))
    if u < 0.35:
        return u / 0.35 * 0.05
    if u < 0.7:
        return 0.05 + (u - 0.35) / 0.35 * 0.45
    return 0.5 + (u - 0.7) / 0.3 * 0.5


def cloud_thresholds(day: _dt.date, seed: int) -> np.ndarray:
    """Cloud-noise threshold per climate group (9 = no clouds)."""
    base = cloud_amount(day, seed)
    thr = np.empty(6, np.float32)
    for group in range(6):
        cover = min(base * _CLIMATE_CLOUDINESS[group], 0.995)
        thr[group] = 9.0 if cover < 0.002 else 0.5 + _CLOUD_SIGMA * NormalDist().inv_cdf(1 - cover)
    return thr


def _cloud_field(xm: np.ndarray, ym: np.ndarray, day: _dt.date, seed: int, min_sp: float) -> np.ndarray:
    drift = day.toordinal() * 7_000.0  # clouds move with a westerly wind from date to date
    return noise.fbm(xm - drift, ym, CLOUD_SPACINGS, noise.hash_seed(seed, "cloud", day.toordinal()), min_sp,
                     gain=CLOUD_GAIN)


def shadow_shift(res_m: float) -> int:
    """Cloud-to-shadow offset in whole pixels (eastward source)."""
    return max(1, int(round(SHADOW_OFFSET[0] / res_m)))


def clouds(grid, day: _dt.date, seed: int, climate: np.ndarray | Static) -> tuple[np.ndarray, np.ndarray] | None:
    """(cloud opacity, shadow strength) in 0..1, or None on a clear date for this frame.

    The cloud field is evaluated on the grid extended eastwards by the shadow offset; the shadow
    of a pixel is the cloud opacity that many pixels to its east (morning sun from the east).
    """
    thr_groups = cloud_thresholds(day, seed)
    if thr_groups.min() >= 9.0:
        return None
    clim = climate.clim if isinstance(climate, Static) else climate
    single = clim.min() == clim.max()
    thr = thr_groups[clim.flat[0]] if single else thr_groups[clim]
    if single and thr >= 9.0:
        return None
    unit, res_m = grid.unit_m, grid.res_m
    k = shadow_shift(res_m)
    xs = grid.xs()
    xs_ext = np.concatenate([xs, xs[-1] + grid.res * np.arange(1, k + 1)]) if len(xs) else xs
    field = _cloud_field(xs_ext * unit, grid.ys() * unit, day, seed, 2.0 * res_m)
    nx = len(xs)
    inv_edge = np.float32(1.0 / CLOUD_EDGE)
    alpha = field[:, :nx] - thr
    alpha *= inv_edge
    np.clip(alpha, 0, 1, out=alpha)
    shadow = field[:, k:k + nx] - thr  # the shadowing cloud is judged with this pixel's threshold
    shadow *= inv_edge
    np.clip(shadow, 0, 1, out=shadow)
    shadow *= np.float32(1.0) - alpha
    return alpha, shadow


def texture(grid: Grid, native_res_m: float, seed: int) -> np.ndarray:
    """Per-pixel texture noise in [-1, 1) constant over pixels of the band's native resolution."""
    step = max(native_res_m, grid.res_m)
    unit = grid.unit_m
    gx = np.floor(grid.xs() * unit / step).astype(np.int64)
    gy = np.floor(grid.ys() * unit / step).astype(np.int64)
    return noise.pixel_hash01(gx, gy, seed + 53) * np.float32(2.0) - np.float32(1.0)


def texture_multiplier(grid: Grid, static: Static, native_res_m: float, seed: int) -> np.ndarray:
    """1 + class texture amplitude x texture noise (memoised in ``static``)."""
    step = max(native_res_m, grid.res_m)
    if step not in static.textures:
        tex = texture(grid, native_res_m, seed)
        tex *= np.take(TEXTURE, static.ci)
        tex += np.float32(1.0)
        static.textures[step] = tex
    return static.textures[step]
