"""Fixtures for catalog tests: one shared temporary cache dir (world data, chunks) per session."""
from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from jupyter_eo.backend.catalog import default_catalog
from jupyter_eo.backend.catalog.world_data import set_world_dir

# The derived land-mask file (117 MB, immutable, written atomically) is shared between test
# sessions in the system temp dir so that only the first session pays the ~10 s to build it.
set_world_dir(Path(tempfile.gettempdir()) / "jupyter_eo_test_world")


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jupyter-eo-cache")


@pytest.fixture(scope="session")
def catalog(cache_dir: Path):
    return default_catalog(cache_dir=cache_dir)
