"""Peak resident memory of this process during a block, sampled in a background thread."""
from __future__ import annotations

import threading
from typing import Any

import psutil


class PeakRSS:
    """``with PeakRSS() as mem: ...`` then ``mem.extra``: the peak RSS above the level at
    start, sampled every ``interval`` seconds (and once more at the end)."""

    def __init__(self, interval: float = 0.001) -> None:
        self.interval = interval
        self.proc = psutil.Process()
        self.base = self.peak = self.proc.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, self.proc.memory_info().rss)

    def __enter__(self) -> "PeakRSS":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.proc.memory_info().rss)

    @property
    def extra(self) -> int:
        return self.peak - self.base
