"""Memory guard: an RSS watchdog that stops a runaway request with a clean openEO error."""
from __future__ import annotations

import ctypes
import logging
import threading
from contextlib import contextmanager
from typing import Iterator

from jupyter_eo.errors import PayloadTooLarge

log = logging.getLogger(__name__)
MIB = 1024 * 1024


class MemoryLimitExceeded(PayloadTooLarge):
    """Raised in (or for) a request whose process memory grew past its budget."""


class Watch:
    """One watched request: its thread, cancel event, and whether it went over budget."""

    def __init__(self, cancel: threading.Event, baseline: int) -> None:
        self.thread = threading.get_ident()
        self.cancel = cancel
        self.baseline = baseline
        self.exceeded = False
        self.interrupted = False

    def error(self, budget: int) -> MemoryLimitExceeded:
        return MemoryLimitExceeded(
            f"The computation was stopped: it used more than the memory limit of "
            f"{budget / MIB:,.0f} MB per request. Narrow the request (fewer dates, fewer "
            "bands, a smaller area) or reduce it earlier in the process graph.")


class MemoryGuard:
    """Samples this process's RSS while requests run; when it grows more than ``budget``
    bytes per running request above where they started, every running request is stopped:
    its cancel event is set (dask tasks and engine blocks check it), and a
    ``MemoryLimitExceeded`` is raised asynchronously in its thread so pure-Python loops stop
    too. The request then answers 413 instead of the kernel's OOM killer ending the backend.
    """

    def __init__(self, budget: int | None, interval: float = 0.05) -> None:
        self.budget = budget
        self.interval = interval
        self._watches: list[Watch] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._closed = False

    @contextmanager
    def watch(self, cancel: threading.Event) -> Iterator[Watch]:
        """Watch the calling thread's request; raise its MemoryLimitExceeded on the way out."""
        if not self.budget:
            yield Watch(cancel, 0)
            return
        import dask.callbacks

        watch = Watch(cancel, _rss())
        with self._lock:
            self._watches.append(watch)
            self._ensure_thread()
            self._wake.notify()

        def pretask(key: object, dsk: object, state: object) -> None:
            if watch.exceeded and threading.get_ident() == watch.thread:
                raise watch.error(self.budget or 0)

        try:
            with dask.callbacks.Callback(pretask=pretask):
                yield watch
        except MemoryLimitExceeded:
            raise watch.error(self.budget) from None
        except Exception:
            if watch.exceeded:
                raise watch.error(self.budget) from None
            raise
        finally:
            self._forget(watch)
        if watch.exceeded:
            raise watch.error(self.budget)

    def _forget(self, watch: Watch) -> None:
        """Stop watching; an asynchronous exception arriving meanwhile is dropped (the
        caller raises the request's error itself)."""
        while True:
            try:
                with self._lock:
                    if watch in self._watches:
                        self._watches.remove(watch)
                    if watch.interrupted:  # drop one not delivered yet
                        _async_raise(watch.thread, None)
                return
            except MemoryLimitExceeded:
                continue

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._wake.notify()

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="jupyter-eo-memory-guard",
                                            daemon=True)
            self._thread.start()

    def _run(self) -> None:
        with self._lock:
            while not self._closed:
                if not self._watches:
                    self._wake.wait()
                    continue
                self._check(_rss())
                self._wake.wait(self.interval)

    def _check(self, rss: int) -> None:
        """Called with the lock held."""
        running = [w for w in self._watches if not w.exceeded]
        if not running or not self.budget:
            return
        start = min(w.baseline for w in self._watches)
        if rss - start <= self.budget * len(self._watches):
            return
        log.warning("memory guard: RSS %d MB, %d MB above the start of %d running "
                    "request(s); stopping them", rss // MIB, (rss - start) // MIB,
                    len(self._watches))
        for watch in running:
            watch.exceeded = True
            watch.cancel.set()
            watch.interrupted = _async_raise(watch.thread, MemoryLimitExceeded)


def _rss() -> int:
    import psutil

    return int(psutil.Process().memory_info().rss)


def _async_raise(thread_id: int, exc: type[BaseException] | None) -> bool:
    """Raise ``exc`` in thread ``thread_id`` at its next Python instruction (None clears a
    pending one); True when the thread exists."""
    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc is not None else None)
    return done == 1
