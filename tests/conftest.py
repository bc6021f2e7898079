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


@pytest.fixture(autouse=True)
def _no_leaked_kernel_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts outside Jupyter: a server started by an earlier test exports its
    URL, secret and basemap URL into this process's environment, which kernels and the standalone
    ``jupyter_eo.connect`` path would otherwise inherit."""
    from jupyter_eo.server.channel import ENV_BASEMAP, ENV_SECRET, ENV_URL

    monkeypatch.delenv(ENV_URL, raising=False)
    monkeypatch.delenv(ENV_SECRET, raising=False)
    monkeypatch.delenv(ENV_BASEMAP, raising=False)
