"""Simulated ESA_WORLDCOVER_10M_2021_V2: the 2021 land-cover map of the simulated world, with the
WorldCover class codes, so it agrees with what SENTINEL2_L2A and SENTINEL1_GRD show."""
from __future__ import annotations

import datetime as _dt

import numpy as np

from . import simulated_world as world
from .grid import Grid
from .metadata import collection_document, eo_band, iso
from .simulated import SimulatedCollection

# simulated class -> WorldCover code (10 trees, 20 shrubland, 30 grassland, 40 cropland,
# 50 built-up, 60 bare/sparse vegetation, 70 snow and ice, 80 permanent water, 100 moss/lichen)
_CODES = np.zeros(world.N_CLASSES, np.uint8)
_CODES[[world.WATER, world.EBF, world.DBF, world.CONIFER, world.GRASS, world.CROP, world.BARE,
        world.URBAN, world.ICE, world.TUNDRA, world.SHRUB]] = \
    [80, 10, 10, 10, 30, 40, 60, 50, 70, 100, 20]
MAP_DAY = _dt.date(2021, 1, 1)
CLASSES = {10: "Tree cover", 20: "Shrubland", 30: "Grassland", 40: "Cropland", 50: "Built-up",
           60: "Bare / sparse vegetation", 70: "Snow and ice", 80: "Permanent water bodies",
           90: "Herbaceous wetland", 95: "Mangroves", 100: "Moss and lichen"}


class WorldCover2021(SimulatedCollection):
    """One map (time label 2021-01-01), band ``MAP`` (uint8 class codes, 0 = no data)."""

    id = "ESA_WORLDCOVER_10M_2021_V2"
    dtype = np.uint8
    nodata = 0
    first_date = MAP_DAY

    def eo_bands(self) -> list[dict]:
        return [eo_band("MAP", nodata=0, gsd=10, description=(
            "Land-cover class (ESA WorldCover codes): " +
            ", ".join(f"{k} {v}" for k, v in CLASSES.items())))]

    def acquisitions(self, start: _dt.date, end: _dt.date,
                     place: tuple[float, float] | None = None) -> dict:
        return {MAP_DAY: ("esa-worldcover", "", 0)} if start <= MAP_DAY < end else {}

    def render(self, grid: Grid, day: _dt.date, bands: list[str]) -> dict[str, np.ndarray]:
        classes = self.static_layers(grid).cls
        return {"MAP": np.take(_CODES, classes.astype(np.intp))}

    def metadata(self) -> dict:
        return collection_document(
            id=self.id, title="ESA WorldCover 10 m 2021 v200 (simulated)",
            description=(
                "SIMULATED ESA WorldCover 2021 land-cover map for anywhere on Earth: the land "
                "cover of jupyter_eo's simulated world (the one SENTINEL2_L2A and SENTINEL1_GRD "
                "are drawn from) with the WorldCover class codes in band MAP. One time step, "
                "2021-01-01. Wetlands (90) and mangroves (95) are not simulated."),
            license="CC-BY-4.0",
            providers=[{"name": "jupyter_eo simulation", "roles": ["producer", "processor",
                                                                   "host"]}],
            keywords=["simulated", "land cover", "WorldCover", "offline"],
            bbox=[-180.0, -90.0, 180.0, 90.0], interval=[iso(MAP_DAY), iso(MAP_DAY)],
            epsg=4326, bands=self.eo_bands(), step=10, t_step=None,
            summaries={"classification:classes": [{"value": k, "description": v}
                                                  for k, v in CLASSES.items()],
                       "jupyter_eo:simulated": [True]},
            extra={"deprecated": False})
