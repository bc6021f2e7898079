"""Fixtures for backend tests: a small real in-memory collection, a served app, an openeo client."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from jupyter_eo.backend.testing import serve_in_thread

# Helpers live in a uniquely named module: ``from conftest import`` would resolve to whichever
# folder's conftest was imported last when several test folders run together.
from backend_testlib import (  # noqa: F401
    PASSWORD, USER, make_config,
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


@pytest.fixture
def server(data_dir: Path) -> Iterator[str]:
    with serve_in_thread(make_config(data_dir)) as url:
        yield url


@pytest.fixture(autouse=True)
def _openeo_config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENEO_CONFIG_HOME", str(tmp_path / "openeo-config"))
    monkeypatch.setenv("OPENEO_AUTH_CONFIG_HOME", str(tmp_path / "openeo-config"))


@pytest.fixture
def connection(server: str):
    import openeo

    con = openeo.connect(server)
    con.authenticate_basic(USER, PASSWORD)
    return con
