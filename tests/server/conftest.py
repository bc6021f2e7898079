"""Fixtures for server-extension tests: the extension enabled in a jp_serverapp, loopback fakes."""
from __future__ import annotations

import asyncio
import os

import pytest

from tests.server.fakes import OidcState, Upstream, start_oidc, start_upstream


@pytest.fixture(autouse=True)
def _restore_channel_environment():  # type: ignore[no-untyped-def]
    """A started extension exports its URL, secret and basemap template into this process's
    environment (for kernels); undo that after each test so later tests (e.g. widgets) do
    not see a server that is gone."""
    from jupyter_eo.server.channel import ENV_BASEMAP, ENV_SECRET, ENV_URL

    saved = {name: os.environ.get(name) for name in (ENV_URL, ENV_SECRET, ENV_BASEMAP)}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def jp_server_config() -> dict:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}}}


@pytest.fixture(scope="session")
def eo_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The embedded backend's world/chunk cache, built once per session (pytest-jupyter moves
    HOME, so the default ~/.cache would be rebuilt for every server)."""
    return os.environ.get("JUPYTER_EO_CACHE_DIR") or str(tmp_path_factory.mktemp("eo-cache"))


def _stop(loop: asyncio.AbstractEventLoop, server) -> None:  # type: ignore[no-untyped-def]
    server.stop()
    try:
        loop.run_until_complete(asyncio.wait_for(server.close_all_connections(), 2))
    except asyncio.TimeoutError:
        pass


@pytest.fixture
def oidc_provider(jp_asyncio_loop) -> OidcState:  # type: ignore[no-untyped-def]
    state, server = start_oidc(jp_asyncio_loop)
    yield state
    _stop(jp_asyncio_loop, server)


@pytest.fixture
def upstream(jp_asyncio_loop, oidc_provider) -> Upstream:  # type: ignore[no-untyped-def]
    """The fake openEO backend (basic and OIDC logins)."""
    up, server = start_upstream(jp_asyncio_loop, oidc_provider)
    yield up
    _stop(jp_asyncio_loop, server)


@pytest.fixture
def other_upstream(jp_asyncio_loop) -> Upstream:  # type: ignore[no-untyped-def]
    """A second fake backend (or an 'evil' host a redirect points to)."""
    up, server = start_upstream(jp_asyncio_loop)
    yield up
    _stop(jp_asyncio_loop, server)


@pytest.fixture
def eo_proxy_config(upstream, other_upstream, oidc_provider, tmp_path) -> dict:  # type: ignore[no-untyped-def]
    """JupyterEOApp settings with fake backends: basic, none, oidc and client credentials."""
    return {
        "backends": {
            "fakebasic": {"url": upstream.url, "title": "Fake basic", "auth": "basic"},
            "open": {"url": other_upstream.url, "title": "Open", "auth": "none"},
            "fakeoidc": {"url": upstream.url, "title": "Fake OIDC", "auth": "oidc"},
            "service": {"url": upstream.url, "auth": "client_credentials",
                        "oidc_provider_id": "fake", "oidc_issuer": oidc_provider.url,
                        "oidc_client_id": "svc",
                        "oidc_client_secret": oidc_provider.client_secret},
        },
        "enable_local_backend": False,
        "credentials_dir": str(tmp_path / "creds" / "me"),
        "proxy_request_timeout": 1.0,
        "proxy_max_request_bytes": 2_000_000,
        "proxy_max_rewrite_bytes": 200_000,
    }
