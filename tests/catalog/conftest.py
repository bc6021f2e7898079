"""Fixtures for catalog tests: one shared temporary cache dir (world data, chunks) per session."""
from __future__ import annotations

from pathlib import Path

import pytest

from jupyter_eo.backend.catalog import default_catalog


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jupyter-eo-cache")


@pytest.fixture(scope="session")
def catalog(cache_dir: Path):
    return default_catalog(cache_dir=cache_dir)
