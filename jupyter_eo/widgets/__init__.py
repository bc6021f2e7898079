"""Interactive openEO widgets: AOI map, pickers, recipes, preview, cube viewer, jobs and the Explorer."""
from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "AOIMap": "aoi_map",
    "CollectionPicker": "pickers",
    "TemporalExtentPicker": "pickers",
    "BandPicker": "pickers",
    "CubeViewer": "cube_viewer",
    "RecipePicker": "recipe_picker",
    "RECIPES": "recipes",
    "Preview": "preview",
    "JobsPanel": "jobs",
    "Explorer": "explorer",
    "CodeExport": "export",
    "ProcessPlaza": "process_plaza",
    "ProcessForm": "process_form",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(name)
    return getattr(import_module(f"jupyter_eo.widgets.{module}"), name)
