"""Simulated Sentinel-2 L2A angle bands as CDSE names them: sun zenith/azimuth from the date,
the pixel's latitude/longitude and the overpass time; view zenith from the swath position."""
from __future__ import annotations

import datetime as _dt
import math

import numpy as np

from .grid import Grid, to_crs, transformer
from .simulated_orbits import EARTH_KM_PER_DEGREE, SENTINEL2, _track_offset, passes

ANGLE_BANDS = ("sunZenithAngles", "sunAzimuthAngles", "viewZenithMean", "viewAzimuthMean")
MAX_VIEW_ZENITH = 10.3  # degrees at the edge of the 290 km MSI swath (orbit height 786 km)
ORBIT_HEIGHT_KM = 786.0


def _lonlat(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = np.meshgrid(grid.xs(), grid.ys())
    if grid.crs.is_geographic:
        return xs, ys
    lon, lat = transformer(grid.crs, to_crs(4326)).transform(xs, ys)
    return np.asarray(lon), np.asarray(lat)


def overpass(day: _dt.date, lon: float, lat: float) -> tuple[_dt.datetime, float]:
    """UTC time of the first simulated Sentinel-2 pass over (lon, lat) on ``day`` and the
    longitude of its ground track at ``lat`` (10:30 local solar time when there is none)."""
    for sat in SENTINEL2:
        for when, state, _orbit in passes(sat, lon, lat, day, day + _dt.timedelta(days=1)):
            shift, dt_days = _track_offset(sat, lat, state == "descending")
            t_node = (when - _dt.datetime(2017, 1, 1)).total_seconds() / 86400 - dt_days
            track = 15.0 * (sat.node_hour - (t_node % 1.0) * 24.0) + shift
            return when, (track + 180.0) % 360.0 - 180.0
    noon = _dt.datetime.combine(day, _dt.time()) + _dt.timedelta(hours=10.5 - lon / 15.0)
    return noon, lon


def sun_angles(when: _dt.datetime, lon: np.ndarray, lat: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray]:
    """Solar zenith and azimuth (degrees, azimuth clockwise from north) at UTC ``when``
    (declination and equation of time after Spencer 1971)."""
    doy = when.timetuple().tm_yday
    g = 2.0 * math.pi * (doy - 1) / 365.0
    decl = (0.006918 - 0.399912 * math.cos(g) + 0.070257 * math.sin(g)
            - 0.006758 * math.cos(2 * g) + 0.000907 * math.sin(2 * g)
            - 0.002697 * math.cos(3 * g) + 0.00148 * math.sin(3 * g))
    eot_min = 229.18 * (0.000075 + 0.001868 * math.cos(g) - 0.032077 * math.sin(g)
                        - 0.014615 * math.cos(2 * g) - 0.040849 * math.sin(2 * g))
    utc_hours = when.hour + when.minute / 60.0 + when.second / 3600.0
    solar_time = utc_hours + lon / 15.0 + eot_min / 60.0
    hour_angle = np.radians(15.0 * (solar_time - 12.0))
    phi = np.radians(lat)
    cos_z = np.sin(phi) * math.sin(decl) + np.cos(phi) * math.cos(decl) * np.cos(hour_angle)
    zenith = np.arccos(np.clip(cos_z, -1.0, 1.0))
    azimuth = np.arctan2(np.sin(hour_angle),
                         np.cos(hour_angle) * np.sin(phi) - math.tan(decl) * np.cos(phi))
    return np.degrees(zenith), (np.degrees(azimuth) + 180.0) % 360.0


def view_angles(track_lon: float, lon: np.ndarray, lat: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """View zenith (0 at nadir, ~10 degrees at the swath edge) and azimuth (towards the
    satellite: east or west of a near-polar track) from the across-track distance."""
    km = (lon - track_lon) * EARTH_KM_PER_DEGREE * np.cos(np.radians(lat))
    zenith = np.degrees(np.arctan(np.abs(km) / ORBIT_HEIGHT_KM))
    azimuth = np.where(km > 0, 281.5, 101.5)  # perpendicular to a track heading 191.5 degrees
    return np.minimum(zenith, MAX_VIEW_ZENITH + 1.0), azimuth


def render_angles(grid: Grid, day: _dt.date, bands: list[str]) -> dict[str, np.ndarray]:
    """The requested angle bands (float32 degrees) of one frame."""
    lon, lat = _lonlat(grid)
    centre_lon, centre_lat = float(np.mean(lon)), float(np.mean(lat))
    when, track = overpass(day, centre_lon, centre_lat)
    out: dict[str, np.ndarray] = {}
    if "sunZenithAngles" in bands or "sunAzimuthAngles" in bands:
        zenith, azimuth = sun_angles(when, lon, lat)
        out["sunZenithAngles"], out["sunAzimuthAngles"] = zenith, azimuth
    if "viewZenithMean" in bands or "viewAzimuthMean" in bands:
        zenith, azimuth = view_angles(track, lon, lat)
        out["viewZenithMean"], out["viewAzimuthMean"] = zenith, azimuth
    return {b: out[b].astype(np.float32) for b in bands}
