"""Processes that the Copernicus Data Space Ecosystem offers beyond the core set, simulated:
``to_scl_dilation_mask`` (SCL-based cloud mask with dilation) and ``sar_backscatter``
(radiometric coefficients of the simulated Sentinel-1 GRD sigma0)."""
from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from jupyter_eo.backend.cube import BANDS, X, Y
from jupyter_eo.backend.processes.cubes_common import as_cube
from jupyter_eo.backend.processes.registry import process
from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid

MAX_KERNEL = 301  # pixels; larger kernels are refused (the work grows with its size)


def _dilate_rows(mask: np.ndarray, half: int) -> np.ndarray:
    """Binary dilation along the last axis with a window of ``2 * half + 1`` pixels."""
    if half <= 0:
        return mask.copy()
    pad = np.pad(mask.astype(np.int32), [(0, 0)] * (mask.ndim - 1) + [(half + 1, half)])
    run = np.cumsum(pad, axis=-1)
    return (run[..., 2 * half + 1:] - run[..., :-2 * half - 1]) > 0


def disk_dilate(mask: np.ndarray, size: int) -> np.ndarray:
    """Binary dilation of the last two axes (y, x) of ``mask`` with a disk of diameter ``size``.

    The disk is built row by row: each row offset ``dy`` dilates horizontally by the disk's
    half-width at that row and shifts vertically, so the cost is ``size`` passes over the image.
    """
    radius = (int(size) - 1) // 2
    if radius <= 0 or not mask.any():
        return mask.astype(bool)
    ny = mask.shape[-2]
    out = np.zeros(mask.shape, dtype=bool)
    for dy in range(-radius, radius + 1):
        half = int(np.floor(np.sqrt(radius * radius - dy * dy)))
        row = _dilate_rows(mask, half)
        if dy >= 0:
            out[..., dy:, :] |= row[..., :ny - dy, :] if dy else row
        else:
            out[..., :ny + dy, :] |= row[..., -dy:, :]
    return out


def disk_erode(mask: np.ndarray, size: int) -> np.ndarray:
    """Binary erosion with a disk of diameter ``size`` (the complement's dilation)."""
    return ~disk_dilate(~mask.astype(bool), size)


def _check_kernel(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) \
            or not 0 <= value <= MAX_KERNEL:
        raise ProcessParameterInvalid(
            f"to_scl_dilation_mask: {name} must be a whole number of pixels from 0 to "
            f"{MAX_KERNEL}.")
    return int(value)


@process("to_scl_dilation_mask")
def to_scl_dilation_mask(data: Any, scl_band_name: str = "SCL", kernel1_size: int = 17,
                         kernel2_size: int = 77, mask1_values: list | None = None,
                         mask2_values: list | None = None,
                         erosion_kernel_size: int = 0) -> Any:
    """A cloud mask from the Sentinel-2 scene classification, dilated (1 = mask, 0 = keep)."""
    cube = as_cube(data)
    if BANDS not in cube.dims or scl_band_name not in [str(b) for b in cube[BANDS].values]:
        raise ProcessArgumentInvalid(
            "BandNotAvailable" if BANDS in cube.dims else "DimensionNotAvailable",
            f"to_scl_dilation_mask needs a band {scl_band_name!r} (scene classification).")
    k1 = _check_kernel("kernel1_size", kernel1_size)
    k2 = _check_kernel("kernel2_size", kernel2_size)
    erosion = _check_kernel("erosion_kernel_size", erosion_kernel_size)
    good = list(mask1_values if mask1_values is not None else [2, 4, 5, 6, 7])
    cloudy = list(mask2_values if mask2_values is not None else [3, 8, 9, 10, 11])
    scl = cube.sel({BANDS: scl_band_name}, drop=True)
    order = [d for d in scl.dims if d not in (Y, X)] + [Y, X]
    scl = scl.transpose(*order)
    depth = max(k1, k2, erosion) // 2 + 1

    def block(values: np.ndarray) -> np.ndarray:
        valid = ~np.isnan(values) if values.dtype.kind == "f" else np.ones(values.shape, bool)
        first = valid & ~np.isin(values, good)  # anything that is not a clear class
        second = valid & np.isin(values, cloudy)  # clouds, shadows, cirrus, snow
        if erosion:
            first, second = disk_erode(first, erosion), disk_erode(second, erosion)
        out = disk_dilate(first, k1) | disk_dilate(second, k2)
        return out.astype(np.uint8)

    raw = scl.data
    if hasattr(raw, "map_overlap"):
        depths = {scl.dims.index(Y): depth, scl.dims.index(X): depth}
        result = raw.map_overlap(block, depth=depths, boundary="none", dtype=np.uint8,
                                 trim=True)
    else:
        result = block(np.asarray(raw))
    mask = xr.DataArray(result, dims=scl.dims, coords=scl.coords, attrs=cube.attrs)
    mask = mask.expand_dims({BANDS: ["mask"]})
    final = [d for d in cube.dims if d in mask.dims]
    return mask.transpose(*final)


COEFFICIENTS = ("beta0", "sigma0-ellipsoid", "sigma0-terrain", "gamma0-ellipsoid",
                "gamma0-terrain")
SAR_BANDS = ("VV", "VH", "HH", "HV")
NEAR_RANGE, FAR_RANGE = 29.1, 46.0  # degrees: Sentinel-1 IW incidence across the swath
SWATH_METRES = 250_000.0


def incidence_angle(cube: xr.DataArray) -> xr.DataArray:
    """Simulated ellipsoid incidence angle (degrees): near to far range across a 250 km
    swath, taken from the pixel's easting (flat terrain: local = ellipsoid angle)."""
    from jupyter_eo.backend.cube import get_crs

    x = np.asarray(cube[X].values, dtype=np.float64)
    crs = get_crs(cube)
    if crs is not None and crs.is_geographic:
        x = x * 111_320.0 * np.cos(np.radians(float(np.mean(cube[Y].values))))
    position = np.mod(x, SWATH_METRES) / SWATH_METRES
    angle = NEAR_RANGE + (FAR_RANGE - NEAR_RANGE) * position
    return xr.DataArray(angle.astype(np.float32), dims=(X,), coords={X: cube[X].values})


@process("sar_backscatter")
def sar_backscatter(data: Any, coefficient: str | None = "gamma0-terrain",
                    elevation_model: str | None = None, mask: bool = False,
                    contributing_area: bool = False, local_incidence_angle: bool = False,
                    ellipsoid_incidence_angle: bool = False, noise_removal: bool = True,
                    options: dict | None = None) -> Any:
    """Radiometric coefficient of simulated GRD (sigma0 ellipsoid in, flat terrain)."""
    cube = as_cube(data)
    if coefficient is not None and coefficient not in COEFFICIENTS:
        raise ProcessParameterInvalid(
            f"sar_backscatter: coefficient must be one of {', '.join(COEFFICIENTS)} or null.")
    if BANDS not in cube.dims:
        raise ProcessArgumentInvalid("DimensionNotAvailable", "sar_backscatter needs bands.")
    labels = [str(b) for b in cube[BANDS].values]
    if not labels or any(b not in SAR_BANDS for b in labels):
        raise ProcessParameterInvalid(
            "sar_backscatter works on SAR polarisation bands (VV, VH, HH, HV) of a GRD "
            f"collection; got bands {labels}.")
    theta = np.radians(incidence_angle(cube))
    values = cube.astype(np.float32) if cube.dtype != np.float32 else cube
    if coefficient in ("gamma0-ellipsoid", "gamma0-terrain"):
        values = values / np.cos(theta).astype(np.float32)
    elif coefficient in ("beta0", None):
        values = values / np.sin(theta).astype(np.float32)
    values = values.transpose(*cube.dims)
    values.attrs = cube.attrs
    extra: list[tuple[str, xr.DataArray]] = []
    template = cube.isel({BANDS: 0}, drop=True)
    angle = incidence_angle(cube).broadcast_like(template).astype(np.float32)
    if mask:
        extra.append(("mask", xr.zeros_like(template, dtype=np.float32)))
    if contributing_area:
        res_x = abs(float(cube[X].values[1] - cube[X].values[0])) if cube.sizes[X] > 1 else 10.0
        res_y = abs(float(cube[Y].values[1] - cube[Y].values[0])) if cube.sizes[Y] > 1 else 10.0
        area = (res_x * res_y / np.cos(np.radians(angle))).astype(np.float32)
        extra.append(("contributing_area", area))
    if local_incidence_angle:
        extra.append(("local_incidence_angle", angle))
    if ellipsoid_incidence_angle:
        extra.append(("ellipsoid_incidence_angle", angle))
    if not extra:
        return values
    parts = [values] + [v.expand_dims({BANDS: [name]}).transpose(*cube.dims)
                        for name, v in extra]
    out = xr.concat(parts, dim=BANDS, coords="minimal", compat="override", join="override")
    out.attrs = cube.attrs
    return out
