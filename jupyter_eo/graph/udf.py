"""UDF helpers: get UDF code from a file, a cell function or text, check its entry point with ``ast``
before sending, and build ``run_udf`` callbacks / ``openeo.UDF`` objects."""
from __future__ import annotations

import ast
import inspect
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from jupyter_eo.errors import ProcessParameterInvalid

__all__ = ["ENTRY_POINTS", "UdfInfo", "udf_code", "check_udf", "run_udf_callback", "to_openeo_udf"]

#: Entry points of the openEO Python UDF runtime and their positional parameters.
ENTRY_POINTS: dict[str, tuple[str, ...]] = {
    "apply_datacube": ("cube", "context"),
    "apply_timeseries": ("series", "context"),
    "apply_vectorcube": ("geometries", "cube", "context"),
    "apply_udf_data": ("data",),
    "apply_metadata": ("metadata", "context"),
}


@dataclass
class UdfInfo:
    """What ``check_udf`` found: the entry point(s) and non-fatal remarks."""

    entry_point: str
    parameters: list[str]
    entry_points: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def udf_code(source: str | Path | Callable[..., Any]) -> str:
    """UDF source text from a ``.py`` file path, a function defined in a cell, or code text.

    For a function, its module-level imports are not included: import inside the function
    or pass the code as text/file instead.
    """
    if callable(source) and not isinstance(source, (str, Path)):
        try:
            return textwrap.dedent(inspect.getsource(source))
        except (OSError, TypeError):
            raise ProcessParameterInvalid("Could not read the source of the UDF function.") from None
    if isinstance(source, Path) or (isinstance(source, str) and "\n" not in source and source.endswith(".py")):
        path = Path(source)
        if not path.is_file():
            raise ProcessParameterInvalid(f"UDF file not found: {str(path)[:200]}")
        return path.read_text("utf-8")
    if not isinstance(source, str) or not source.strip():
        raise ProcessParameterInvalid("UDF code is empty.")
    return source


def check_udf(code: str, expected: str | None = None) -> UdfInfo:
    """Parse UDF code and check its entry point signature; raises ``ProcessParameterInvalid``.

    ``expected`` requires a specific entry point (e.g. ``"apply_timeseries"``).
    """
    try:
        tree = ast.parse(code)
    except SyntaxError as exc:
        raise ProcessParameterInvalid(f"UDF code has a syntax error on line {exc.lineno}: {exc.msg}") from None
    functions = {node.name: node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    found = [name for name in ENTRY_POINTS if name in functions]
    if expected is not None and expected not in ENTRY_POINTS:
        raise ProcessParameterInvalid(f"Unknown UDF entry point {expected!r}; known: {', '.join(ENTRY_POINTS)}.")
    if not found:
        raise ProcessParameterInvalid(
            f"UDF code defines none of the entry points {', '.join(ENTRY_POINTS)} at module level.")
    if expected is not None and expected not in found:
        raise ProcessParameterInvalid(f"UDF code does not define {expected}(); it defines {', '.join(found)}.")
    name = expected or found[0]
    node = functions[name]
    if isinstance(node, ast.AsyncFunctionDef):
        raise ProcessParameterInvalid(f"UDF entry point {name}() must not be async.")
    args = node.args
    positional = [a.arg for a in args.posonlyargs + args.args]
    required = len(positional) - len(args.defaults)
    wanted = ENTRY_POINTS[name]
    if args.vararg is None and (len(positional) < len(wanted) if name != "apply_udf_data" else not positional):
        raise ProcessParameterInvalid(
            f"UDF {name}() must accept {len(wanted)} argument(s) ({', '.join(wanted)}), got {len(positional)}.")
    if required > len(wanted):
        raise ProcessParameterInvalid(
            f"UDF {name}() requires {required} arguments, the runtime passes {len(wanted)} ({', '.join(wanted)}).")
    info = UdfInfo(entry_point=name, parameters=positional, entry_points=found)
    if len(found) > 1:
        info.warnings.append(f"Several entry points defined ({', '.join(found)}); the runtime picks one.")
    if not any(isinstance(n, ast.Return) and n.value is not None for n in ast.walk(node)) \
            and name != "apply_udf_data":
        info.warnings.append(f"{name}() never returns a value.")
    return info


def run_udf_callback(code: str, *, runtime: str = "Python", version: str | None = None,
                     context: dict[str, Any] | None = None, data_parameter: str = "data",
                     check: bool = True) -> dict[str, Any]:
    """A callback ``{"process_graph": {"runudf1": run_udf(...)}}`` for apply/apply_dimension/reduce.

    Use ``data_parameter="x"`` for ``apply``. Checked with ``check_udf`` first (Python only).
    """
    if check and runtime.lower() == "python":
        check_udf(code)
    arguments: dict[str, Any] = {"data": {"from_parameter": data_parameter}, "udf": code, "runtime": runtime}
    if version is not None:
        arguments["version"] = version
    if context is not None:
        arguments["context"] = context
    return {"process_graph": {"runudf1": {"process_id": "run_udf", "arguments": arguments, "result": True}}}


def to_openeo_udf(source: str | Path | Callable[..., Any], *, runtime: str = "Python", version: str | None = None,
                  context: dict[str, Any] | None = None) -> Any:
    """A checked ``openeo.UDF`` for the client (``cube.apply_dimension(process=udf, dimension="t")``)."""
    import openeo
    code = udf_code(source)
    if runtime.lower() == "python":
        check_udf(code)
    return openeo.UDF(code, runtime=runtime, version=version, context=context)
