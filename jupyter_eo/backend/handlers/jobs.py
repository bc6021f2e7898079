"""Batch jobs: CRUD, start/cancel, STAC results with ranged asset downloads, logs, estimates."""
from __future__ import annotations

import os
from typing import Any

import tornado.web

from jupyter_eo.backend.handlers.base import BaseHandler, OpenEOMixin
from jupyter_eo.backend.handlers.processes import process_graph_of
from jupyter_eo.backend.limits import check_graph, estimate_pixels
from jupyter_eo.errors import NotFound, OpenEOError

SUMMARY_FIELDS = ("id", "title", "description", "status", "progress", "created", "updated",
                  "plan", "budget", "usage")


def job_summary(job: dict[str, Any]) -> dict[str, Any]:
    out = {k: job[k] for k in SUMMARY_FIELDS if job.get(k) is not None}
    out["costs"] = 0
    return out


class JobsHandler(BaseHandler):
    def get(self) -> None:
        jobs, links = self.page(self.backend.jobs.list(self.user), "jobs")
        self.write_json({"jobs": [job_summary(j) for j in jobs], "links": links})

    async def post(self) -> None:
        user = self.user
        body = await self.json_object()
        pg = process_graph_of(body)
        await self.backend.run_sync(check_graph, pg, self.backend.config.limits,
                                    pool="light")
        process = dict(body["process"])
        job = self.backend.jobs.create(
            user, process, title=_opt_str(body, "title"), description=_opt_str(body, "description"),
            plan=_opt_str(body, "plan"), budget=body.get("budget") if isinstance(
                body.get("budget"), (int, float)) else None,
            log_level=_log_level(body.get("log_level")))
        self.set_header("Location", self.url(f"jobs/{job['id']}"))
        self.set_header("OpenEO-Identifier", job["id"])
        self.set_status(201)
        self.finish()


def _opt_str(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise OpenEOError(f"'{key}' must be a string.", code="BadRequest", status=400)
    return value


def _log_level(value: Any) -> str:
    if value is None:
        return "info"
    if value not in ("debug", "info", "warning", "error"):
        raise OpenEOError("log_level must be one of debug, info, warning, error.",
                          code="BadRequest", status=400)
    return value


class JobHandler(BaseHandler):
    def get(self, job_id: str) -> None:
        job = self.backend.jobs.get(self.user, job_id)
        out = job_summary(job)
        out["process"] = job["process"]
        out["log_level"] = job.get("log_level") or "info"
        self.write_json(out)

    async def patch(self, job_id: str) -> None:
        user = self.user
        body = await self.json_object()
        changes: dict[str, Any] = {}
        for key in ("title", "description", "plan"):
            if key in body:
                changes[key] = _opt_str(body, key)
        if "budget" in body:
            changes["budget"] = body["budget"]
        if "log_level" in body:
            changes["log_level"] = _log_level(body["log_level"])
        if "process" in body:
            pg = process_graph_of(body)
            await self.backend.run_sync(check_graph, pg, self.backend.config.limits,
                                    pool="light")
            changes["process"] = body["process"]
        if not changes:
            raise OpenEOError("No data specified to be updated.", code="NoDataForUpdate",
                              status=400)
        self.backend.jobs.update(user, job_id, **changes)
        self.set_status(204)
        self.finish()

    def delete(self, job_id: str) -> None:
        user = self.user
        self.backend.runner.cancel(user, job_id)
        self.backend.jobs.delete(user, job_id)
        self.set_status(204)
        self.finish()


class JobResultsHandler(BaseHandler):
    def post(self, job_id: str) -> None:
        self.backend.runner.start(self.user, job_id)
        self.set_status(202)
        self.finish()

    def delete(self, job_id: str) -> None:
        self.backend.runner.cancel(self.user, job_id)
        self.set_status(204)
        self.finish()

    def get(self, job_id: str) -> None:
        user = self.user
        job = self.backend.jobs.get(user, job_id)
        assets_meta = self.backend.jobs.result_files(user, job_id)
        self.write_json(self.stac_item(job, assets_meta))

    def stac_item(self, job: dict[str, Any], files: list[dict[str, Any]]) -> dict[str, Any]:
        job_id = job["id"]
        assets: dict[str, Any] = {}
        bbox = None
        props: dict[str, Any] = {"created": job["created"], "updated": job["updated"]}
        for entry in files:
            meta = entry.get("metadata") or {}
            asset: dict[str, Any] = {
                "href": self.url(f"jobs/{job_id}/results/assets/{entry['file']}"),
                "type": entry["type"], "roles": ["data"], "title": entry["name"],
                "file:size": entry.get("size")}
            if meta.get("bands"):
                asset["eo:bands"] = [{"name": b} for b in meta["bands"]]
                asset["bands"] = [{"name": b} for b in meta["bands"]]
            for key in ("proj:epsg", "proj:bbox", "proj:shape"):
                if meta.get(key) is not None:
                    asset[key] = meta[key]
            assets[entry["name"]] = asset
            bbox = bbox or meta.get("bbox")
            for key in ("start_datetime", "end_datetime", "datetime"):
                if meta.get(key) is not None:
                    props[key] = meta[key]
        if "datetime" not in props:
            props["datetime"] = None if "start_datetime" in props else job["created"]
        if job.get("title"):
            props["title"] = job["title"]
        if job.get("description"):
            props["description"] = job["description"]
        item: dict[str, Any] = {
            "stac_version": "1.0.0",
            "stac_extensions": [
                "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
                "https://stac-extensions.github.io/file/v2.1.0/schema.json",
                "https://stac-extensions.github.io/projection/v1.1.0/schema.json"],
            "type": "Feature", "id": job_id, "properties": props, "assets": assets,
            "geometry": None, "openeo:status": job["status"],
            "links": [{"rel": "self", "href": self.url(f"jobs/{job_id}/results"),
                       "type": "application/geo+json"}]}
        if bbox:
            w, s, e, n = bbox
            item["bbox"] = bbox
            item["geometry"] = {"type": "Polygon", "coordinates": [
                [[w, s], [e, s], [e, n], [w, n], [w, s]]]}
        return item


class JobAssetHandler(OpenEOMixin, tornado.web.StaticFileHandler):
    """A result file, with HEAD and Range support (tornado's static file machinery)."""

    def initialize(self, backend: Any, methods: tuple[str, ...] = (),  # type: ignore[override]
                   **kwargs: Any) -> None:
        self.backend = backend
        self.route_methods = methods
        tornado.web.StaticFileHandler.initialize(self, path="/")

    async def get(self, job_id: str, name: str, include_body: bool = True) -> None:  # type: ignore[override]
        user = self.user
        files = self.backend.jobs.result_files(user, job_id)
        entry = next((f for f in files if f["file"] == name), None)
        if entry is None:
            raise NotFound(f"Job {job_id[:60]!r} has no result asset {name[:100]!r}.")
        self.root = str(self.backend.jobs.results_dir(user, job_id))
        self._asset_type = entry["type"]
        await super().get(name, include_body=include_body)

    async def head(self, job_id: str, name: str) -> None:  # type: ignore[override]
        await self.get(job_id, name, include_body=False)

    def get_content_type(self) -> str:
        return getattr(self, "_asset_type", None) or super().get_content_type()

    @classmethod
    def get_content_version(cls, abspath: str) -> str:
        stat = os.stat(abspath)
        return f"{stat.st_mtime_ns}-{stat.st_size}"

    def set_extra_headers(self, path: str) -> None:
        self.set_header("Cache-Control", "private, no-cache")


class JobLogsHandler(BaseHandler):
    def get(self, job_id: str) -> None:
        user = self.user
        level = self.get_query_argument("level", None)
        offset = self.get_query_argument("offset", None)
        try:
            limit = int(self.get_query_argument("limit", "0")) or None
        except ValueError:
            limit = None
        logs = self.backend.jobs.logs(user, job_id, offset=offset, level=level, limit=limit)
        links = [{"rel": "self", "href": self.url(f"jobs/{job_id}/logs"),
                  "type": "application/json"}]
        if limit and len(logs) == limit:
            links.append({"rel": "next", "type": "application/json", "href": self.url(
                f"jobs/{job_id}/logs?offset={logs[-1]['id']}&limit={limit}")})
        job = self.backend.jobs.get(user, job_id)
        self.write_json({"level": level or job.get("log_level") or "info", "logs": logs,
                         "links": links})


class JobEstimateHandler(BaseHandler):
    async def get(self, job_id: str) -> None:
        job = self.backend.jobs.get(self.user, job_id)
        pg = job["process"]["process_graph"]
        backend = self.backend
        graphs = await backend.run_sync(check_graph, pg, backend.config.limits,
                                    pool="light")
        pixels = await backend.run_sync(estimate_pixels, graphs, backend.catalog, pool="light")
        seconds = max(1, int(pixels / 50_000_000))
        self.write_json({"costs": 0, "duration": f"PT{seconds}S", "size": int(pixels * 4)})
