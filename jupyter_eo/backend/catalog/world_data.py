"""Real global rasters behind the simulated world: land/sea mask and Köppen–Geiger climate groups.

The land mask is unpacked once per installation (``<sys.prefix>/share/jupyter_eo/world``, or
``$JUPYTER_EO_WORLD_DIR``) and memory-mapped by every backend, whatever its cache directory;
only when that folder is not writable does a backend build its own copy in its cache dir."""
from __future__ import annotations

import logging
import os
import sys
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from jupyter_eo.atomic_files import replacing

log = logging.getLogger(__name__)

# Köppen–Geiger main groups as stored in data/koppen_geiger_0p05deg.npz (see data/NOTICE.md).
SEA, TROPICAL, ARID, TEMPERATE, COLD, POLAR = 0, 1, 2, 3, 4, 5
_LAND_RES = 120  # global-land-mask: 1/120 degree (GLOBE, ~1 km), row 0 at 90N, column 0 at 180W
_LAND_SHAPE = (21600, 43200)
_lock = threading.Lock()
LAND_FILE = "land_mask_bits_v1.npy"


def default_cache_root() -> Path:
    """$JUPYTER_EO_CACHE_DIR or ~/.cache/jupyter_eo."""
    env = os.environ.get("JUPYTER_EO_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "jupyter_eo"


_world_dir: list[Path] = []


def set_world_dir(path: Path) -> None:
    """Where the derived land-mask bit file lives (first call wins for this process)."""
    if not _world_dir:
        _world_dir.append(Path(path))


def world_dir() -> Path:
    """The backend's own world folder (its cache dir); used only without a shared copy."""
    return _world_dir[0] if _world_dir else default_cache_root() / "world"


def installation_world_dir() -> Path:
    """The world folder shared by every backend of this installation (``$JUPYTER_EO_WORLD_DIR``
    or ``<sys.prefix>/share/jupyter_eo/world``)."""
    env = os.environ.get("JUPYTER_EO_WORLD_DIR")
    return Path(env) if env else Path(sys.prefix) / "share" / "jupyter_eo" / "world"


def _world_dirs() -> list[Path]:
    return list(dict.fromkeys([installation_world_dir(), world_dir(), default_cache_root() / "world"]))


def land_file() -> Path | None:
    """The land-mask file in use (shared first, then the backend's own), None if none is built."""
    for folder in _world_dirs():
        if (folder / LAND_FILE).exists():
            return folder / LAND_FILE
    return None


KOPPEN_FILE = "koppen_geiger_0p05deg_v1.npy"


def _koppen_from_package() -> np.ndarray:
    ref = resources.files("jupyter_eo.backend.catalog").joinpath("data/koppen_geiger_0p05deg.npz")
    with ref.open("rb") as fh:
        return np.load(fh)["kg"]


@lru_cache(maxsize=1)
def koppen() -> np.ndarray:
    """Climate groups on the 0.05 degree grid, shape (3600, 7200), uint8: memory-mapped from the
    unpacked copy in the world folder (unzipping the packaged npz costs ~1-3 s per process, the
    largest part of a backend's first request); unpacked there on first use."""
    for folder in _world_dirs():
        if (folder / KOPPEN_FILE).exists():
            try:
                return np.load(folder / KOPPEN_FILE, mmap_mode="r")
            except (OSError, ValueError):  # damaged copy: fall through to the package
                break
    array = _koppen_from_package()
    for folder in _world_dirs():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with replacing(folder / KOPPEN_FILE, ".tmp.npy") as tmp:
                np.save(tmp, array)
            break
        except OSError:
            continue
    return array


def _land_bits_from_package() -> np.ndarray:
    """Land bits packed along longitude, streamed from global-land-mask's npz (no 1 GB array)."""
    import zipfile

    import global_land_mask

    npz = Path(global_land_mask.__file__).parent / "globe_combined_mask_compressed.npz"
    with zipfile.ZipFile(npz) as zf, zf.open("mask.npy") as fh:  # True = ocean
        version = np.lib.format.read_magic(fh)
        header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, fortran, dtype = header(fh)
        if shape != _LAND_SHAPE or fortran or dtype != np.bool_:
            raise ValueError(f"unexpected global-land-mask layout {shape} {dtype}")
        out = np.empty((shape[0], shape[1] // 8), np.uint8)
        for row in range(0, shape[0], 1200):
            n = min(1200, shape[0] - row)
            ocean = np.frombuffer(fh.read(n * shape[1]), dtype=np.bool_).reshape(n, shape[1])
            out[row:row + n] = np.packbits(~ocean, axis=1)
    return out


def _build_land_bits(path: Path) -> None:
    """Write the land bit file (atomic rename)."""
    log.info("building land-mask bit file %s from global-land-mask (one-off, ~10 s)", path)
    bits = _land_bits_from_package()
    path.parent.mkdir(parents=True, exist_ok=True)
    # unique even for processes of equal pid (containers sharing a cache volume); a failed or
    # interrupted write leaves no 117 MB temp
    with replacing(path, ".tmp.npy") as tmp:
        np.save(tmp, bits)


@lru_cache(maxsize=1)
def land_bits() -> np.ndarray:
    """Land bits (packed along longitude), memory-mapped from the shared (per installation)
    world folder, else from the backend's own; built on first use where it can be written."""
    with _lock:
        existing = land_file()
        if existing is not None:
            return np.load(existing, mmap_mode="r")
        for folder in _world_dirs():
            try:
                _build_land_bits(folder / LAND_FILE)
            except OSError as exc:  # read-only: try the next folder
                log.info("cannot write %s (%s)", folder / LAND_FILE, exc)
                continue
            return np.load(folder / LAND_FILE, mmap_mode="r")
        log.warning("no writable world folder; keeping the land mask in memory")
        return _land_bits_from_package()


def prepare(cache_root: Path | None = None) -> Path:
    """Build the derived world files now (set-up step, once per installation) instead of on the
    first request; returns the folder holding them."""
    if cache_root is not None:
        set_world_dir(Path(cache_root) / "world")
    shared = installation_world_dir() / LAND_FILE
    if not shared.exists():
        try:
            _build_land_bits(shared)
        except OSError as exc:
            log.warning("cannot write the shared world folder %s (%s)", shared.parent, exc)
    land_bits()
    koppen()
    found = land_file()
    return found.parent if found is not None else world_dir()


def is_land(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Boolean land mask at WGS84 points (nearest 1 km cell)."""
    bits = land_bits()
    row = np.clip(((90.0 - lat) * _LAND_RES).astype(np.int64), 0, _LAND_SHAPE[0] - 1)
    col = np.clip(((np.mod(lon + 180.0, 360.0)) * _LAND_RES).astype(np.int64), 0, _LAND_SHAPE[1] - 1)
    byte = np.asarray(bits[row, col >> 3])
    return ((byte >> (7 - (col & 7)).astype(np.uint8)) & 1).astype(bool)


def climate(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Köppen–Geiger main group (1..5) at WGS84 points; latitude fallback where the map has none."""
    kg = koppen()
    row = np.clip(((90.0 - lat) * 20).astype(np.int64), 0, kg.shape[0] - 1)
    col = np.clip((np.mod(lon + 180.0, 360.0) * 20).astype(np.int64), 0, kg.shape[1] - 1)
    out = kg[row, col].astype(np.uint8)
    missing = out == SEA
    if missing.any():
        alat = np.abs(lat[missing])
        out[missing] = np.where(alat > 66, POLAR, np.where(alat > 55, COLD,
                                np.where(alat > 23.5, TEMPERATE, TROPICAL)))
    return out
