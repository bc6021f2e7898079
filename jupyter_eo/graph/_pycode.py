"""Python source formatting for code generation: literals, names, calls, operators, writer state."""
from __future__ import annotations

import builtins
import json
import keyword
import re
from typing import Any

MAX_LINE = 88

# Callback parameters the openeo client passes to callables, per DataCube method argument.
_CLIENT_PARENTS: dict[tuple[str, str], list[str]] = {
    ("reduce_dimension", "reducer"): ["data", "context"],
    ("apply_dimension", "process"): ["data", "context"],
    ("apply", "process"): ["x"],
    ("aggregate_spatial", "reducer"): ["data"],
    ("aggregate_temporal_period", "reducer"): ["data"],
    ("merge_cubes", "overlap_resolver"): ["x", "y"],
    ("load_collection", "properties"): ["value"],
    ("fit_curve", "function"): ["x", "parameters"],
    ("predict_curve", "function"): ["x", "parameters"],
}
_ARITHMETIC = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/"}
_COMPARISON = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "eq": "==", "neq": "!="}
_LOGICAL = {"and": "&", "or": "|"}
_PRECEDENCE = {"|": 7, "&": 9, ">": 6, ">=": 6, "<": 6, "<=": 6, "==": 6, "!=": 6, "+": 11, "-": 11,
               "*": 12, "/": 12, "~": 13, "**": 14}
_ATOM = 100
_BUILTINS = frozenset(dir(builtins))
_BASE_NAMES = {"load_collection": "cube", "load_stac": "stac", "reduce_dimension": "reduced", "apply": "applied",
               "merge_cubes": "merged", "aggregate_spatial": "aggregated", "aggregate_temporal_period": "periods",
               "save_result": "result", "mask": "masked", "filter_bbox": "filtered", "filter_temporal": "filtered",
               "filter_bands": "filtered", "ndvi": "ndvi_cube"}
_ROLE_NAMES = {"mask": "mask", "cube2": "other", "target": "target"}


def _py(value: Any) -> str:
    """A Python literal for a JSON value (single line)."""
    if value is None:
        return "None"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_py(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_py(str(k))}: {_py(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def _identifier(text: str, fallback: str) -> str:
    name = re.sub(r"\W+", "_", str(text)).strip("_").lower()
    if not name or name[0].isdigit():
        name = f"{fallback}_{name}" if name else fallback
    if keyword.iskeyword(name):
        name += "_"
    return name


def _client_processes() -> Any:
    import openeo.processes  # the client is a dependency; imported lazily to keep import light
    return openeo.processes


class _Code:
    """Rendered expression text with its operator precedence."""

    __slots__ = ("text", "prec", "is_expr")

    def __init__(self, text: str, prec: int = _ATOM, is_expr: bool = False) -> None:
        self.text, self.prec, self.is_expr = text, prec, is_expr


class _Writer:
    def __init__(self, variable: str, reserved: set[str] = frozenset()) -> None:
        self.names: set[str] = {"connection", "openeo", "jupyter_eo", "Parameter", variable, *reserved}
        self.imports: set[str] = set()
        self.process_imports: set[str] = set()
        self.parameters: dict[str, str] = {}
        self.needs_openeo = False

    def unique(self, base: str) -> str:
        if base in _BUILTINS:  # no local `max = ...` shadowing Python's max
            base = f"{base}_value"
        name, n = base, 1
        separator = "_" if base[-1:].isdigit() else ""
        while name in self.names or keyword.iskeyword(name):
            n += 1
            name = f"{base}{separator}{n}"
        self.names.add(name)
        return name

    def parameter(self, name: str) -> str:
        """The variable of graph parameter ``name`` (declared at the top of the code)."""
        if name not in self.parameters:
            self.parameters[name] = self.unique(_identifier(name, "param"))
        return self.parameters[name]

    def parameter_lines(self, specs: dict[str, dict[str, Any]]) -> list[str]:
        lines: list[str] = []
        ordered = [n for n in specs if n in self.parameters] + [n for n in self.parameters if n not in specs]
        for name in ordered:
            spec = specs.get(name) or {"name": name, "description": name}
            keywords = [("name", _py(name)), ("description", _py(spec.get("description") or name))]
            for key in ("schema", "default", "optional"):
                if key in spec:
                    keywords.append((key, _literal(spec[key], "")))
            lines += _assign(self.parameters[name], _call("Parameter", [], keywords, ""))
        return lines


# -- formatting ------------------------------------------------------------------------------

def _literal(value: Any, indent: str) -> str:
    """A Python literal, broken over lines when long (nested values indented)."""
    flat = _py(value)
    if len(flat) + len(indent) <= MAX_LINE or not isinstance(value, (dict, list)) or not value:
        return flat
    inner = indent + "    "
    if isinstance(value, dict):
        items = [f"{inner}{_py(str(k))}: {_literal(v, inner)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + f"\n{indent}}}"
    if all(not isinstance(v, (dict, list)) for v in value):
        return flat
    items = [f"{inner}{_literal(v, inner)}," for v in value]
    return "[\n" + "\n".join(items) + f"\n{indent}]"


def _call(func: str, positional: list[str], keywords: list[tuple[str, str]], indent: str,
          prefix_len: int = 0) -> str:
    parts = positional + [f"{k}={v}" for k, v in keywords]
    one_line = f"{func}({', '.join(parts)})"
    if "\n" not in one_line and len(indent) + prefix_len + len(one_line) <= MAX_LINE:
        return one_line
    inner = indent + "    "
    lines = [inner + p.replace("\n", "\n    ") + "," for p in parts]
    return f"{func}(\n" + "\n".join(lines) + f"\n{indent})"


def _assign(name: str, expr: str) -> list[str]:
    return f"{name} = {expr}".split("\n")


def _kwarg_name_ok(name: str) -> bool:
    return name.isidentifier() and not keyword.iskeyword(name)


def _wrap(code: _Code, minimum: int) -> str:
    return code.text if code.prec >= minimum else f"({code.text})"


def _binary(op: str, left: _Code, right: _Code) -> _Code:
    prec = _PRECEDENCE[op]
    if op == "**":
        left_text, right_text = _wrap(left, prec + 1), _wrap(right, prec)
    elif prec == 6:
        left_text, right_text = _wrap(left, prec + 1), _wrap(right, prec + 1)
    else:
        left_text, right_text = _wrap(left, prec), _wrap(right, prec + 1)
    if op == "**" and left_text.startswith("-"):
        left_text = f"({left_text})"  # -1 ** x would be -(1 ** x)
    return _Code(f"{left_text} {op} {right_text}", prec, is_expr=True)



def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
