"""Dimension processes: rename_labels, rename_dimension, add/drop_dimension, dimension_labels,
trim_cube."""
from __future__ import annotations

from typing import Any

import numpy as np

from jupyter_eo.backend.cube import T, X, Y
from jupyter_eo.backend.processes.cubes_common import as_cube, require_dim
from jupyter_eo.backend.processes.registry import process
from jupyter_eo.errors import ProcessArgumentInvalid, ProcessParameterInvalid


def _label_json(value: Any) -> Any:
    if isinstance(value, np.datetime64):
        return np.datetime_as_string(value, unit="s") + "Z"
    return value.item() if hasattr(value, "item") else value


@process("dimension_labels")
def dimension_labels(data: Any, dimension: str) -> list[Any]:
    """The labels of ``dimension`` as a JSON-able list (times as ISO 8601 strings)."""
    cube = data.values if hasattr(data, "geometries") else as_cube(data)
    require_dim(cube, dimension)
    if dimension not in cube.coords:
        return list(range(cube.sizes[dimension]))
    return [_label_json(v) for v in cube[dimension].values]


@process("rename_labels")
def rename_labels(data: Any, dimension: str, target: list, source: list | None = None) -> Any:
    """Rename labels of ``dimension`` (``source`` -> ``target``, or all labels by position)."""
    cube = as_cube(data)
    require_dim(cube, dimension)
    labels = [_label_json(v) for v in cube[dimension].values] if dimension in cube.coords \
        else list(range(cube.sizes[dimension]))
    if not source:
        if len(target) != len(labels):
            raise ProcessArgumentInvalid(
                "LabelMismatch", "The number of labels in target and the dimension differ.")
        new = list(target)
    else:
        if len(source) != len(target):
            raise ProcessArgumentInvalid(
                "LabelMismatch", "The number of labels in source and target differ.")
        new = list(labels)
        for old, repl in zip(source, target):
            if old not in labels:
                raise ProcessArgumentInvalid("LabelNotAvailable",
                                             f"Label {old!r} does not exist.")
            new[labels.index(old)] = repl
    if len(set(map(str, new))) != len(new):
        raise ProcessArgumentInvalid("LabelExists", "The renamed labels are not unique.")
    return cube.assign_coords({dimension: new})


@process("rename_dimension")
def rename_dimension(data: Any, source: str, target: str) -> Any:
    """Rename a dimension."""
    cube = as_cube(data)
    require_dim(cube, source)
    if target in cube.dims:
        raise ProcessArgumentInvalid("DimensionExists", f"Dimension {target!r} exists.")
    return cube.rename({source: target})


@process("add_dimension")
def add_dimension(data: Any, name: str, label: Any, type: str = "other") -> Any:
    """Add a dimension of size one with the given label (first in order)."""
    cube = as_cube(data)
    if name in cube.dims:
        raise ProcessArgumentInvalid("DimensionExists", f"Dimension {name!r} exists.")
    if type not in ("spatial", "temporal", "bands", "other"):
        raise ProcessParameterInvalid(f"Unknown dimension type {type!r}.")
    value = np.datetime64(str(label).rstrip("Z")) if type == "temporal" else label
    return cube.expand_dims({name: [value]})


@process("drop_dimension")
def drop_dimension(data: Any, name: str) -> Any:
    """Remove a dimension that has only one label."""
    cube = as_cube(data)
    require_dim(cube, name)
    if cube.sizes[name] > 1:
        raise ProcessArgumentInvalid("DimensionLabelCountMismatch",
                                     f"Dimension {name!r} has more than one label.")
    return cube.isel({name: 0}, drop=True)


@process("trim_cube")
def trim_cube(data: Any) -> Any:
    """Drop outer rows, columns and steps that are entirely no-data."""
    cube = as_cube(data)
    valid = cube.notnull()
    selection = {}
    for dim in (T, Y, X):
        if dim not in cube.dims:
            continue
        other = [d for d in cube.dims if d != dim]
        keep = valid.any(other).values if other else valid.values
        idx = np.nonzero(keep)[0]
        selection[dim] = slice(int(idx[0]), int(idx[-1]) + 1) if len(idx) else slice(0, 0)
    return cube.isel(selection)
