"""JobsPanel: a backend's batch jobs with status, progress, logs, downloads and a CubeViewer."""
from __future__ import annotations

import html
import os
import threading
from pathlib import Path
from typing import Any, Callable

import ipywidgets as w

from jupyter_eo.widgets.preview import describe_error
from jupyter_eo.widgets.style import css_style, error_html, muted_html

_FINAL = {"finished", "error", "canceled"}


class JobsPanel(w.VBox):
    """List, start, cancel, delete batch jobs; show logs; download results; open them in a
    CubeViewer. ``auto_refresh`` polls every ``interval`` seconds while jobs are running.

    Downloads go into ``download_dir`` (default: ``jupyter-eo-results/<job id>`` in the kernel's
    working directory, which is the notebook's folder) and are listed as links relative to the
    notebook: the name opens the file in JupyterLab, "download" saves it through the browser.
    """

    def __init__(self, connection: Any, *, interval: float = 3.0, download_dir: str | Path | None = None,
                 **kwargs: Any) -> None:
        self.connection = connection
        self.interval = interval
        self.download_dir = Path(download_dir) if download_dir else None
        self.jobs: list[dict[str, Any]] = []
        self._recipes: dict[str, str] = {}  # job id -> recipe id (how to show its result)
        self._timer: threading.Timer | None = None
        self._callbacks = w.CallbackDispatcher()
        self.select = w.Select(options=[], rows=5, description="Jobs", layout=w.Layout(width="100%"))
        self.refresh_button = w.Button(description="Refresh", icon="refresh")
        self.auto_refresh = w.Checkbox(value=True, description="Auto-refresh", indent=False,
                                       layout=w.Layout(width="auto"))
        self.start_button = w.Button(description="Start", icon="play")
        self.cancel_button = w.Button(description="Cancel", icon="stop")
        self.delete_button = w.Button(description="Delete", icon="trash", button_style="danger")
        self.logs_button = w.Button(description="Logs", icon="list")
        self.download_button = w.Button(description="Download", icon="download")
        self.open_button = w.Button(description="Open in viewer", icon="eye")
        self.progress = w.FloatProgress(value=0, min=0, max=100, description="Progress",
                                        layout=w.Layout(width="100%"))
        self.details = w.HTML()
        self.logs = w.Textarea(disabled=True, layout=w.Layout(width="100%", height="8em", display="none"))
        self.files = w.Output()  # rendered by JupyterLab: relative links resolve to the notebook's folder
        self.files.add_class("jeo-job-files")
        self.viewer_box = w.VBox()
        self.status = w.HTML()
        self.refresh_button.on_click(lambda _: self.refresh())
        self.start_button.on_click(lambda _: self._act(lambda job: job.start(), "started"))
        self.cancel_button.on_click(lambda _: self._act(lambda job: job.stop(), "canceled"))
        self.delete_button.on_click(lambda _: self._act(lambda job: job.delete(), "deleted"))
        self.logs_button.on_click(lambda _: self.show_logs())
        self.download_button.on_click(lambda _: self.download())
        self.open_button.on_click(lambda _: self.open_viewer())
        self.select.observe(lambda _: self._show_selected(), names="value")
        buttons = w.HBox([self.refresh_button, self.auto_refresh, self.start_button, self.cancel_button,
                          self.logs_button, self.download_button, self.open_button, self.delete_button],
                         layout=w.Layout(flex_flow="row wrap"))
        super().__init__([css_style(), self.select, buttons, self.progress, self.details, self.status,
                          self.logs, self.files, self.viewer_box], **kwargs)
        self.add_class("jeo-jobs-panel")

    # -- public API ----------------------------------------------------------------------
    @property
    def selected(self) -> str | None:
        """The selected job id."""
        return self.select.value

    def on_finished(self, callback: Callable[[str], Any], remove: bool = False) -> None:
        """Call ``callback(job_id)`` when a job is seen finished for the first time."""
        self._callbacks.register_callback(callback, remove=remove)

    def submit(self, graph: dict[str, Any], *, title: str = "jupyter_eo job", start: bool = True,
               recipe: str | None = None) -> Any:
        """Create (and start) a batch job for ``graph``; returns the openeo ``BatchJob``.
        ``recipe``: the recipe id whose product the result is (default: the title's first word
        when it names a recipe, as the Explorer's titles do), used to open it in the viewer."""
        job = self.connection.create_job(graph, title=title)
        recipe = recipe or (title.split() or [""])[0]
        self._recipes[job.job_id] = recipe
        if start:
            job.start()
        self.refresh(select=job.job_id)
        return job

    def refresh(self, select: str | None = None) -> None:
        """Reload the job list (keeps or sets the selection)."""
        try:
            jobs = list(self.connection.list_jobs())
        except Exception as exc:
            self.status.value = error_html(f"Cannot list jobs — {describe_error(exc)}")
            return
        before = {j["id"]: j.get("status") for j in self.jobs}
        self.jobs = jobs
        current = select or self.select.value
        self.select.options = [(self._label(j), j["id"]) for j in jobs]
        ids = [j["id"] for j in jobs]
        self.select.value = current if current in ids else (ids[0] if ids else None)
        for job in jobs:
            if job.get("status") == "finished" and before.get(job["id"]) not in (None, "finished"):
                self._callbacks(job["id"])
        self._show_selected()
        self._schedule()

    def show_logs(self) -> None:
        """Show the selected job's logs."""
        job = self._job()
        if job is None:
            return
        try:
            entries = job.logs()
        except Exception as exc:
            self.status.value = error_html(f"Cannot read logs — {describe_error(exc)}")
            return
        self.logs.value = "\n".join(f"[{e.get('level', '')}] {e.get('message', '')}" for e in entries) \
            or "(no log entries)"
        self.logs.layout.display = ""

    def download(self, target: str | Path | None = None) -> list[Path]:
        """Download the selected job's result files into ``target`` (default: ``download_dir``
        or ``jupyter-eo-results/<job id>`` next to the notebook) and list them as links."""
        job = self._job()
        if job is None:
            return []
        target = Path(target or self.download_dir or Path.cwd() / "jupyter-eo-results" / job.job_id)
        try:
            target.mkdir(parents=True, exist_ok=True)
            paths = [Path(p) for p in job.get_results().download_files(target)]
        except Exception as exc:
            self.status.value = error_html(f"Download failed — {describe_error(exc)}")
            return []
        self._show_files(paths)
        self.status.value = muted_html(f"Downloaded {len(paths)} file(s) of job {job.job_id}.")
        return paths

    def _show_files(self, paths: list[Path]) -> None:
        from IPython.display import HTML

        items = []
        here = Path.cwd().resolve()
        for path in paths:
            resolved = path.resolve()
            if resolved == here or here in resolved.parents:
                rel = Path(os.path.relpath(resolved, here)).as_posix()
                href = html.escape("/".join(_quote(part) for part in rel.split("/")), quote=True)
                items.append(f"<li><a href='{href}' title='Open in JupyterLab'><code>{html.escape(rel)}</code></a>"
                             f" · <a href='{href}' download='{html.escape(path.name, quote=True)}'>download</a>"
                             f" <span class='jeo-muted'>({_size(resolved)})</span></li>")
            else:  # outside the notebook's folder: the browser cannot reach it, show the path
                items.append(f"<li><code>{html.escape(str(path))}</code> ({_size(resolved)})</li>")
        self.files.clear_output()
        self.files.append_display_data(HTML("<ul class='jeo-job-file-list'>" + "".join(items) + "</ul>"))

    def open_viewer(self) -> Any:
        """Open the selected finished job's result in a CubeViewer (below the panel)."""
        from jupyter_eo.widgets.cube_viewer import CubeViewer

        job = self._job()
        if job is None:
            return None
        from jupyter_eo.widgets.product_styles import product_name, style_for_recipe_id

        recipe = self._recipes.get(job.job_id) or self._title_recipe(job.job_id)
        try:
            viewer = CubeViewer(job, style=style_for_recipe_id(recipe), band_name=product_name(recipe))
        except Exception as exc:
            self.status.value = error_html(f"Cannot open the result — {describe_error(exc)}")
            return None
        self.viewer_box.children = (viewer,)
        return viewer

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        super().close()

    # -- internals -----------------------------------------------------------------------
    def _title_recipe(self, job_id: str) -> str | None:
        job = next((j for j in self.jobs if j["id"] == job_id), None)
        title = str((job or {}).get("title") or "")
        return title.split()[0] if title.split() else None

    def _job(self) -> Any:
        if not self.select.value:
            self.status.value = error_html("Select a job first.")
            return None
        return self.connection.job(self.select.value)

    def _act(self, action: Callable[[Any], Any], done: str) -> None:
        job = self._job()
        if job is None:
            return
        try:
            action(job)
        except Exception as exc:
            self.status.value = error_html(f"Failed — {describe_error(exc)}")
            return
        self.status.value = muted_html(f"Job {job.job_id} {done}.")
        self.refresh()

    @staticmethod
    def _label(job: dict[str, Any]) -> str:
        progress = job.get("progress")
        extra = f" {progress:.0f}%" if isinstance(progress, (int, float)) and job.get("status") == "running" else ""
        return f"{job.get('title') or job['id']} · {job.get('status', '?')}{extra} · {job.get('created', '')[:19]}"

    def _show_selected(self) -> None:
        job = next((j for j in self.jobs if j["id"] == self.select.value), None)
        if job is None:
            self.details.value = muted_html("No jobs yet.")
            self.progress.value = 0
            return
        status = job.get("status", "?")
        progress = job.get("progress")
        self.progress.value = 100.0 if status == "finished" else float(progress or 0)
        self.progress.bar_style = {"finished": "success", "error": "danger", "canceled": "warning"}.get(status, "info")
        self.details.value = (f"<div class='jeo-card'><b>{html.escape(str(job.get('title') or job['id']))}</b>"
                              f" — {html.escape(status)}<br><span class='jeo-muted'>id {html.escape(job['id'])}, "
                              f"created {html.escape(str(job.get('created', '')))}</span></div>")
        self.start_button.disabled = status not in ("created", "canceled", "error")
        self.cancel_button.disabled = status not in ("queued", "running")
        self.download_button.disabled = self.open_button.disabled = status != "finished"

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        active = any(j.get("status") in ("queued", "running") for j in self.jobs)
        if active and self.auto_refresh.value and self.interval > 0:
            self._timer = threading.Timer(self.interval, self.refresh)
            self._timer.daemon = True
            self._timer.start()


def _quote(part: str) -> str:
    from urllib.parse import quote

    return quote(part)


def _size(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError:
        return "?"
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"
