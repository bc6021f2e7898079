"""Fixtures for the non-cube process tests (helpers live in procs_testlib)."""
from __future__ import annotations

import pytest
from procs_testlib import MiniContext, load_own_processes

load_own_processes()


@pytest.fixture
def ctx() -> MiniContext:
    return MiniContext()
