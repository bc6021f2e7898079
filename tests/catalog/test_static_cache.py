"""The per-grid static-layer memo builds each grid's layers once, also when dask threads ask
for the same grid at the same time (other dates of one chunk)."""
from __future__ import annotations

import threading

from jupyter_eo.backend.catalog.simulated import _StaticCache


class _SeenDict(dict):
    """A dict that counts ``setdefault`` calls: each is a thread asking for a key being built."""

    def __init__(self) -> None:
        super().__init__()
        self.asked = threading.Semaphore(0)

    def setdefault(self, key, default=None):
        value = super().setdefault(key, default)
        self.asked.release()
        return value


def test_concurrent_requests_for_one_grid_build_it_once() -> None:
    memo = _StaticCache()
    seen = memo._building = _SeenDict()
    builds: list[str] = []

    def build() -> dict:
        builds.append(threading.current_thread().name)
        # the second thread has asked for the same key while this one builds it
        assert seen.asked.acquire(timeout=10) and seen.asked.acquire(timeout=10)
        return {"layers": 1}

    results: list[dict] = []
    threads = [threading.Thread(target=lambda: results.append(memo.get(("lc", "grid"), build)),
                                name=f"dask-{i}") for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert len(builds) == 1, builds
    assert len(results) == 2 and results[0] is results[1]
    assert memo._building == {}  # nothing left behind
    assert memo.get(("lc", "grid"), lambda: {"layers": 2}) is results[0]  # stored


def test_a_failed_build_is_not_stored_and_can_be_retried() -> None:
    memo = _StaticCache()

    def fail() -> dict:
        raise RuntimeError("world data unreadable")

    try:
        memo.get("k", fail)
    except RuntimeError:
        pass
    else:
        raise AssertionError("the build error was swallowed")
    assert memo._building == {} and memo.get("k", lambda: {"ok": True}) == {"ok": True}
