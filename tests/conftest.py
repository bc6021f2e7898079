"""Shared pytest configuration: jupyter server fixtures and an isolated openeo client config."""
from __future__ import annotations

import pytest

pytest_plugins = ["pytest_jupyter.jupyter_server"]


@pytest.fixture(autouse=True)
def _isolated_openeo_config(tmp_path_factory: pytest.TempPathFactory,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Never let the openeo client read or write the real user's config or tokens."""
    home = tmp_path_factory.mktemp("openeo-config")
    monkeypatch.setenv("OPENEO_CONFIG_HOME", str(home))
    monkeypatch.setenv("OPENEO_AUTH_CONFIG_HOME", str(home))
