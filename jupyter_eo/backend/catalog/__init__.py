"""Collections of the embedded backend: simulated Sentinel-2/1, real samples, user files, STAC."""
from .base import Collection
from .registry import Catalog, default_catalog

__all__ = ["Catalog", "Collection", "default_catalog"]
