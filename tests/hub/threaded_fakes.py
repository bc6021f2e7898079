"""Runs helper S's loopback fakes (OIDC provider, openEO upstreams) on an event loop in a thread."""
from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator
from contextlib import contextmanager

from tests.server.fakes import OidcState, Upstream, start_oidc, start_upstream


@dataclass
class Fakes:
    oidc: OidcState
    upstreams: list[Upstream]
    loop: asyncio.AbstractEventLoop
    servers: list[Any] = field(default_factory=list)

    def call(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on the fakes' loop (their state is not thread-safe)."""
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()

        self.loop.call_soon_threadsafe(run)
        done.wait(5)


@contextmanager
def threaded_fakes(upstreams: int = 1) -> Iterator[Fakes]:
    """One fake OIDC provider and ``upstreams`` fake openEO backends trusting it."""
    loop = asyncio.new_event_loop()
    state, oidc_server = start_oidc(loop)
    ups, servers = [], [oidc_server]
    for _ in range(upstreams):
        up, server = start_upstream(loop, state)
        ups.append(up)
        servers.append(server)
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield Fakes(state, ups, loop, servers)
    finally:
        def shutdown() -> None:
            for server in servers:
                server.stop()
            loop.stop()

        loop.call_soon_threadsafe(shutdown)
        thread.join(5)
        loop.close()
