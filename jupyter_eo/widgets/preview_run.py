"""Preview runs without widgets: debounced, latest-wins scheduling and a low-resolution executor."""
from __future__ import annotations

import copy
import io
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from jupyter_eo.graph.model import normalize_ids

WEB_MERCATOR = 3857
_NO_RESAMPLE: set[int] = set()  # ids of connections whose backend rejected resample_spatial
_GTIFF_OPTIONS: dict[int, dict[str, Any]] = {}  # per connection id: cheap GTiff save options


@dataclass
class PreviewResult:
    """A preview raster: ``data`` (bands, y, x) float, lat/lon ``bounds`` ((south, west), (north, east))."""

    data: np.ndarray
    bounds: tuple[tuple[float, float], tuple[float, float]]
    band_names: list[str] = field(default_factory=list)
    seconds: float = 0.0
    crs: str = "EPSG:3857"
    fallback: str = ""  # why this is not the preview asked for (e.g. no XYZ tiles), if it is not


class Cancelled(Exception):
    """A preview run was superseded by a newer one."""


class CancelToken:
    """``is_cancelled()`` of one run, callable; ``on_cancel(fn)`` registers ``fn`` to run (on the
    cancelling thread, or at once when already cancelled) the moment the run becomes outdated,
    e.g. to abort its HTTP request. It returns a function that unregisters ``fn``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancelled = False
        self._callbacks: list[Callable[[], None]] = []

    def __call__(self) -> bool:
        return self._cancelled

    def on_cancel(self, fn: Callable[[], None]) -> Callable[[], None]:
        with self._lock:
            if not self._cancelled:
                self._callbacks.append(fn)
                return lambda: self._remove(fn)
        fn()
        return lambda: None

    def _remove(self, fn: Callable[[], None]) -> None:
        with self._lock:
            if fn in self._callbacks:
                self._callbacks.remove(fn)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            try:
                fn()
            except Exception:  # noqa: BLE001 - aborting is best effort, never fails the caller
                pass


class PreviewScheduler:
    """Debounce requests and run only the newest: ``request(job)`` restarts a ``delay`` timer;
    when it fires the job runs on a worker thread. A request made while a run is going marks
    that run outdated: its result is dropped (never delivered) and its ``is_cancelled()`` turns
    True so cooperative work can stop; callbacks registered with ``is_cancelled.on_cancel(fn)``
    (a :class:`CancelToken`) run at once, e.g. to abort the run's HTTP request; the newest
    request runs next.

    ``run(job, is_cancelled)`` does the work; ``deliver(result)`` / ``fail(exc)`` get outcomes of
    the newest run only. ``on_state(state)`` reports "waiting", "running", "idle".
    """

    def __init__(self, run: Callable[[Any, Callable[[], bool]], Any], deliver: Callable[[Any], None],
                 fail: Callable[[BaseException], None], *, delay: float = 0.4,
                 on_state: Callable[[str], None] | None = None) -> None:
        self._run, self._deliver, self._fail = run, deliver, fail
        self._on_state = on_state or (lambda state: None)
        self.delay = delay
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._generation = 0
        self._timer: threading.Timer | None = None
        self._pending: tuple[int, Any] | None = None
        self._worker: threading.Thread | None = None
        self._running: CancelToken | None = None
        self.started = 0  # runs started
        self.superseded = 0  # runs whose result was dropped
        self.delivered = 0

    @property
    def busy(self) -> bool:
        with self._lock:
            return self._timer is not None or self._worker is not None or self._pending is not None

    def request(self, job: Any, *, immediate: bool = False) -> None:
        """Schedule ``job``; earlier scheduled or running jobs become outdated."""
        with self._lock:
            self._generation += 1
            generation = self._generation
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            if immediate or self.delay <= 0:
                self._enqueue(generation, job)
            else:
                self._timer = threading.Timer(self.delay, self._fire, (generation, job))
                self._timer.daemon = True
                self._timer.start()
            running = self._running
        if running is not None:
            running.cancel()  # outdated now: abort its request instead of waiting for it
        self._on_state("waiting")

    def cancel(self) -> None:
        """Drop everything scheduled or running (running results are discarded)."""
        with self._lock:
            self._generation += 1
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            self._pending = None
            self._idle.notify_all()
            running = self._running
        if running is not None:
            running.cancel()

    def wait(self, timeout: float | None = 60.0) -> bool:
        """Block until nothing is scheduled or running; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            while self._timer is not None or self._worker is not None or self._pending is not None:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def _fire(self, generation: int, job: Any) -> None:
        with self._lock:
            self._timer = None
            if generation != self._generation:
                self._idle.notify_all()
                return
            self._enqueue(generation, job)

    def _enqueue(self, generation: int, job: Any) -> None:  # lock held
        self._pending = (generation, job)
        if self._worker is None:
            self._worker = threading.Thread(target=self._loop, name="jupyter-eo-preview", daemon=True)
            self._worker.start()

    def _loop(self) -> None:
        while True:
            with self._lock:
                if self._pending is None:
                    self._worker = None
                    self._idle.notify_all()
                    break
                generation, job = self._pending
                self._pending = None
                self.started += 1
                token = self._running = CancelToken()

            self._on_state("running")
            try:
                result, error = self._run(job, token), None
            except BaseException as exc:  # reported inline, never raised into the kernel
                result, error = None, exc
            with self._lock:
                self._running = None
                current = generation == self._generation
                if not current:
                    self.superseded += 1
            if current:
                if error is None:
                    self.delivered += 1
                    self._deliver(result)
                elif not isinstance(error, Cancelled):
                    self._fail(error)
                self._on_state("idle")


def preview_resolution(spatial_extent: dict[str, float], max_pixels: int) -> float:
    """Metres per pixel in Web Mercator so the extent's longer side is ``max_pixels`` wide."""
    from pyproj import Transformer

    to_merc = Transformer.from_crs(4326, WEB_MERCATOR, always_xy=True)
    west, east = spatial_extent["west"], spatial_extent["east"]
    if east < west:
        east += 360.0
    x0, y0 = to_merc.transform(west, max(spatial_extent["south"], -85.0))
    x1, y1 = to_merc.transform(east, min(spatial_extent["north"], 85.0))
    if east > 180:
        x1 += 2 * 20037508.342789244
    return max(abs(x1 - x0), abs(y1 - y0)) / max(1, max_pixels)


def fast_gtiff_options(connection: Any) -> dict[str, Any]:
    """GTiff options that make small previews cheaper, where the backend declares them:
    no compression (loopback/LAN transfer beats DEFLATE time) and float32 values."""
    key = id(connection)
    if key not in _GTIFF_OPTIONS:
        options: dict[str, Any] = {}
        try:
            formats = connection.list_output_formats()  # the client returns the "output" part
            formats = formats.get("output", formats) if isinstance(formats, dict) else {}
            params = (formats.get("GTiff") or {}).get("parameters") or {}
        except Exception:
            params = {}
        if "NONE" in ((params.get("compression") or {}).get("enum") or []):
            options["compression"] = "NONE"
        if "float32" in ((params.get("data_type") or {}).get("enum") or []):
            options["data_type"] = "float32"
        _GTIFF_OPTIONS[key] = options
    return dict(_GTIFF_OPTIONS[key])


def preview_graph(graph: dict[str, Any], spatial_extent: dict[str, float], *, max_pixels: int = 512,
                  push_resample: bool = True, save_format: str = "GTiff",
                  save_options: dict[str, Any] | None = None) -> dict[str, Any]:
    """The graph made cheap: each ``load_collection`` is followed by ``resample_spatial`` to Web
    Mercator at a resolution giving ``max_pixels`` on the longer side; ends in ``save_result``."""
    graph = copy.deepcopy(graph)
    for node in graph.values():
        node.pop("result", None)
    result_ids = _sinks(graph)
    if push_resample:
        resolution = preview_resolution(spatial_extent, max_pixels)
        loads = [nid for nid, node in graph.items() if node["process_id"] in ("load_collection", "load_stac")]
        for load in loads:
            new_id = f"{load}_preview"
            for node in graph.values():
                _replace_refs(node["arguments"], load, new_id)
            graph[new_id] = {"process_id": "resample_spatial", "arguments": {
                "data": {"from_node": load}, "resolution": resolution, "projection": WEB_MERCATOR,
                "method": "near", "align": "upper-left"}}
    if graph[result_ids[-1]]["process_id"] != "save_result":
        graph["preview_save"] = {"process_id": "save_result",
                                 "arguments": {"data": {"from_node": result_ids[-1]}, "format": save_format,
                                               "options": dict(save_options or {})}}
        graph["preview_save"]["result"] = True
    else:
        graph[result_ids[-1]]["result"] = True
    return normalize_ids(graph)


def _sinks(graph: dict[str, Any]) -> list[str]:
    used: set[str] = set()
    for node in graph.values():
        _collect_refs(node["arguments"], used)
    return [nid for nid in graph if nid not in used]


def _collect_refs(value: Any, out: set[str]) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "process_graph" in item:
                continue
            if set(item) == {"from_node"}:
                out.add(item["from_node"])
            else:
                stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _replace_refs(value: Any, old: str, new: str) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if "process_graph" in item:
                continue
            for key, inner in item.items():
                if isinstance(inner, dict) and set(inner) == {"from_node"} and inner["from_node"] == old:
                    item[key] = {"from_node": new}
                else:
                    stack.append(inner)
        elif isinstance(item, list):
            for i, inner in enumerate(item):
                if isinstance(inner, dict) and set(inner) == {"from_node"} and inner["from_node"] == old:
                    item[i] = {"from_node": new}
                else:
                    stack.append(inner)


def read_geotiff(payload: bytes) -> PreviewResult:
    """Decode a GeoTIFF result into a PreviewResult with lat/lon bounds."""
    import rasterio
    from rasterio.warp import transform_bounds

    with rasterio.MemoryFile(payload) as memfile, memfile.open() as src:
        data = src.read(masked=True).astype("float64").filled(np.nan)
        west, south, east, north = transform_bounds(src.crs, 4326, *src.bounds) if src.crs else src.bounds
        names = [d or f"band {i + 1}" for i, d in enumerate(src.descriptions)]
        crs = src.crs.to_string() if src.crs else ""
    return PreviewResult(data=data, bounds=((south, west), (north, east)), band_names=names, crs=crs)


def native_pixels(spatial_extent: dict[str, float], resolution_m: float) -> float:
    """Pixels along the longer side of the extent at a native ground resolution (metres)."""
    west, east = spatial_extent["west"], spatial_extent["east"]
    if east < west:
        east += 360.0
    mid_lat = math.radians((spatial_extent["south"] + spatial_extent["north"]) / 2)
    width = (east - west) * 111_320.0 * math.cos(mid_lat)
    height = (spatial_extent["north"] - spatial_extent["south"]) * 110_574.0
    return max(width, height) / resolution_m


def native_resolution(meta: dict[str, Any]) -> float | None:
    """The finest ground resolution (metres) a collection states (band ``gsd`` or x step)."""
    gsds = [b.get("gsd") for b in (meta.get("summaries") or {}).get("eo:bands") or []
            if isinstance(b, dict) and isinstance(b.get("gsd"), (int, float)) and b["gsd"] > 0]
    if gsds:
        return float(min(gsds))
    x = (meta.get("cube:dimensions") or {}).get("x") or {}
    step = x.get("step")
    if isinstance(step, (int, float)) and step > 0:
        return float(step) * 111_320.0 if step < 0.5 else float(step)
    return None


def run_preview(connection: Any, graph: dict[str, Any], spatial_extent: dict[str, float], *,
                max_pixels: int = 512, is_cancelled: Callable[[], bool] = lambda: False,
                resolution_m: float | None = None) -> PreviewResult:
    """Execute a low-resolution GeoTIFF of ``graph`` through ``connection`` (synchronous).

    With ``resolution_m`` (the collection's native resolution) the graph is only resampled
    when the AOI has more than ``max_pixels`` (+25 %) native pixels across: small AOIs are
    previewed exactly at full resolution, which is also cheaper than reprojecting them.
    """
    start = time.perf_counter()
    push = id(connection) not in _NO_RESAMPLE
    if push and resolution_m and native_pixels(spatial_extent, resolution_m) <= 1.25 * max_pixels:
        push = False
    options = fast_gtiff_options(connection)
    cheap = preview_graph(graph, spatial_extent, max_pixels=max_pixels, push_resample=push,
                          save_options=options)
    if is_cancelled():
        raise Cancelled()
    try:
        payload = download_cancellable(connection, cheap, is_cancelled)
    except Exception as exc:
        if not (push and "resample_spatial" in str(exc) and getattr(exc, "code", "") in
                ("ProcessUnsupported", "ProcessParameterUnsupported", "ProcessParameterInvalid")):
            raise
        _NO_RESAMPLE.add(id(connection))  # backend cannot resample: full resolution from now on
        cheap = preview_graph(graph, spatial_extent, max_pixels=max_pixels, push_resample=False,
                              save_options=options)
        if is_cancelled():
            raise Cancelled()
        payload = download_cancellable(connection, cheap, is_cancelled)
    if is_cancelled():
        raise Cancelled()
    result = read_geotiff(payload if isinstance(payload, (bytes, bytearray)) else io.BytesIO(payload).read())
    result.seconds = time.perf_counter() - start
    return result


def call_cancellable(connection: Any, call: Callable[[Any], Any],
                     is_cancelled: Callable[[], bool]) -> Any:
    """``call(connection)``; when ``is_cancelled`` is a :class:`CancelToken` and the connection an
    ``openeo`` one, cancelling aborts the HTTP request (the backend sees the client go away and
    stops computing) and this raises :class:`Cancelled`."""
    from jupyter_eo.widgets.abortable import AbortHandle, abortable_call, supports_abort

    on_cancel = getattr(is_cancelled, "on_cancel", None)
    if on_cancel is None or not supports_abort(connection):
        return call(connection)
    handle = AbortHandle()
    unregister = on_cancel(handle.abort)
    try:
        return abortable_call(connection, call, handle)
    except Exception:
        if handle.aborted:
            raise Cancelled() from None
        raise
    finally:
        unregister()


def download_cancellable(connection: Any, graph: dict[str, Any],
                         is_cancelled: Callable[[], bool]) -> Any:
    """``connection.download(graph)`` that a newer preview can abort (see :func:`call_cancellable`)."""
    return call_cancellable(connection, lambda con: con.download(graph), is_cancelled)


def is_timeseries(graph: dict[str, Any]) -> bool:
    """True when the graph ends in a vector cube (aggregate_spatial) rather than a raster."""
    return any(node["process_id"] == "aggregate_spatial" for node in graph.values())


def mercator_span(bounds: tuple[tuple[float, float], tuple[float, float]]) -> float:
    """Width of lat/lon bounds in degrees (for tests/diagnostics)."""
    (south, west), (north, east) = bounds
    return math.hypot(east - west, north - south)
