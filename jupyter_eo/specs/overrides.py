"""Documented additions this package makes to packaged process specs (the JSON stays untouched).

The packaged specs are openEO processes 2.0.0-rc.2. For ``fit_curve`` and ``predict_curve``
that version changed the signature: ``fit_curve`` became an array process used inside
``apply_dimension`` and ``predict_curve`` lost its ``data`` parameter. The official ``openeo``
Python client (``DataCube.fit_curve`` / ``DataCube.predict_curve``) and openEO processes 1.x
back-ends still use the older cube-level form. So that code written for either form runs
here, the descriptions below *add* what the 1.x form needs:

* ``fit_curve``: ``data`` may also be a data cube, and an optional ``dimension`` names the
  dimension to fit along (the result replaces it with the parameter index);
* ``predict_curve``: an optional ``data`` cube; without ``labels`` the values are predicted
  at ``data``'s labels along ``dimension``, filling only its no-data values (1.x meaning).

:func:`apply_overrides` is applied by :func:`jupyter_eo.specs.process_specs`, so validation
(``jupyter_eo.graph.validate``), the engine and ``GET /processes`` all see the same,
honestly advertised signature. Nothing is removed or made stricter: every graph valid under
the packaged spec stays valid.
"""
from __future__ import annotations

import copy
from typing import Any

_CUBE = {"type": "object", "subtype": "datacube"}

_FIT_DIMENSION = {
    "name": "dimension",
    "description": (
        "Backward compatibility with openEO processes 1.x (and the openEO Python client's "
        "`DataCube.fit_curve`): the name of the dimension of the data cube `data` to fit the "
        "curve along, e.g. the temporal dimension `t`. The result replaces that dimension by "
        "the parameter index (labels 0, 1, ...). Omit it when `fit_curve` is used as an array "
        "process inside `apply_dimension`. Fails with a `DimensionNotAvailable` exception if "
        "the data cube has no such dimension."),
    "schema": [{"type": "string"}, {"type": "null"}],
    "default": None,
    "optional": True,
}

_PREDICT_DATA = {
    "name": "data",
    "description": (
        "Backward compatibility with openEO processes 1.x (and the openEO Python client's "
        "`DataCube.predict_curve`): the data cube to predict values for. If `labels` are not "
        "given, values are predicted at the labels this cube has along `dimension`, for its "
        "no-data (`null`) values only: valid values are kept, so the result is the data cube "
        "with its gaps filled. With `labels`, `data` does not change the result."),
    "schema": [_CUBE, {"type": "null"}],
    "default": None,
    "optional": True,
}

_NOTE = ("\n\n**Backward compatibility:** this back-end also accepts the openEO processes 1.x "
         "form of this process used by the openEO Python client (`DataCube.{pid}`), see the "
         "parameter{s} {names}.")


def _widen(schema: Any, extra: dict[str, Any]) -> list[dict[str, Any]]:
    """``schema`` (one schema or a list of alternatives) plus the ``extra`` alternative."""
    alternatives = list(schema) if isinstance(schema, list) else [schema]
    return [copy.deepcopy(s) for s in alternatives] + [dict(extra)]


def _fit_curve(spec: dict[str, Any]) -> dict[str, Any]:
    for param in spec["parameters"]:
        if param["name"] == "data":
            param["schema"] = _widen(param["schema"], _CUBE)
            param["description"] += (" For the openEO processes 1.x form (with `dimension`), "
                                     "a data cube.")
    spec["parameters"].append(copy.deepcopy(_FIT_DIMENSION))
    returns = spec.get("returns")
    if isinstance(returns, dict) and "schema" in returns:
        returns["schema"] = _widen(returns["schema"], _CUBE)
        returns["description"] += (" With `dimension` (openEO processes 1.x form), a data cube "
                                   "with that dimension replaced by the parameter index.")
    spec["description"] += _NOTE.format(pid="fit_curve", s="", names="`dimension`")
    return spec


def _predict_curve(spec: dict[str, Any]) -> dict[str, Any]:
    spec["parameters"].append(copy.deepcopy(_PREDICT_DATA))
    spec["description"] += _NOTE.format(pid="predict_curve", s="", names="`data`")
    return spec


#: process id -> function amending (a deep copy of) its packaged spec
OVERRIDES = {"fit_curve": _fit_curve, "predict_curve": _predict_curve}


def apply_overrides(spec: dict[str, Any]) -> dict[str, Any]:
    """``spec`` with this package's documented additions (a new dict; ``spec`` is unchanged)."""
    amend = OVERRIDES.get(spec.get("id"))
    return amend(copy.deepcopy(spec)) if amend is not None else spec
