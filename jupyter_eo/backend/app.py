"""The backend application: services built once (auth, jobs, UDPs, catalog, engine glue) and make_app."""
from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import tornado.web

from jupyter_eo.backend.auth import Authenticator
from jupyter_eo.backend.config import BackendConfig
from jupyter_eo.backend.formats import WrittenFile, write_result
from jupyter_eo.backend.jobs import JobRunner, JobStore
from jupyter_eo.backend.limits import check_graph, check_pixels
from jupyter_eo.backend.memory_guard import MemoryGuard
from jupyter_eo.backend.memory_model import check_memory, estimate_memory
from jupyter_eo.backend.udps import UdpStore
from jupyter_eo.backend.workspace import Workspace
from jupyter_eo.errors import OpenEOError, RequestTimeout

__all__ = ["BackendConfig", "Backend", "make_app"]

STATE_DB = "backend.sqlite"


def user_dirname(user: str) -> str:
    """A safe directory name for ``user`` (readable when possible, hashed otherwise)."""
    if re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", user) and user not in (".", ".."):
        return user
    return "u-" + hashlib.sha256(user.encode("utf-8")).hexdigest()[:24]


class Backend:
    """Long-lived services shared by all handlers of one app."""

    def __init__(self, config: BackendConfig) -> None:
        from jupyter_eo.backend.dask_logging import keep_logging_levels

        keep_logging_levels()
        self.config = config
        self._catalog: Any = None
        self._catalog_lock = threading.Lock()
        db = config.data_dir / STATE_DB
        self.auth = Authenticator(config.users, db)
        self.udps = UdpStore(db)
        from jupyter_eo.backend.namespaces import NamespaceDocuments

        self.namespace_documents = NamespaceDocuments()  # public documents by namespace URL
        self.jobs = JobStore(db, lambda user, job_id: self.user_dir(user) / "jobs" / job_id)
        # heavy synchronous processing, map tiles, and quick checks get separate pools so a
        # long /result never delays job creation, validation or listing
        self.executor = ThreadPoolExecutor(max_workers=max(1, config.sync_workers),
                                           thread_name_prefix="openeo-sync")
        self.tile_executor = ThreadPoolExecutor(max_workers=max(1, config.sync_workers),
                                                thread_name_prefix="openeo-tiles")
        self.light_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="openeo-light")
        self.memory_guard = MemoryGuard(config.limits.max_request_bytes)
        self.runner = JobRunner(self.jobs, self.execute_job, workers=config.job_workers)
        from jupyter_eo.backend.handlers.services import ServiceStore

        self.services = ServiceStore(db)
        self.runner.resume(self.jobs.recover())

    # -- lazily built heavy parts ----------------------------------------------------------
    @property
    def catalog(self) -> Any:
        """The collection catalog, built on first use (once, even under concurrent requests)."""
        if self._catalog is None:
            with self._catalog_lock:
                if self._catalog is None:
                    if self.config.catalog is not None:
                        self._catalog = self.config.catalog
                    else:
                        from jupyter_eo.backend.catalog import default_catalog

                        self._catalog = default_catalog(data_dir=self.config.collections_dir,
                                                        cache_dir=self.config.cache_dir)
        return self._catalog

    @cached_property
    def predefined_processes(self) -> list[dict[str, Any]]:
        from jupyter_eo.backend.engine import process_descriptions

        return process_descriptions()

    @cached_property
    def predefined_ids(self) -> set[str]:
        return {p["id"] for p in self.predefined_processes}

    # -- per user --------------------------------------------------------------------------
    def user_dir(self, user: str) -> Path:
        return self.config.data_dir / "users" / user_dirname(user)

    def workspace(self, user: str) -> Workspace:
        return Workspace(self.user_dir(user) / "files")

    def udp_resolver(self, user: str | None) -> Callable[[str, str | None], dict | None]:
        from jupyter_eo.backend.namespaces import (is_namespace_url, provider_of,
                                                   provider_unavailable)

        def resolve(process_id: str, namespace: str | None) -> dict | None:
            provider = provider_of(process_id, namespace)
            if provider is not None:
                raise provider_unavailable(process_id, provider)
            if namespace in (None, "", "user"):
                return self.udps.find(user, process_id)
            # a namespace URL of this backend's own UDP (``.../process_graphs/<id>``, what
            # clients share) resolves to the caller's UDP; other URLs are fetched safely
            if isinstance(namespace, str) and re.match(r"https?://", namespace):
                from urllib.parse import unquote, urlparse

                path = unquote(urlparse(namespace).path).rstrip("/")
                own = self.udps.find(user, process_id) \
                    if path.endswith(f"/process_graphs/{process_id}") else None
                if own is not None:
                    return own
                # the public link of any user's UDP marked public (handlers/public_processes.py)
                public = re.search(r"/public/process_graphs/([^/]+)/([^/]+)$", urlparse(namespace).path)
                if public and unquote(public.group(2)) == process_id:
                    shared = self.udps.find_public(unquote(public.group(1)), process_id)
                    if shared is not None:
                        return shared
            if is_namespace_url(namespace):  # a public process document elsewhere
                return self.namespace_documents.find(namespace, process_id)
            return None

        return resolve

    def eval_context(self, user: str | None, *, max_pixels: int | None,
                     progress: Callable[[float], None] | None = None,
                     cancel_event: threading.Event | None = None, catalog: Any = None) -> Any:
        from jupyter_eo.backend.engine import EvalContext

        return EvalContext(catalog=catalog if catalog is not None else self.catalog,
                           udp_resolver=self.udp_resolver(user), user=user,
                           udf_enabled=self.config.udf_enabled,
                           udf_sandboxed=self.config.udf_sandboxed,
                           dask_address=self.config.dask_address, max_pixels=max_pixels,
                           progress=progress, cancel_event=cancel_event,
                           workspace=self.workspace(user).root if user else None)

    # -- graph execution -------------------------------------------------------------------
    def precheck(self, pg: Any, user: str | None, max_pixels: int | None) -> None:
        """All checks before any data is read: structure/size, engine validation, pixel count."""
        from jupyter_eo.backend.engine.pushdown import push_down_spatial_extents

        graphs = check_graph(pg, self.config.limits)
        pushed = push_down_spatial_extents(pg, {})  # as the engine will load (issue 20.5)
        if pushed is not pg:
            graphs = check_graph(pushed, self.config.limits)
        errors = self._engine_validate(pg, user)
        if errors:
            raise errors[0]
        check_pixels(graphs, self.catalog, max_pixels)
        check_memory(estimate_memory(graphs, self.catalog), self.config.limits.max_request_bytes)

    def _engine_validate(self, pg: Any, user: str | None,
                         parameter_names: list[str] | None = None) -> list[OpenEOError]:
        from jupyter_eo.backend.engine import validate_process_graph

        ctx = self.eval_context(user, max_pixels=self.config.limits.max_pixels)
        return list(validate_process_graph(pg, ctx, dict.fromkeys(parameter_names or [])))

    def validate(self, pg: Any, user: str | None,
                 parameter_names: list[str] | None = None) -> list[OpenEOError]:
        """``POST /validation``: every problem found, as openEO errors (none means valid).

        ``parameter_names``: the parameters the body declares (a process document)."""
        try:
            check_graph(pg, self.config.limits)
        except OpenEOError as exc:
            return [exc]
        return self._engine_validate(pg, user, parameter_names)

    def evaluate(self, pg: dict, user: str | None, *, max_pixels: int | None,
                 progress: Callable[[float], None] | None = None,
                 cancel_event: threading.Event | None = None,
                 parameters: dict | None = None, catalog: Any = None
                 ) -> tuple[Any, str | None, dict]:
        """Run a graph; return (value, format or None, format options)."""
        from jupyter_eo.backend.engine import SaveResult, evaluate

        ctx = self.eval_context(user, max_pixels=max_pixels, progress=progress,
                                cancel_event=cancel_event, catalog=catalog)
        result = evaluate(pg, ctx, parameters=parameters)
        if self.config.dask_address:
            # compute on the configured dask.distributed cluster, not in this process
            from jupyter_eo.backend.engine import materialize

            result = materialize(result, ctx)
        if isinstance(result, SaveResult):
            return result.data, result.format, dict(result.options or {})
        return result, None, {}

    def run_to_file(self, pg: dict, user: str | None, out_dir: Path, basename: str, *,
                    max_pixels: int | None, progress: Callable[[float], None] | None = None,
                    cancel_event: threading.Event | None = None) -> WrittenFile:
        self.precheck(pg, user, max_pixels)
        cancel_event = cancel_event or threading.Event()
        with self.memory_guard.watch(cancel_event):  # a runaway becomes a 413, not an OOM kill
            value, fmt, options = self.evaluate(pg, user, max_pixels=max_pixels,
                                                progress=progress, cancel_event=cancel_event)
            return write_result(value, fmt, options, out_dir, basename=basename)

    def execute_job(self, job: dict, out_dir: Path, progress: Callable[[float], None],
                    cancel: threading.Event) -> list[dict]:
        process = job["process"]
        written = self.run_to_file(process["process_graph"], job["user"], out_dir, "result",
                                   max_pixels=self.config.limits.max_job_pixels,
                                   progress=progress, cancel_event=cancel)
        return [{"name": written.name, "file": written.name, "type": written.media_type,
                 "size": written.path.stat().st_size, "metadata": written.metadata}]

    async def run_sync(self, func: Callable[..., Any], *args: Any,
                       timeout: float | None = None, cancel_event: threading.Event | None = None,
                       pool: str = "sync", on_done: Callable[[], None] | None = None,
                       **kwargs: Any) -> Any:
        """Run ``func`` off the event loop on ``pool`` ("sync", "tiles" or "light"),
        optionally with a wall-clock limit (RequestTimeout).

        ``on_done`` is called (in the worker thread) once ``func`` has really finished, also
        after a timeout was already reported: the place to release what ``func`` writes to.
        """
        executor = {"sync": self.executor, "tiles": self.tile_executor,
                    "light": self.light_executor}[pool]
        try:
            work = executor.submit(func, *args, **kwargs)
        except BaseException:
            if on_done is not None:
                on_done()
            raise
        if on_done is not None:
            work.add_done_callback(lambda _: on_done())
        future = asyncio.wrap_future(work)
        if timeout is None:
            return await future
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        except asyncio.TimeoutError:
            if cancel_event is not None:
                cancel_event.set()
            raise RequestTimeout(f"The request took longer than {timeout:g} s; use a batch job "
                                 "for long computations.") from None

    def close(self) -> None:
        self.runner.shutdown()
        self.memory_guard.close()
        for executor in (self.executor, self.tile_executor, self.light_executor):
            executor.shutdown(wait=False, cancel_futures=True)
        if self.config.dask_address:
            from jupyter_eo.backend.engine.compute import close_clients

            close_clients()


def make_app(config: BackendConfig, **settings: Any) -> tornado.web.Application:
    """The openEO API as a tornado Application (served at the root path)."""
    from jupyter_eo.backend.routes import routes

    backend = Backend(config)
    app = tornado.web.Application(routes(backend),
                                  default_handler_class=_default_handler(),
                                  default_handler_args={"backend": backend}, **settings)
    app.settings["jupyter_eo_backend"] = backend
    return app


def _default_handler() -> type:
    from jupyter_eo.backend.handlers.base import NotFoundHandler

    return NotFoundHandler
