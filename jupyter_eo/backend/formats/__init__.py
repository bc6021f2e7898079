"""Output formats: the ``/file_formats`` description and writing results (SaveResult) to files."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from jupyter_eo.backend.formats import geojson, gtiff, jsonfmt, netcdf, png
from jupyter_eo.backend.formats.common import WrittenFile, format_error, is_raster
from jupyter_eo.errors import OpenEOError

__all__ = ["WrittenFile", "file_formats", "canonical_format", "write_result", "FORMATS"]

# canonical name -> (module, gis data types, title, file extension)
FORMATS: dict[str, tuple[Any, list[str], str, str]] = {
    "GTiff": (gtiff, ["raster"], "GeoTIFF (cloud-optimized)", "tif"),
    "netCDF": (netcdf, ["raster"], "netCDF (CF conventions)", "nc"),
    "PNG": (png, ["raster"], "PNG image (previews)", "png"),
    "JSON": (jsonfmt, ["other", "table"], "JSON", "json"),
    "GeoJSON": (geojson, ["vector"], "GeoJSON (vector cubes)", "geojson"),
}
ALIASES = {"gtiff": "GTiff", "geotiff": "GTiff", "tiff": "GTiff", "tif": "GTiff",
           "cog": "GTiff", "netcdf": "netCDF", "nc": "netCDF", "png": "PNG", "json": "JSON",
           "geojson": "GeoJSON"}


def canonical_format(name: Any) -> str:
    """The canonical output format name for ``name`` (case-insensitive; aliases accepted)."""
    if not isinstance(name, str) or name.lower() not in ALIASES:
        raise OpenEOError(f"Output format {str(name)[:50]!r} is not supported. Supported: "
                          f"{', '.join(FORMATS)}.", code="FormatUnsupported", status=400)
    return ALIASES[name.lower()]


def file_formats() -> dict[str, Any]:
    """The body of ``GET /file_formats``."""
    output = {}
    for name, (module, kinds, title, _ext) in FORMATS.items():
        output[name] = {"title": title, "gis_data_types": kinds,
                        "parameters": dict(module.PARAMETERS)}
    return {"input": {}, "output": output}


def extension(fmt: str) -> str:
    return FORMATS[canonical_format(fmt)][3]


def write_result(value: Any, fmt: str | None, options: dict[str, Any] | None, out_dir: Path,
                 basename: str = "result") -> WrittenFile:
    """Write an evaluated value to ``out_dir``: rasters default to GTiff, others to JSON."""
    options = dict(options or {})
    if fmt is None:
        fmt = "GTiff" if is_raster(value) else "JSON"
    name = canonical_format(fmt)
    module, kinds, _title, ext = FORMATS[name]
    if "raster" in kinds and not is_raster(value):
        raise format_error(f"Format {name} needs a raster data cube (with x and y); this result "
                           f"is a {type(value).__name__}. Use JSON instead.")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{basename}.{ext}"
    written = module.write(value, path, options)
    written.metadata.setdefault("format", name)
    return written

