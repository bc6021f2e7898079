"""Fixtures for server-extension tests: the extension enabled in a jp_serverapp."""
from __future__ import annotations

import pytest


@pytest.fixture
def jp_server_config() -> dict:
    return {"ServerApp": {"jpserver_extensions": {"jupyter_eo": True}}}
