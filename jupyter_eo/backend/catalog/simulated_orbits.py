"""Acquisition calendars of the simulated collections from the missions' orbit geometry.

Each satellite flies a sun-synchronous repeat orbit: ``orbits`` relative orbits in ``cycle_days``
days, so consecutive orbits cross the equator ``360 * cycle_days / orbits / 1 day`` degrees
further west and the ground tracks of one cycle are ``360 / orbits`` degrees apart. A place is
acquired on an orbit when its ground track at the place's latitude passes within half the swath.
Satellites of one constellation share the tracks at a phase offset (Sentinel-2B five days after
2A, Sentinel-1B six days after 1A). Everything is arithmetic on the date and the place, so the
calendar is deterministic and the same for every request.

Simplifications (this is a simulation): circular orbits, a spherical Earth, the nominal local
time of the equator crossing, no data gaps, manoeuvres or acquisition-plan limits; the phase of
relative orbit 1 is a fixed choice, not ESA's.
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass

import numpy as np

EARTH_KM_PER_DEGREE = 111.32
SIDEREAL_RATE = 360.0 / 0.99726968  # degrees per day the Earth turns under an inertial orbit
_EPOCH = _dt.datetime(2017, 1, 1)


@dataclass(frozen=True)
class Satellite:
    """One spacecraft: its orbit family, phase and the days it acquired."""

    platform: str
    launch: _dt.date
    end: _dt.date | None          # last day in the constellation (None: still flying)
    cycle_days: int               # repeat cycle
    orbits: int                   # relative orbits per cycle
    inclination: float            # degrees
    swath_km: float
    node_hour: float              # local solar time of the descending node (hours)
    phase_days: float             # offset of this satellite's orbit 0 from the epoch
    passes: tuple[str, ...] = ("descending",)  # which half-orbits acquire

    @property
    def period_days(self) -> float:
        return self.cycle_days / self.orbits

    def active(self, day: _dt.date) -> bool:
        return self.launch <= day and (self.end is None or day <= self.end)


def _track_offset(sat: Satellite, lat: float, descending: bool) -> tuple[float, float]:
    """(longitude offset in degrees from the equator crossing, time offset in days) of the
    ground track at latitude ``lat`` on the descending (or ascending) half of the orbit."""
    inc = math.radians(sat.inclination)
    max_lat = 90.0 - abs(90.0 - sat.inclination) - 1e-6
    phi = math.radians(max(-max_lat, min(max_lat, lat)))
    u = math.asin(max(-1.0, min(1.0, math.sin(phi) / math.sin(inc))))  # argument of latitude
    node = 0.0
    if descending:  # the descending node is at u = pi; the place is reached at pi - u
        u, node = math.pi - u, math.pi
    inertial = math.atan2(math.cos(inc) * math.sin(u), math.cos(u)) - \
        math.atan2(math.cos(inc) * math.sin(node), math.cos(node))
    dt_days = (u - node) / (2 * math.pi) * sat.period_days
    return math.degrees(inertial) - SIDEREAL_RATE * dt_days, dt_days


def passes(sat: Satellite, lon: float, lat: float, start: _dt.date, end: _dt.date
           ) -> list[tuple[_dt.datetime, str, int]]:
    """(UTC time, orbit state, relative orbit 1..N) of every acquisition of ``(lon, lat)`` in
    [start, end) while the satellite was active."""
    first, last = max(start, sat.launch), end if sat.end is None else min(
        end, sat.end + _dt.timedelta(days=1))
    if first >= last:
        return []
    half_swath = sat.swath_km / 2 / (EARTH_KM_PER_DEGREE * max(0.05, math.cos(math.radians(lat))))
    spacing = 360.0 * sat.period_days  # westward shift of the track per orbit (solar day)
    out = []
    for state in sat.passes:
        descending = state == "descending"
        shift, dt_days = _track_offset(sat, lat, descending)
        node_hour = sat.node_hour if descending else (sat.node_hour + 12.0) % 24.0
        # orbit k crosses the node at t_k = epoch + phase + k * period, at the longitude where
        # the local solar time is node_hour: 15 * (node_hour - UTC hours of t_k)
        t0 = (_dt.datetime.combine(first, _dt.time()) - _EPOCH).total_seconds() / 86400
        t1 = (_dt.datetime.combine(last, _dt.time()) - _EPOCH).total_seconds() / 86400
        k0 = math.floor((t0 - sat.phase_days - 1) / sat.period_days)
        k1 = math.ceil((t1 - sat.phase_days + 1) / sat.period_days)
        k = np.arange(k0, k1 + 1)
        t_node = sat.phase_days + k * sat.period_days + (0.0 if descending else
                                                          sat.period_days / 2)
        node_lon = 15.0 * (node_hour - (t_node % 1.0) * 24.0)
        track = node_lon + shift
        miss = (lon - track + 180.0) % 360.0 - 180.0
        t_place = t_node + dt_days
        seen = (np.abs(miss) <= half_swath) & (t_place >= t0) & (t_place < t1)
        relative = (k % sat.orbits) + 1
        for when, rel in zip(t_place[seen], relative[seen]):
            out.append((_EPOCH + _dt.timedelta(days=float(when)), state, int(rel)))
    out.sort()
    return out


def _s2(platform: str, launch: _dt.date, end: _dt.date | None, phase: float) -> Satellite:
    return Satellite(platform, launch, end, cycle_days=10, orbits=143, inclination=98.62,
                     swath_km=290.0, node_hour=10.5, phase_days=phase)


def _s1(platform: str, launch: _dt.date, end: _dt.date | None, phase: float) -> Satellite:
    return Satellite(platform, launch, end, cycle_days=12, orbits=175, inclination=98.18,
                     swath_km=250.0, node_hour=6.0, phase_days=phase,
                     passes=("descending", "ascending"))


# Launch dates and the end of Sentinel-1B (power failure) are the missions' real dates. Sentinel-
# 2C took over Sentinel-2A's orbit position on 2025-01-21 (2A then left the nominal
# constellation; its later extended campaign is not simulated); Sentinel-1C flies in 1B's former
# position. 2B and 1B/1C are phased half a cycle after 2A and 1A.
SENTINEL2 = (
    _s2("sentinel-2a", _dt.date(2015, 6, 23), _dt.date(2025, 1, 20), 0.0),
    _s2("sentinel-2b", _dt.date(2017, 3, 7), None, 5.0),
    _s2("sentinel-2c", _dt.date(2025, 1, 21), None, 0.0),
)
SENTINEL1 = (
    _s1("sentinel-1a", _dt.date(2014, 4, 3), None, 0.0),
    _s1("sentinel-1b", _dt.date(2016, 4, 25), _dt.date(2021, 12, 23), 6.0),
    _s1("sentinel-1c", _dt.date(2024, 12, 5), None, 6.0),
)


def acquisitions(satellites: tuple[Satellite, ...], lon: float, lat: float, start: _dt.date,
                 end: _dt.date) -> dict[_dt.date, tuple[str, str, int]]:
    """Acquisition dates (UTC) in [start, end) of ``(lon, lat)`` by any active satellite, each
    with (platform, orbit state, relative orbit) of its first pass that day."""
    days: dict[_dt.date, tuple[str, str, int]] = {}
    found = []
    for sat in satellites:
        for when, state, rel in passes(sat, lon, lat, start, end):
            found.append((when, sat.platform, state, rel))
    for when, platform, state, rel in sorted(found):
        if start <= when.date() < end:
            days.setdefault(when.date(), (platform, state, rel))
    return dict(sorted(days.items()))
