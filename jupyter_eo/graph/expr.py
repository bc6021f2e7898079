"""Callback expressions: ``Expr`` values, process calls, callbacks from strings/callables/dicts, formulas.

Used by ``builder`` (whose module docstring documents the public API).
"""
from __future__ import annotations

import ast
import copy
import inspect
from typing import Any, Callable, Sequence

from jupyter_eo.errors import ProcessParameterInvalid
from jupyter_eo.graph.model import FlatGraph, normalize_ids
from jupyter_eo.specs import process_spec

__all__ = ["Expr", "Param", "call", "callback", "band_math_callback", "callback_parameters"]

# Parameters the openeo client gives string callbacks ("median"), per (process, argument).
_CLIENT_PARENT_PARAMETERS = {("apply", "process"): ["x"], ("merge_cubes", "overlap_resolver"): ["x", "y"]}
_FORMULA_FUNCTIONS = {"sqrt", "log", "ln", "exp", "absolute", "abs", "clip", "power", "min", "max",
                      "sin", "cos", "tan", "arctan2", "floor", "ceil", "round", "int", "sgn", "normalized_difference"}


_CONSTANT_OPS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide"}


class _Node:
    """One process call; arguments may hold ``_Node``/``Expr``/``Cube``/``Param`` values."""

    __slots__ = ("process_id", "arguments", "namespace")

    def __init__(self, process_id: str, arguments: dict[str, Any], namespace: str | None = None) -> None:
        self.process_id = process_id
        self.arguments = arguments
        self.namespace = namespace


class Param:
    """A reference to a graph parameter: ``{"from_parameter": name}``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Param({self.name!r})"


def _flatten(result: _Node) -> FlatGraph:
    """Flatten a node tree into a flat graph with client-style ids (dedup by identity)."""
    graph: FlatGraph = {}
    ids: dict[int, str] = {}

    def visit(node: _Node) -> str:
        if id(node) in ids:
            return ids[id(node)]
        arguments = {key: convert(node.arguments[key]) for key in sorted(node.arguments)}
        node_id = f"n{len(graph) + 1}"
        entry: dict[str, Any] = {"process_id": node.process_id, "arguments": arguments}
        if node.namespace is not None:
            entry["namespace"] = node.namespace
        graph[node_id] = entry
        ids[id(node)] = node_id
        return node_id

    def convert(value: Any) -> Any:
        if isinstance(getattr(value, "_target", None), (_Node, Param)):  # Expr or builder Cube
            value = value._target
        if isinstance(value, _Node):
            return {"from_node": visit(value)}
        if isinstance(value, Param):
            return {"from_parameter": value.name}
        if isinstance(value, dict):
            if "process_graph" in value and isinstance(value["process_graph"], _Node):
                return {"process_graph": _flatten(value["process_graph"])}
            return {str(key): convert(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            return [convert(item) for item in value]
        if value is None or isinstance(value, (str, bool, int, float)):
            return value
        raise ProcessParameterInvalid(f"Unsupported argument value of type {type(value).__name__}.")

    last = visit(result)
    graph[last]["result"] = True
    return graph


def _first_parameter(process_id: str) -> str:
    spec = process_spec(process_id)
    if spec and spec.get("parameters"):
        return spec["parameters"][0]["name"]
    return "data"


def _spec_parameter_names(process_id: str) -> list[str]:
    spec = process_spec(process_id)
    return [p["name"] for p in spec.get("parameters", [])] if spec else []


class Expr:
    """A value inside a callback: a parameter or the result of a process call."""

    __slots__ = ("_target", "_items")

    def __init__(self, target: _Node | Param) -> None:
        self._target = target
        self._items: dict[Any, Expr] = {}

    # -- generic calls -------------------------------------------------------------------
    def process(self, process_id: str, **arguments: Any) -> Expr:
        """Call ``process_id`` with this value as its first parameter."""
        return call(process_id, **{_first_parameter(process_id): self, **arguments})

    def __getattr__(self, name: str) -> Callable[..., Expr]:
        if name.startswith("__"):
            raise AttributeError(name)
        process_id = name[:-1] if name.endswith("_") else name
        return lambda **arguments: self.process(process_id, **arguments)

    def __getitem__(self, key: str | int) -> Expr:
        """``array_element`` by label (str) or index (int); the same key yields the same node."""
        if key not in self._items:
            argument = {"label": key} if isinstance(key, str) else {"index": int(key)}
            self._items[key] = call("array_element", data=self, **argument)
        return self._items[key]

    # -- operators like the openeo client's ProcessBuilder ------------------------------
    def __add__(self, other: Any) -> Expr: return call("add", x=self, y=other)
    def __radd__(self, other: Any) -> Expr: return call("add", x=other, y=self)
    def __sub__(self, other: Any) -> Expr: return call("subtract", x=self, y=other)
    def __rsub__(self, other: Any) -> Expr: return call("subtract", x=other, y=self)
    def __mul__(self, other: Any) -> Expr: return call("multiply", x=self, y=other)
    def __rmul__(self, other: Any) -> Expr: return call("multiply", x=other, y=self)
    def __truediv__(self, other: Any) -> Expr: return call("divide", x=self, y=other)
    def __rtruediv__(self, other: Any) -> Expr: return call("divide", x=other, y=self)
    def __pow__(self, other: Any) -> Expr: return call("power", base=self, p=other)
    def __neg__(self) -> Expr: return call("multiply", x=self, y=-1)
    def __gt__(self, other: Any) -> Expr: return call("gt", x=self, y=other)  # type: ignore[override]
    def __ge__(self, other: Any) -> Expr: return call("gte", x=self, y=other)  # type: ignore[override]
    def __lt__(self, other: Any) -> Expr: return call("lt", x=self, y=other)  # type: ignore[override]
    def __le__(self, other: Any) -> Expr: return call("lte", x=self, y=other)  # type: ignore[override]
    def __eq__(self, other: Any) -> Expr: return call("eq", x=self, y=other)  # type: ignore[override]
    def __ne__(self, other: Any) -> Expr: return call("neq", x=self, y=other)  # type: ignore[override]
    def __and__(self, other: Any) -> Expr: return call("and", x=self, y=other)
    def __or__(self, other: Any) -> Expr: return call("or", x=self, y=other)
    def __invert__(self) -> Expr: return call("not", x=self)
    __hash__ = object.__hash__

    def to_dict(self) -> FlatGraph:
        """This expression as a flat (callback) graph."""
        if isinstance(self._target, Param):
            raise ProcessParameterInvalid("A callback must call at least one process.")
        return normalize_ids(_flatten(self._target))


def call(process_id: str, namespace: str | None = None, **arguments: Any) -> Expr:
    """A process call inside a callback (``call("pi")``, ``call("if", value=..., accept=1)``).

    Callable arguments become nested callbacks (``x.array_apply(process=lambda x: x * 2)``).
    """
    for key, value in arguments.items():
        if callable(value) and not hasattr(value, "_target"):
            arguments[key] = callback(value, callback_parameters(process_id, key) or [], process_id=process_id,
                                      argument=key)
    return Expr(_Node(process_id, arguments, namespace))


def callback_parameters(process_id: str, argument: str) -> list[str] | None:
    """Parameter names the spec gives the callback in ``argument`` of ``process_id`` (None if none)."""
    spec = process_spec(process_id)
    for param in (spec or {}).get("parameters", []):
        if param["name"] == argument:
            return _process_graph_parameters(param.get("schema"))
    return None


def _process_graph_parameters(schema: Any) -> list[str] | None:
    if isinstance(schema, dict):
        if schema.get("subtype") == "process-graph":
            return [p["name"] for p in schema.get("parameters", [])]
        schema = list(schema.values())
    if isinstance(schema, list):
        for value in schema:
            found = _process_graph_parameters(value)
            if found is not None:
                return found
    return None


def callback(value: Any, parent_parameters: Sequence[str], *, process_id: str = "",
             argument: str = "") -> dict[str, Any]:
    """Normalize a callback given as string, callable, ``Expr`` or dict to ``{"process_graph": ...}``."""
    if isinstance(value, dict) and isinstance(value.get("process_graph"), dict):
        return copy.deepcopy(value)
    if isinstance(value, str):
        parents = _CLIENT_PARENT_PARAMETERS.get((process_id, argument), list(parent_parameters[:1]))
        own = _spec_parameter_names(value)
        if not own:
            raise ProcessParameterInvalid(f"Unknown process {value!r} for argument {argument!r}.")
        if parents == ["x", "y"] and (len(own) == 1 or own[0] == "data"):
            arguments = {own[0]: [Param("x"), Param("y")]}
        else:
            arguments = {name: Param(name) for name in own if name in parents}
        value = call(value, **arguments)
    elif callable(value) and not isinstance(value, Expr):
        names = [p.name for p in inspect.signature(value).parameters.values()]
        common = [n for n in names if n in parent_parameters]
        if common:
            kwargs = {n: Expr(Param(n)) for n in common}
        elif names and parent_parameters:
            kwargs = {names[0]: Expr(Param(parent_parameters[0]))}
        else:
            kwargs = {}
        value = value(**kwargs)
    if not isinstance(value, Expr):
        raise ProcessParameterInvalid(
            f"Callback for {argument or 'argument'!r} must be a process id, callable, Expr or process graph.")
    return {"process_graph": value.to_dict()}


def band_math_callback(expression: str | Callable[[Expr], Expr] | Expr) -> dict[str, Any]:
    """A ``bands`` reducer from a formula string or callable (shared nodes per band)."""
    data = Expr(Param("data"))
    if isinstance(expression, str):
        result = _formula(expression, data)
    elif isinstance(expression, Expr):
        result = expression
    elif callable(expression):
        result = expression(data)
    else:
        raise ProcessParameterInvalid("band_math needs a formula string or a callable.")
    if not isinstance(result, Expr):
        raise ProcessParameterInvalid("band_math formula must use at least one band.")
    return {"process_graph": result.to_dict()}


def _formula(text: str, bands: Expr) -> Expr:
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ProcessParameterInvalid(f"Invalid band math formula {text!r}: {exc.msg}") from None
    binary = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__", ast.Pow: "__pow__"}
    compare = {ast.Gt: "gt", ast.GtE: "gte", ast.Lt: "lt", ast.LtE: "lte", ast.Eq: "eq", ast.NotEq: "neq"}

    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.Name):
            return bands[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = ev(node.operand)
            return -inner
        if isinstance(node, ast.BinOp) and type(node.op) in binary:
            left, right = ev(node.left), ev(node.right)
            if isinstance(left, Expr):
                return getattr(left, binary[type(node.op)])(right)
            if isinstance(right, Expr):
                reverse = binary[type(node.op)].replace("__", "__r", 1)
                if reverse == "__rpow__":
                    return call("power", base=left, p=right)
                return getattr(right, reverse)(left)
            if isinstance(node.op, ast.Pow):
                return call("power", base=left, p=right)
            return call(_CONSTANT_OPS[type(node.op)], x=left, y=right)
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in compare:
            return call(compare[type(node.ops[0])], x=ev(node.left), y=ev(node.comparators[0]))
        if isinstance(node, ast.BoolOp):
            values = [ev(v) for v in node.values]
            result = values[0]
            for value in values[1:]:
                result = call("and" if isinstance(node.op, ast.And) else "or", x=result, y=value)
            return result
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FORMULA_FUNCTIONS \
                and not node.keywords:
            name = {"abs": "absolute", "log": "log", "min": "min", "max": "max"}.get(node.func.id, node.func.id)
            args = [ev(a) for a in node.args]
            if name in ("min", "max"):
                return call(name, data=args)
            params = _spec_parameter_names(name)
            if len(args) > len(params):
                raise ProcessParameterInvalid(f"Too many arguments for {name}() in {text!r}.")
            return call(name, **dict(zip(params, args)))
        raise ProcessParameterInvalid(f"Unsupported element in band math formula {text!r}: {ast.dump(node)[:80]}")

    return ev(tree.body)


