"""Fused block plans: a loaded cube plus elementwise/band/temporal steps run per spatial block."""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import numpy as np
import xarray as xr

from jupyter_eo.backend.cube import BANDS, T, X, Y

# per-run hooks looked up by token inside block functions (absent on remote dask workers)
_HOOKS: dict[str, tuple[Callable[[], None] | None, Callable[[], None] | None]] = {}
_TOKENS = itertools.count()
ROW_STEP_BYTES = 256 << 10  # rows processed at once inside a block: ~256 KiB per temporary
BLOCK_ROW_BYTES = 1 << 20  # rows of one block (dask task) of an in-memory source: ~1 MiB
BLOCK_SLAB_BYTES = 64 << 20  # largest raw input slab (t x bands x y x x) one block may read
FUSION_ENABLED = True  # False: processes see plain (lazy) DataArrays only; for equivalence tests


def compute_dtype(dtype: np.dtype) -> np.dtype:
    """The float type pixels are computed in: float32 for small ints/float32, else float64."""
    dtype = np.dtype(dtype)
    if dtype == np.float32 or (dtype.kind in "iub" and dtype.itemsize <= 2):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


@dataclass(frozen=True)
class BlockSpec:
    """Everything a block function needs; small and picklable (sent to dask workers)."""

    t_index: tuple[int, ...] | None  # None: every step of the slab
    band_index: tuple[int, ...]
    band_labels: tuple[str, ...]
    nodata: float | None
    dtype: str
    pre: tuple[tuple[Any, ...], ...]   # steps per time step
    reduce: tuple[str, bool] | None    # temporal reducer (name, ignore_nodata)
    post: tuple[tuple[Any, ...], ...]  # steps after the temporal reduction
    out_dtype: str
    hook: str = ""
    groups: tuple[tuple[int, ...], ...] | None = None  # aggregate_temporal*: steps per label


def probe_dtype(steps: tuple[tuple[Any, ...], ...], dtype: Any,
                band_labels: tuple[str, ...] | None) -> np.dtype:
    """The dtype ``steps`` produce from blocks of ``dtype`` (run once on a tiny probe block).

    numpy's result types depend on dtypes, not values, so the probe gives the dtype every
    block will have. A step that raises or gives no 2-D block is not fusable.
    """
    from jupyter_eo.backend.engine.kernels import Unsupported

    probe = np.array([[np.nan, 1.0, 0.0]]).astype(dtype)
    value: Any = [probe.copy() for _ in band_labels] if band_labels is not None else probe
    try:
        with np.errstate(all="ignore"):
            out = _apply_steps(value, steps)
    except Exception as exc:  # noqa: BLE001 - the general path reports it
        raise Unsupported(f"probe failed: {exc}") from exc
    items = out if isinstance(out, list) else [out]
    if not items or any(not isinstance(i, np.ndarray) or i.shape != probe.shape
                        for i in items):
        raise Unsupported("a fused step did not give a block")
    kinds = {i.dtype for i in items}
    if len(kinds) != 1:
        raise Unsupported("bands of different dtypes")
    return kinds.pop()


def _bands_after(labels: tuple[str, ...] | None, steps: tuple[tuple[Any, ...], ...]
                 ) -> tuple[str, ...] | None:
    for step in steps:
        if step[0] == "reduce_bands":
            labels = None
        elif step[0] == "append_band":
            labels = (*labels, step[2])
        elif step[0] == "select":
            labels = tuple(step[2])
    return labels


def _apply_steps(value: Any, steps: tuple[tuple[Any, ...], ...]) -> Any:
    """Run fused steps on one time step: ``value`` is a list of band blocks or one block."""
    skip = False
    for i, step in enumerate(steps):
        if skip:
            skip = False
            continue
        kind, fn = step[0], step[1]
        if kind == "apply":
            value = [fn(v) for v in value] if isinstance(value, list) else fn(value)
        elif kind == "reduce_bands":
            value = fn(value)
        elif kind == "append_band":
            value = [*value, fn(value)]
        elif kind == "select":  # filter_bands after other steps: fn is the index list
            value = [value[i] for i in fn]
        elif kind == "mask_where":  # mask(): fn computes the condition from the same values
            from jupyter_eo.backend.processes.cubes_mask import truthy

            hit = truthy(np.asarray(fn(value)))
            repl = np.nan if step[2] is None else step[2]
            if isinstance(value, list):
                follow = steps[i + 1] if i + 1 < len(steps) else None
                if follow is not None and follow[0] == "select":  # filter_bands next: mask
                    value, skip = [value[k] for k in follow[1]], True  # only the kept bands
                value = [np.where(hit, repl, v) for v in value]
            else:
                value = np.where(hit, repl, value)
    return value


def _read(slab: np.ndarray, ti: int, bands: tuple[int, ...], rows: slice, spec: BlockSpec,
          mask: np.ndarray | None = None) -> list[np.ndarray]:
    """Band blocks of one time step as floats with no-data (and masked pixels) as NaN."""
    out = []
    dtype = np.dtype(spec.dtype)
    nodata = spec.nodata
    if nodata is not None and math_isnan(nodata):
        nodata = None
    keep = None if mask is None else mask[rows]
    for bi in bands:
        raw = slab[ti, bi, rows]
        block = raw.astype(dtype, copy=False)
        if nodata is not None:
            if block is raw:
                block = np.where(raw == nodata, np.nan, raw).astype(dtype, copy=False)
            else:
                np.copyto(block, np.nan, where=raw == nodata)
        if keep is not None:
            block = np.where(keep, block, np.nan).astype(dtype, copy=False)
        out.append(block)
    return out


def math_isnan(value: float) -> bool:
    return value != value


def _t_steps(slab: np.ndarray, spec: BlockSpec) -> Any:
    return spec.t_index if spec.t_index is not None else range(slab.shape[0])


def _group_map(spec: BlockSpec) -> dict[int, list[int]]:
    """Position in the selected time steps -> the groups (output steps) it belongs to."""
    mapping: dict[int, list[int]] = {}
    for gid, members in enumerate(spec.groups or ()):
        for pos in members:
            mapping.setdefault(pos, []).append(gid)
    return mapping


def fold_block(state: dict | None, slab: np.ndarray, mask: np.ndarray | None = None, *,
               spec: BlockSpec, offset: int = 0) -> dict:
    """Fold the time steps of ``slab`` into running accumulators (per row step and group).

    ``offset`` is the position of the slab's first step among all selected steps (dask
    sources fold chunk by chunk); without ``spec.groups`` every step goes to group 0.
    """
    from jupyter_eo.backend.engine.kernels import Accumulator

    cancel, _ = _HOOKS.get(spec.hook, (None, None))
    if cancel is not None:
        cancel()
    slab = np.asarray(slab)
    mask = None if mask is None else np.asarray(mask)
    ny, nx = slab.shape[-2:]
    state = {"shape": (ny, nx), "n": {}, "accs": {}} if state is None else state
    groups = _group_map(spec) if spec.groups is not None else None
    step = max(1, ROW_STEP_BYTES // max(1, nx * 4))
    steps = list(enumerate(_t_steps(slab, spec), start=offset))
    if groups is not None:
        steps = [(pos, ti) for pos, ti in steps if pos in groups]
    for r0 in range(0, ny, step):
        rows = slice(r0, min(ny, r0 + step))
        for pos, ti in steps:
            value = _apply_steps(_read(slab, ti, spec.band_index, rows, spec, mask), spec.pre)
            items = value if isinstance(value, list) else [value]
            for gid in (groups[pos] if groups is not None else (0,)):
                key = (r0, gid)
                accs = state["accs"].get(key)
                if accs is None:
                    accs = state["accs"][key] = [Accumulator(*spec.reduce) for _ in items]
                for acc, item in zip(accs, items):
                    acc.add(item)
    for pos, _ in steps:
        for gid in (groups[pos] if groups is not None else (0,)):
            state["n"][gid] = state["n"].get(gid, 0) + 1
    return state


def finish_block(state: dict, *, spec: BlockSpec) -> np.ndarray:
    """The reduced block from folded accumulators, with the post-reduction steps applied."""
    ny, nx = state["shape"]
    bands_mid = _bands_after(spec.band_labels, spec.pre)
    out_bands = _bands_after(bands_mid, spec.post)
    ngroups = len(spec.groups) if spec.groups is not None else None
    shape = ((ngroups,) if ngroups is not None else ()) + \
        ((len(out_bands),) if out_bands is not None else ()) + (ny, nx)
    out = np.empty(shape, dtype=spec.out_dtype)
    empty = 0 if spec.reduce[0] == "count" else np.nan
    step = max(1, ROW_STEP_BYTES // max(1, nx * 4))
    for r0 in range(0, ny, step):
        rows = slice(r0, min(ny, r0 + step))
        for gid in range(ngroups or 1):
            target = out[gid] if ngroups is not None else out
            accs = state["accs"].get((r0, gid))
            if accs is None:  # no time steps in this group: the reducer's value of nothing
                items = len(bands_mid) if bands_mid is not None else 1
                shape2d = (rows.stop - rows.start, nx)
                reduced = [np.full(shape2d, empty, dtype=np.int64 if empty == 0 else
                                   np.dtype(spec.dtype)) for _ in range(items)]
            else:
                reduced = [acc.result(state["n"][gid]) for acc in accs]
            value = reduced if bands_mid is not None else reduced[0]
            _store(target, _apply_steps(value, spec.post), rows)
    _, done = _HOOKS.get(spec.hook, (None, None))
    if done is not None:
        done()
    return out


def run_block(slab: np.ndarray, mask: np.ndarray | None = None, *,
              spec: BlockSpec) -> np.ndarray:
    """Compute one spatial block from its raw input slab ``(t, bands, y, x)``."""
    if spec.reduce is not None:
        return finish_block(fold_block(None, slab, mask, spec=spec), spec=spec)
    cancel, done = _HOOKS.get(spec.hook, (None, None))
    if cancel is not None:
        cancel()
    slab = np.asarray(slab)
    mask = None if mask is None else np.asarray(mask)
    ny, nx = slab.shape[-2:]
    out_bands = _bands_after(_bands_after(spec.band_labels, spec.pre), spec.post)
    steps = _t_steps(slab, spec)
    shape = (len(steps),) + ((len(out_bands),) if out_bands is not None else ()) + (ny, nx)
    out = np.empty(shape, dtype=spec.out_dtype)
    step = max(1, ROW_STEP_BYTES // max(1, nx * 4))
    for r0 in range(0, ny, step):
        rows = slice(r0, min(ny, r0 + step))
        for k, ti in enumerate(steps):
            value = _apply_steps(_read(slab, ti, spec.band_index, rows, spec, mask), spec.pre)
            _store(out[k], _apply_steps(value, spec.post), rows)
    if done is not None:
        done()
    return out


def _store(target: np.ndarray, value: Any, rows: slice) -> None:
    if isinstance(value, list):
        for b, item in enumerate(value):
            target[b, rows] = item
    else:
        target[rows] = value


@dataclass
class BlockPlan:
    """A lazily loaded cube and fused steps; ``to_dataarray()`` gives a dask-backed cube."""

    source: xr.DataArray              # (t, bands, y, x) raw values
    nodata: float | None
    t_index: tuple[int, ...]
    band_index: tuple[int, ...]
    band_labels: tuple[str, ...]
    pre: tuple[tuple[Any, ...], ...] = ()
    reduce: tuple[str, bool] | None = None
    post: tuple[tuple[Any, ...], ...] = ()
    dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float32))
    out_dtype: np.dtype = field(default_factory=lambda: np.dtype(np.float32))
    hooks: tuple[Callable[[], None] | None, Callable[[float], None] | None] = (None, None)
    mask: np.ndarray | None = None    # (y, x) booleans on the source grid; False -> no-data
    # (load(resolution, crs) -> BlockPlan, the source it produced): lets resample_spatial read
    # straight at the target grid while the source is still the unmodified loaded one
    reload: tuple[Callable[..., Any], Any] | None = None
    groups: tuple[tuple[int, ...], ...] | None = None  # grouped temporal reduction
    group_labels: tuple[Any, ...] = ()
    _cached: xr.DataArray | None = None

    @classmethod
    def from_cube(cls, cube: xr.DataArray) -> "BlockPlan":
        nodata = cube.attrs.get("nodata")
        dtype = compute_dtype(cube.dtype)
        return cls(cube, None if nodata is None else float(nodata),
                   tuple(range(cube.sizes[T])), tuple(range(cube.sizes[BANDS])),
                   tuple(str(b) for b in cube.coords[BANDS].values), dtype=dtype, out_dtype=dtype)

    # -- state -------------------------------------------------------------------------------
    @property
    def bands(self) -> tuple[str, ...] | None:
        """Current band labels (None once the band dimension was reduced)."""
        return _bands_after(_bands_after(self.band_labels, self.pre), self.post)

    @property
    def has_t(self) -> bool:
        return self.reduce is None

    @property
    def t_out(self) -> int | None:
        """Length of the output time dimension (None when time was reduced away)."""
        if self.reduce is None:
            return len(self.t_index)
        return len(self.groups) if self.groups is not None else None

    @property
    def dims(self) -> tuple[str, ...]:
        return ((T,) if self.t_out is not None else ()) + \
            ((BANDS,) if self.bands is not None else ()) + (Y, X)

    def with_step(self, step: tuple[Any, ...]) -> "BlockPlan":
        """The plan with one more fused step; its output dtype is what the step's process
        functions give on blocks (raises ``Unsupported`` if they give no block)."""
        if self.reduce is None:
            plan = replace(self, pre=(*self.pre, step), _cached=None)
            return replace(plan, out_dtype=probe_dtype(plan.pre, plan.dtype, plan.band_labels))
        plan = replace(self, post=(*self.post, step), _cached=None)
        reduced = self.reduced_dtype()
        return replace(plan, out_dtype=probe_dtype(plan.post, reduced, _bands_after(
            plan.band_labels, plan.pre)))

    def reduced_dtype(self) -> np.dtype:
        """dtype of the temporal reducer's result (before the post-reduction steps)."""
        if self.reduce is not None and self.reduce[0] == "count":
            return np.dtype(np.int64)
        return np.dtype(self.dtype) if not self.pre else \
            probe_dtype(self.pre, self.dtype, self.band_labels)

    def can_reload(self) -> bool:
        """True while only band/time selections were applied to the loaded cube."""
        return (self.reload is not None and self.reload[1] is self.source and not self.pre
                and not self.post and self.reduce is None and self.mask is None)

    def with_mask(self, keep: np.ndarray) -> "BlockPlan":
        """Set pixels where ``keep`` is False to no-data (only before a temporal reduction)."""
        keep = np.asarray(keep, dtype=bool)
        mask = keep if self.mask is None else (self.mask & keep)
        return replace(self, mask=mask, _cached=None)

    def with_groups(self, reducer: str, ignore_nodata: bool,
                    groups: list[list[int]], labels: list[Any]) -> "BlockPlan":
        """aggregate_temporal*: reduce the selected steps of each group to one labelled step."""
        plan = self.with_reduce(reducer, ignore_nodata)
        return replace(plan, groups=tuple(tuple(g) for g in groups),
                       group_labels=tuple(labels))

    def with_reduce(self, reducer: str, ignore_nodata: bool) -> "BlockPlan":
        from jupyter_eo.backend.engine.kernels import Unsupported

        if np.dtype(self.out_dtype) != np.dtype(self.dtype):
            # the accumulators fold float blocks of the compute type; booleans or integers
            # (e.g. is_valid, if with integer values) go through the general reducers
            raise Unsupported(f"temporal {reducer} of {np.dtype(self.out_dtype)} values")
        out = np.dtype(np.int64) if reducer == "count" else self.out_dtype
        return replace(self, reduce=(reducer, ignore_nodata), out_dtype=out, _cached=None)

    # -- materialisation ---------------------------------------------------------------------
    def to_dataarray(self) -> xr.DataArray:
        """The plan as a lazy cube: one dask task per spatial block running :func:`run_block`."""
        if self._cached is not None:
            return self._cached
        src = self.source
        t_index, band_index = self.t_index, self.band_index
        data = src.data
        token = f"jeo-{next(_TOKENS)}"
        if hasattr(data, "dask"):
            arr = _dask_source_array(self, data, token)
        else:
            rows = _rows_per_block(data.shape, len(t_index), len(band_index))
            ny = data.shape[2]
            row_chunks = tuple(min(rows, ny - r) for r in range(0, ny, rows))
            col_chunks = (data.shape[3],)
            cancel, progress = self.hooks
            _register_hooks(token, cancel, progress, len(row_chunks) * len(col_chunks))
            spec = _spec(self, t_index, band_index, token)
            lead = ([(self.t_out,)] if self.t_out is not None else []) + \
                ([(len(self.bands),)] if self.bands is not None else [])
            arr = _numpy_source_array(data, spec, tuple(lead) + (row_chunks, col_chunks),
                                      f"jeo-fused-{token}", self.out_dtype, self.mask)
        bands = self.bands
        coords: dict[str, Any] = {Y: src.coords[Y].values, X: src.coords[X].values}
        if self.reduce is None:
            coords[T] = src.coords[T].values[list(self.t_index)]
        elif self.groups is not None:
            coords[T] = list(self.group_labels)
        if bands is not None:
            coords[BANDS] = list(bands)
        for name, coord in src.coords.items():
            if name not in (T, BANDS, Y, X) and not set(coord.dims) - {Y, X}:
                coords[name] = coord
        cube = xr.DataArray(arr, dims=self.dims, coords=coords,
                            attrs={k: v for k, v in src.attrs.items() if k != "nodata"})
        self._cached = cube
        return cube


def _spec(plan: "BlockPlan", t_index: tuple[int, ...] | None, band_index: tuple[int, ...],
          token: str) -> BlockSpec:
    return BlockSpec(t_index, band_index, plan.band_labels, plan.nodata, plan.dtype.str,
                     plan.pre, plan.reduce, plan.post, np.dtype(plan.out_dtype).str, hook=token,
                     groups=plan.groups)


def _dask_source_array(plan: "BlockPlan", data: Any, token: str) -> Any:
    """Fused blocks over a dask source: per source chunk, time folded chunk by chunk."""
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    data = data[_as_index(plan.t_index)][:, _as_index(plan.band_index)]
    data = data.rechunk({1: -1})
    if plan.reduce is not None and len(data.chunks[0]) > 1 and _slab_bytes(data) \
            <= BLOCK_SLAB_BYTES:
        data = data.rechunk({0: -1})  # small enough: one task per block reads all steps
    band_index = tuple(range(len(plan.band_index)))
    spec = _spec(plan, None, band_index, token)
    rows, cols = data.chunks[2], data.chunks[3]
    cancel, progress = plan.hooks
    _register_hooks(token, cancel, progress, len(rows) * len(cols) *
                    (1 if plan.reduce is not None else len(data.chunks[0])))
    bands = plan.bands
    mask = None if plan.mask is None else da.from_array(plan.mask, chunks=(rows, cols),
                                                        name=f"jeo-mask-{token}")
    name = f"jeo-fused-{token}"
    if plan.reduce is None:
        lead = [data.chunks[0]] + ([(len(bands),)] if bands is not None else [])
        kwargs: dict[str, Any] = {} if bands is not None else {"drop_axis": [1]}
        inputs = [data] + ([mask] if mask is not None else [])
        return da.map_blocks(run_block, *inputs, spec=spec, dtype=plan.out_dtype,
                             chunks=tuple(lead) + (rows, cols), name=name, **kwargs)
    lead_key = ((0,) if plan.groups is not None else ()) + ((0,) if bands is not None else ())
    dsk: dict[Any, Any] = {}
    for i in range(len(rows)):
        for j in range(len(cols)):
            prev = None
            mask_key = (mask.name, i, j) if mask is not None else None
            offset = 0
            for k, size in enumerate(data.chunks[0]):
                key = (f"{name}-fold", k, i, j)
                dsk[key] = (_fold_task, prev, (data.name, k, 0, i, j), mask_key, spec, offset)
                prev = key
                offset += size
            dsk[(name, *lead_key, i, j)] = (_finish_task, prev, spec)
    deps = [data] + ([mask] if mask is not None else [])
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=deps)
    chunks = (((len(plan.groups),),) if plan.groups is not None else ()) + \
        (((len(bands),),) if bands is not None else ()) + (rows, cols)
    return da.Array(graph, name, chunks=chunks, dtype=plan.out_dtype)


def _fold_task(state: dict | None, slab: Any, mask: Any, spec: BlockSpec, offset: int) -> dict:
    return fold_block(state, slab, mask, spec=spec, offset=offset)


def _finish_task(state: dict, spec: BlockSpec) -> np.ndarray:
    return finish_block(state, spec=spec)


def _slab_bytes(data: Any) -> int:
    return int(data.shape[0] * data.shape[1] * max(data.chunks[2]) * max(data.chunks[3])
               * data.dtype.itemsize)


def run_numpy_block(source: np.ndarray, rows: slice, spec: BlockSpec,
                    mask: np.ndarray | None = None) -> np.ndarray:
    """:func:`run_block` on a row band of an in-memory source (a view, never a copy)."""
    return run_block(source[:, :, rows], None if mask is None else mask[rows], spec=spec)


def _numpy_source_array(source: np.ndarray, spec: BlockSpec, chunks: tuple[tuple[int, ...], ...],
                        name: str, dtype: np.dtype, mask: np.ndarray | None = None) -> Any:
    import dask.array as da
    from dask.highlevelgraph import HighLevelGraph

    src_key = f"{name}-source"
    dsk: dict[Any, Any] = {src_key: source, f"{name}-mask": mask}
    lead = (0,) * (len(chunks) - 2)
    r0 = 0
    for i, nrows in enumerate(chunks[-2]):
        dsk[(name, *lead, i, 0)] = (run_numpy_block, src_key, slice(r0, r0 + nrows), spec,
                                    f"{name}-mask")
        r0 += nrows
    graph = HighLevelGraph.from_collections(name, dsk, dependencies=())
    return da.Array(graph, name, chunks=chunks, dtype=dtype)


def _as_index(index: tuple[int, ...]) -> Any:
    """A slice for contiguous ascending indices (cheap dask getitem), else the list."""
    if index and list(index) == list(range(index[0], index[0] + len(index))):
        return slice(index[0], index[0] + len(index))
    return list(index)


def _rows_per_block(shape: tuple[int, ...], nt: int, nb: int) -> int:
    """Rows per block: ~1 MiB per 2-D temporary, but at least 8 blocks for load balance."""
    ny, nx = shape[-2:]
    by_bytes = max(1, BLOCK_ROW_BYTES // max(1, nx * 4))
    return max(16, min(ny, by_bytes, -(-ny // 8)))


def _register_hooks(token: str, cancel: Callable[[], None] | None,
                    progress: Callable[[float], None] | None, total: int) -> None:
    if cancel is None and progress is None:
        return
    lock = threading.Lock()
    state = {"done": 0}

    def done() -> None:
        with lock:
            state["done"] += 1
            fraction = state["done"] / max(1, total)
            if state["done"] >= total:
                _HOOKS.pop(token, None)  # the run is over: drop references to the context
        if progress is not None:
            progress(fraction)

    _HOOKS[token] = (cancel, done)
