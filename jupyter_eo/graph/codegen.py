"""Code generation: a flat process graph -> readable Python for the official ``openeo`` client.

``to_python(graph)`` renders DataCube methods where the client has them (``load_collection``,
``filter_bbox``, ``band`` arithmetic, ``ndvi``, ``reduce_dimension``, ``apply``, ``mask``,
``merge_cubes``, ``save_result``, ...), callbacks as lambdas / small functions over
``openeo.processes``, and ``cube.process(...)`` only as a fallback. Executing the code with
the client rebuilds the same graph (modulo node ids): every method is only used when its
arguments match exactly what the client would emit.
"""
from __future__ import annotations

import keyword
import re
from typing import Any

from jupyter_eo.graph._callback_code import _render_callback, _spec_callback_parents
from jupyter_eo.graph._pycode import (_ARITHMETIC, _BASE_NAMES, _CLIENT_PARENTS, _COMPARISON, _LOGICAL, _PRECEDENCE,
                                      MAX_LINE, _assign, _binary, _call, _Code, _identifier, _is_number,
                                      _kwarg_name_ok, _literal, _py, _ROLE_NAMES, _wrap, _Writer)
from jupyter_eo.graph.codegen_geojson import geojson_literal, is_load_geojson
from jupyter_eo.graph.model import (FlatGraph, is_callback, is_node_ref, is_parameter_ref, iter_parameter_refs,
                                    post_order, reference_counts, result_node_id, unwrap)

__all__ = ["to_python", "DEFAULT_PORTABLE_URL"]

DEFAULT_PORTABLE_URL = "https://openeo.dataspace.copernicus.eu"


# -- top level ---------------------------------------------------------------------------------

class _GraphRenderer:
    def __init__(self, graph: FlatGraph, writer: _Writer, variable: str) -> None:
        self.graph, self.w, self.variable = graph, writer, variable
        self.refs = reference_counts(graph)
        self.result = result_node_id(graph)
        self.order = post_order(graph, self.result)
        self.names: dict[str, str] = {}
        self.lines: list[str] = []

    def primary_input(self, node_id: str) -> str | None:
        args = self.graph[node_id].get("arguments", {})
        for key in ("data", "cube1"):
            if is_node_ref(args.get(key)):
                return args[key]["from_node"]
        return None

    def assign_names(self) -> None:
        current: str | None = self.result
        while current is not None:
            self.names[current] = self.variable
            parent = self.primary_input(current)
            current = parent if parent is not None and self.refs[parent] == 1 else None
        roles: dict[str, str] = {}
        for node in self.graph.values():
            for key, value in node.get("arguments", {}).items():
                if is_node_ref(value) and key in _ROLE_NAMES:
                    roles.setdefault(value["from_node"], _ROLE_NAMES[key])
        for node_id in self.order:
            if node_id in self.names:
                continue
            node = self.graph[node_id]
            base = roles.get(node_id) or _BASE_NAMES.get(node["process_id"]) or _identifier(node["process_id"], "cube")
            if node["process_id"] == "reduce_dimension" and base == "reduced":
                base = {"bands": "band_math", "t": "composite"}.get(node.get("arguments", {}).get("dimension"), base)
            collection = node.get("arguments", {}).get("id")
            if node["process_id"] == "load_collection" and isinstance(collection, str):
                base = _identifier(collection, "cube")
            self.names[node_id] = self.w.unique(base)

    def render(self) -> list[str]:
        self.assign_names()
        for node_id in self.order:
            expr = self.node(node_id)
            self.lines += _assign(self.names[node_id], expr)
        skipped = len(self.graph) - len(self.order)
        if skipped:
            self.lines.insert(0, f"# {skipped} node(s) not connected to the result node were left out")
        return self.lines

    # -- helpers
    def ref(self, value: Any) -> str:
        return self.names[value["from_node"]]

    def arg(self, value: Any, indent: str = "") -> str:
        """Any top-level argument value: cube names, Parameter variables, literals."""
        if is_node_ref(value):
            return self.ref(value)
        if is_parameter_ref(value):
            return self.w.parameter(value["from_parameter"])
        if is_callback(value):  # a callback no renderer took: passed through as its JSON
            return _literal(value, indent)
        if isinstance(value, (dict, list)) and _contains_refs(value):
            if isinstance(value, list):
                return "[" + ", ".join(self.arg(v, indent) for v in value) + "]"
            return "{" + ", ".join(f"{_py(str(k))}: {self.arg(v, indent)}" for k, v in value.items()) + "}"
        return _literal(value, indent)

    def callback(self, node_id: str, key: str) -> str:
        pid = self.graph[node_id]["process_id"]
        value = self.graph[node_id]["arguments"][key]
        parents = _CLIENT_PARENTS.get((pid, key), ["data"])
        return _render_callback(self.w, value, parents, self.lines, "", _identifier(key, "callback"))

    def callback_ok(self, node_id: str, key: str) -> bool:
        """Callbacks can be lambdas only when they use parameters the client passes (or UDP ones)."""
        pid = self.graph[node_id]["process_id"]
        value = self.graph[node_id]["arguments"].get(key)
        if not is_callback(value) or not value["process_graph"]:
            return False
        spec_parents = _spec_callback_parents(pid, key) or []
        client = _CLIENT_PARENTS.get((pid, key), ["data"])
        used = {name for node in value["process_graph"].values()
                for name in iter_parameter_refs(node.get("arguments", {}), deep=False)}
        return not (used & (set(spec_parents) - set(client)))

    def method(self, receiver: str, name: str, positional: list[str], keywords: list[tuple[str, str]],
               target: str) -> str:
        return _call(f"{receiver}.{name}", positional, keywords, "", prefix_len=len(target) + 3)

    def node(self, node_id: str) -> str:
        node = self.graph[node_id]
        pid, args = node["process_id"], node.get("arguments", {})
        target = self.names[node_id]
        if "namespace" not in node:
            renderer = getattr(self, f"_r_{pid}", None)
            if renderer is not None:
                code = renderer(node_id, args, target)
                if code is not None:
                    return code
        return self.fallback(node_id, target)

    def fallback(self, node_id: str, target: str) -> str:
        node = self.graph[node_id]
        args = node.get("arguments", {})
        keys = sorted(args)
        cubes = [args[k]["from_node"] for k in keys if is_node_ref(args[k])]
        keywords = []
        if all(_kwarg_name_ok(k) and k not in ("process_id", "arguments", "metadata", "namespace") for k in keys):
            keywords = [(k, self.arg(args[k])) for k in keys]
        else:
            mapping = "{" + ", ".join(f"{_py(k)}: {self.arg(args[k])}" for k in keys) + "}"
            keywords = [("arguments", mapping)]
        if node.get("namespace") is not None:
            keywords.append(("namespace", _py(node["namespace"])))
        receiver = f"{self.names[cubes[0]]}.process" if cubes else "connection.datacube_from_process"
        return _call(receiver, [_py(node["process_id"])], keywords, "", prefix_len=len(target) + 3)

    # -- renderers: return None to fall back to .process(...)
    def _r_load_collection(self, node_id: str, args: dict, target: str) -> str | None:
        if "spatial_extent" not in args or "temporal_extent" not in args or \
                not set(args) <= {"id", "spatial_extent", "temporal_extent", "bands", "properties"}:
            return None
        if not (isinstance(args["id"], str) or is_parameter_ref(args["id"])):
            return None
        extent = args["spatial_extent"]
        if extent is not None and not is_parameter_ref(extent) and not (
                isinstance(extent, dict) and {"west", "south", "east", "north"} <= set(extent)) \
                and not is_load_geojson(extent):
            return None
        temporal = args["temporal_extent"]
        if temporal is not None and not is_parameter_ref(temporal) and not (
                isinstance(temporal, list) and len(temporal) == 2
                and all(t is None or _is_iso_date(t) for t in temporal)):
            return None
        keywords = [(k, geojson_literal(args[k]) if k == "spatial_extent" and is_load_geojson(args[k])
                     else self.arg(args[k])) for k in ("spatial_extent", "temporal_extent", "bands")
                    if args.get(k) is not None]
        if "properties" in args:
            props = args["properties"]
            if not isinstance(props, dict) or not all(is_callback(v) and v["process_graph"] for v in props.values()):
                return None
            cloud = props.get("eo:cloud_cover", {}).get("process_graph", {})
            only = next(iter(cloud.values()), {}) if len(cloud) == 1 else {}
            if list(props) == ["eo:cloud_cover"] and only.get("process_id") == "lte" and \
                    only.get("arguments", {}).get("x") == {"from_parameter": "value"} and \
                    isinstance(only["arguments"].get("y"), (int, float)) and set(only["arguments"]) == {"x", "y"}:
                keywords.append(("max_cloud_cover", _py(only["arguments"]["y"])))
            else:
                rendered = [f"{_py(name)}: {_render_callback(self.w, cb, ['value'], self.lines, '', 'condition')}"
                            for name, cb in props.items()]
                one_line = "{" + ", ".join(rendered) + "}"
                if len(one_line) > MAX_LINE - 20:
                    one_line = "{\n" + "".join(f"    {item},\n" for item in rendered) + "}"
                keywords.append(("properties", one_line))
        return self.method("connection", "load_collection", [self.arg(args["id"])], keywords, target)

    def _r_filter_bbox(self, node_id: str, args: dict, target: str) -> str | None:
        extent = args.get("extent")
        if set(args) != {"data", "extent"} or not is_node_ref(args["data"]):
            return None
        receiver = self.ref(args["data"])
        if is_parameter_ref(extent):
            return self.method(receiver, "filter_bbox", [self.arg(extent)], [], target)
        if not isinstance(extent, dict) or not {"west", "south", "east", "north"} <= set(extent) <= \
                {"west", "south", "east", "north", "crs"} or any(isinstance(v, (dict, list)) for v in extent.values()):
            return None
        keywords = [(k, _py(extent[k])) for k in ("west", "south", "east", "north", "crs") if k in extent]
        if extent.get("crs", 0) is None:
            return None
        return self.method(receiver, "filter_bbox", [], keywords, target)

    def _r_filter_temporal(self, node_id: str, args: dict, target: str) -> str | None:
        extent = args.get("extent")
        if set(args) != {"data", "extent"} or not is_node_ref(args["data"]):
            return None
        if is_parameter_ref(extent):
            return self.method(self.ref(args["data"]), "filter_temporal", [self.arg(extent)], [], target)
        if isinstance(extent, list) and len(extent) == 2 and all(t is None or _is_iso_date(t) for t in extent) \
                and extent != [None, None]:
            return self.method(self.ref(args["data"]), "filter_temporal", [_py(t) for t in extent], [], target)
        return None

    def _r_filter_bands(self, node_id: str, args: dict, target: str) -> str | None:
        bands = args.get("bands")
        if set(args) != {"data", "bands"} or not is_node_ref(args["data"]) or not isinstance(bands, list) \
                or not all(isinstance(b, str) for b in bands):
            return None
        return self.method(self.ref(args["data"]), "filter_bands", [_py(bands)], [], target)

    def _r_filter_spatial(self, node_id: str, args: dict, target: str) -> str | None:
        geometries = args.get("geometries")
        if set(args) != {"data", "geometries"} or not is_node_ref(args["data"]) or not _is_geojson(geometries):
            return None
        return self.method(self.ref(args["data"]), "filter_spatial", [self.arg(geometries)], [], target)

    def _r_ndvi(self, node_id: str, args: dict, target: str) -> str | None:
        if not set(args) <= {"data", "nir", "red", "target_band"} or not is_node_ref(args.get("data")) \
                or not all(isinstance(args[k], str) for k in args if k != "data"):
            return None
        keywords = [(k, _py(args[k])) for k in ("nir", "red", "target_band") if k in args]
        return self.method(self.ref(args["data"]), "ndvi", [], keywords, target)

    def _r_reduce_dimension(self, node_id: str, args: dict, target: str) -> str | None:
        if not set(args) <= {"data", "reducer", "dimension", "context"} or not is_node_ref(args.get("data")) \
                or not isinstance(args.get("dimension"), str) or not self.callback_ok(node_id, "reducer"):
            return None
        receiver = self.ref(args["data"])
        if args["dimension"] == "bands" and "context" not in args:
            band_math = _BandMath(self, receiver, args["reducer"]["process_graph"]).render()
            if band_math is not None:
                return band_math
        keywords = [("dimension", _py(args["dimension"])), ("reducer", self.callback(node_id, "reducer"))]
        if "context" in args:
            keywords.append(("context", self.arg(args["context"])))
        return self.method(receiver, "reduce_dimension", [], keywords, target)

    def _r_aggregate_temporal_period(self, node_id: str, args: dict, target: str) -> str | None:
        if not set(args) <= {"data", "period", "reducer", "dimension", "context"} or \
                not is_node_ref(args.get("data")) or not isinstance(args.get("period"), str) or \
                not self.callback_ok(node_id, "reducer"):
            return None
        keywords = [("period", _py(args["period"])), ("reducer", self.callback(node_id, "reducer"))]
        keywords += [(k, self.arg(args[k])) for k in ("dimension", "context") if k in args]
        return self.method(self.ref(args["data"]), "aggregate_temporal_period", [], keywords, target)

    def _r_aggregate_spatial(self, node_id: str, args: dict, target: str) -> str | None:
        if not set(args) <= {"data", "geometries", "reducer", "target_dimension", "context"} or \
                not is_node_ref(args.get("data")) or not _is_geojson(args.get("geometries")) or \
                not self.callback_ok(node_id, "reducer") or args.get("target_dimension", "x") is None:
            return None
        keywords = [("geometries", self.arg(args["geometries"])), ("reducer", self.callback(node_id, "reducer"))]
        keywords += [(k, self.arg(args[k])) for k in ("target_dimension", "context") if k in args]
        return self.method(self.ref(args["data"]), "aggregate_spatial", [], keywords, target)

    def _r_apply(self, node_id: str, args: dict, target: str) -> str | None:
        if not set(args) <= {"data", "process", "context"} or not is_node_ref(args.get("data")) or \
                not self.callback_ok(node_id, "process") or args.get("context", 0) is None:
            return None
        keywords = [("context", self.arg(args["context"]))] if "context" in args else []
        return self.method(self.ref(args["data"]), "apply", [self.callback(node_id, "process")], keywords, target)

    def _r_apply_dimension(self, node_id: str, args: dict, target: str) -> str | None:
        if not set(args) <= {"data", "process", "dimension", "target_dimension", "context"} or \
                not is_node_ref(args.get("data")) or not isinstance(args.get("dimension"), str) or \
                not self.callback_ok(node_id, "process") or args.get("target_dimension", "") is None \
                or args.get("context", 0) is None:
            return None
        keywords = [("process", self.callback(node_id, "process")), ("dimension", _py(args["dimension"]))]
        keywords += [(k, self.arg(args[k])) for k in ("target_dimension", "context") if k in args]
        return self.method(self.ref(args["data"]), "apply_dimension", [], keywords, target)

    def _r_fit_curve(self, node_id: str, args: dict, target: str) -> str | None:
        """The client's ``DataCube.fit_curve`` (cube form: data, parameters, function, dimension)."""
        if set(args) != {"data", "parameters", "function", "dimension"} or \
                not is_node_ref(args["data"]) or not isinstance(args["dimension"], str) or \
                not self.callback_ok(node_id, "function"):
            return None
        keywords = [("parameters", self.arg(args["parameters"])),
                    ("function", self.callback(node_id, "function")),
                    ("dimension", _py(args["dimension"]))]
        return self.method(self.ref(args["data"]), "fit_curve", [], keywords, target)

    def _r_predict_curve(self, node_id: str, args: dict, target: str) -> str | None:
        """The client's ``DataCube.predict_curve`` (it always sends ``labels``, null or not)."""
        if set(args) != {"data", "parameters", "function", "dimension", "labels"} or \
                not is_node_ref(args["data"]) or not isinstance(args["dimension"], str) or \
                not self.callback_ok(node_id, "function"):
            return None
        keywords = [("function", self.callback(node_id, "function")),
                    ("dimension", _py(args["dimension"]))]
        if args["labels"] is not None:
            keywords.append(("labels", self.arg(args["labels"])))
        return self.method(self.ref(args["data"]), "predict_curve", [self.arg(args["parameters"])],
                           keywords, target)

    def _r_mask(self, node_id: str, args: dict, target: str) -> str | None:
        if not set(args) <= {"data", "mask", "replacement"} or not is_node_ref(args.get("data")) or \
                not is_node_ref(args.get("mask")) or args.get("replacement", 0) is None:
            return None
        keywords = [("replacement", self.arg(args["replacement"]))] if "replacement" in args else []
        return self.method(self.ref(args["data"]), "mask", [self.ref(args["mask"])], keywords, target)

    def _r_merge_cubes(self, node_id: str, args: dict, target: str) -> str | None:
        if not set(args) <= {"cube1", "cube2", "overlap_resolver", "context"} or \
                not is_node_ref(args.get("cube1")) or not is_node_ref(args.get("cube2")) or \
                ("overlap_resolver" in args and not self.callback_ok(node_id, "overlap_resolver")) or \
                ("context" in args and ("overlap_resolver" not in args or args["context"] is None)):
            return None
        keywords = []
        if "overlap_resolver" in args:
            keywords.append(("overlap_resolver", self.callback(node_id, "overlap_resolver")))
        if "context" in args:
            keywords.append(("context", self.arg(args["context"])))
        return self.method(self.ref(args["cube1"]), "merge_cubes", [self.ref(args["cube2"])], keywords, target)

    def _r_resample_spatial(self, node_id: str, args: dict, target: str) -> str | None:
        if set(args) != {"data", "resolution", "projection", "method", "align"} or not is_node_ref(args["data"]):
            return None
        defaults = {"projection": None, "method": "near", "align": "upper-left"}
        keywords = [("resolution", self.arg(args["resolution"]))]
        keywords += [(k, self.arg(args[k])) for k in ("projection", "method", "align") if args[k] != defaults[k]]
        return self.method(self.ref(args["data"]), "resample_spatial", [], keywords, target)

    def _r_resample_cube_spatial(self, node_id: str, args: dict, target: str) -> str | None:
        if set(args) != {"data", "target", "method"} or not is_node_ref(args["data"]) or \
                not is_node_ref(args["target"]) or not isinstance(args["method"], str):
            return None
        keywords = [("method", _py(args["method"]))] if args["method"] != "near" else []
        return self.method(self.ref(args["data"]), "resample_cube_spatial", [self.ref(args["target"])], keywords,
                           target)

    def _r_save_result(self, node_id: str, args: dict, target: str) -> str | None:
        if set(args) != {"data", "format", "options"} or not is_node_ref(args["data"]) or \
                not isinstance(args["format"], str) or not isinstance(args["options"], dict):
            return None
        keywords = [("format", _py(args["format"]))]
        if args["options"]:
            keywords.append(("options", self.arg(args["options"])))
        return self.method(self.ref(args["data"]), "save_result", [], keywords, target)


class _BandMath:
    """``reduce_dimension`` over bands rendered as ``cube.band("B08")`` arithmetic, when exact."""

    _OPS = {**_ARITHMETIC, **_COMPARISON, **_LOGICAL}

    def __init__(self, owner: _GraphRenderer, receiver: str, graph: FlatGraph) -> None:
        self.owner, self.receiver, self.graph = owner, receiver, graph
        self.refs = reference_counts(graph)
        self.vars: dict[str, str] = {}

    def supported(self, node_id: str) -> bool:
        node = self.graph[node_id]
        pid, args = node["process_id"], node.get("arguments", {})
        if "namespace" in node:
            return False
        if pid == "array_element":
            key = args.get("label", args.get("index"))
            return set(args) in ({"data", "label"}, {"data", "index"}) and \
                args["data"] == {"from_parameter": "data"} and isinstance(key, (str, int)) and not isinstance(key, bool)
        operands = {"power": ("base", "p"), "not": ("x",)}.get(pid, ("x", "y"))
        if (pid not in self._OPS and pid not in ("power", "not")) or set(args) != set(operands):
            return False
        exprs = [is_node_ref(args[k]) for k in operands]
        constants_ok = all(is_node_ref(args[k]) or _is_number(args[k]) for k in operands)
        if pid == "power":  # DataCube ** DataCube is not merged into one band math reducer by the client
            return constants_ok and exprs.count(True) == 1
        if pid in _ARITHMETIC:
            return any(exprs) and constants_ok
        if pid in _COMPARISON:
            return exprs[0] and constants_ok
        return all(exprs)

    def render(self) -> str | None:
        result = result_node_id(self.graph)
        order = post_order(self.graph, result)
        if len(order) != len(self.graph) or not all(self.supported(n) for n in order):
            return None
        lines = self.owner.lines
        for node_id in order:
            node = self.graph[node_id]
            if node["process_id"] == "array_element":
                key = node["arguments"].get("label", node["arguments"].get("index"))
                call = f"{self.receiver}.band({_py(key)})"
                if node_id == result:
                    return call
                var = self.owner.w.unique(_identifier(key, "band") if isinstance(key, str) else f"band{key}")
                lines += _assign(var, call)
                self.vars[node_id] = var
            elif self.refs[node_id] > 1:
                var = self.owner.w.unique(self._term_name(node))
                lines += _assign(var, self.expr(node_id).text)
                self.vars[node_id] = var
        text = self.expr(result).text
        if len(text) > MAX_LINE - 10 and self.graph[result]["process_id"] != "not":
            # split a long formula: e.g. numerator and denominator on their own lines
            args = self.graph[result]["arguments"]
            keys = ("base", "p") if self.graph[result]["process_id"] == "power" else ("x", "y")
            names = ("numerator", "denominator") if self.graph[result]["process_id"] == "divide" else ("term", "term")
            for key, base in zip(keys, names):
                ref = args[key]
                if is_node_ref(ref) and ref["from_node"] not in self.vars:
                    var = self.owner.w.unique(base)
                    lines += _assign(var, self.expr(ref["from_node"]).text)
                    self.vars[ref["from_node"]] = var
            text = self.expr(result).text
        return text

    def _term_name(self, node: dict[str, Any]) -> str:
        args = node["arguments"]
        if node["process_id"] == "multiply" and is_node_ref(args.get("x")) and _is_number(args.get("y")) \
                and args["x"]["from_node"] in self.vars:
            return f"{self.vars[args['x']['from_node']]}_scaled"
        return "term"

    def expr(self, node_id: str) -> _Code:
        if node_id in self.vars:
            return _Code(self.vars[node_id], is_expr=True)
        node = self.graph[node_id]
        pid, args = node["process_id"], node["arguments"]

        def operand(value: Any) -> _Code:
            return self.expr(value["from_node"]) if is_node_ref(value) else _Code(_py(value))
        if pid == "not":
            return _Code(f"~{_wrap(operand(args['x']), _PRECEDENCE['~'])}", _PRECEDENCE["~"], True)
        if pid == "power":
            return _binary("**", operand(args["base"]), operand(args["p"]))
        return _binary(self._OPS[pid], operand(args["x"]), operand(args["y"]))


def _is_iso_date(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None


def _is_geojson(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in (
        "Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon", "GeometryCollection",
        "Feature", "FeatureCollection") and not _contains_refs(value)


def _contains_refs(value: Any) -> bool:
    if isinstance(value, dict):
        if "from_node" in value or "from_parameter" in value:
            return True
        return any(_contains_refs(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_refs(v) for v in value)
    return False


def to_python(graph: Any, *, flavour: str = "lab", backend_id: str = "local", url: str | None = None,
              variable: str = "cube", udp_id: str | None = None, auth: str | None = "oidc") -> str:
    """Python code for the official openeo client that rebuilds ``graph``.

    ``graph``: flat graph, process/UDP document (``{"process_graph", "parameters", ...}``), JSON
    text or path. ``flavour="lab"`` connects with ``jupyter_eo.connect(backend_id)``;
    ``"portable"`` with ``openeo.connect(url)`` and the login ``auth`` names: ``"oidc"``
    (``authenticate_oidc()``), ``"basic"`` (``authenticate_basic()``, credentials from the
    client's auth config) or None (no login). The result ends up in
    ``variable``. With declared ``parameters`` (or ``udp_id``) the code declares
    ``Parameter`` objects; ``udp_id`` adds ``connection.save_user_defined_process(...)``.
    """
    if flavour not in ("lab", "portable"):
        from jupyter_eo.errors import OpenEOError
        raise OpenEOError(f"Unknown code flavour {flavour!r}: use 'lab' or 'portable'.", code="InvalidArgument",
                          status=400)
    flat, metadata = unwrap(graph)
    if not variable.isidentifier() or keyword.iskeyword(variable):
        variable = "cube"
    declared = {p["name"]: p for p in metadata.get("parameters") or [] if isinstance(p, dict) and "name" in p}
    reserved: set[str] = set()
    while True:  # a second pass when a variable name would shadow an imported process function
        writer = _Writer(variable, reserved)
        if udp_id is not None:  # all declared parameters are saved with the UDP, used or not
            for name in declared:
                writer.parameter(name)
        body = _GraphRenderer(flat, writer, variable).render()
        clashes = (writer.names - reserved) & writer.process_imports
        if not clashes:
            break
        reserved |= clashes
    parameter_lines = writer.parameter_lines(declared)
    if flavour == "lab":
        header = ["import jupyter_eo"]
        connect = f"connection = jupyter_eo.connect({_py(backend_id)})"
        if writer.needs_openeo:
            header.append("import openeo")
    else:
        header = ["import openeo"]
        login = {"oidc": ".authenticate_oidc()", "basic": ".authenticate_basic()", None: ""}.get(auth)
        if login is None:
            from jupyter_eo.errors import OpenEOError
            raise OpenEOError(f"Unknown authentication {auth!r}: use 'oidc', 'basic' or None.",
                              code="InvalidArgument", status=400)
        connect = f"connection = openeo.connect({_py(url or DEFAULT_PORTABLE_URL)}){login}"
        if auth == "basic":
            connect = ("# basic login: the credentials stored with `openeo-auth add-basic` (or pass them)\n"
                       + connect)
    if writer.parameters:
        header.append("from openeo.api.process import Parameter")
    if writer.process_imports:
        names = sorted(writer.process_imports)
        one_line = f"from openeo.processes import {', '.join(names)}"
        header.append(one_line if len(one_line) <= MAX_LINE else
                      "from openeo.processes import (\n" + "".join(f"    {n},\n" for n in names) + ")")
    lines = header + ["", connect]
    if parameter_lines:
        lines += [""] + parameter_lines
    lines += [""] + body
    if udp_id is not None:
        ordered = [*declared, *(name for name in writer.parameters if name not in declared)]
        params = ", ".join(writer.parameters[name] for name in ordered)
        keywords = [("parameters", f"[{params}]")] if params else []
        for key in ("summary", "description"):
            if isinstance(metadata.get(key), str):
                keywords.append((key, _py(metadata[key])))
        lines += ["", _call("connection.save_user_defined_process", [_py(udp_id), variable], keywords, "")]
    return "\n".join(lines) + "\n"
