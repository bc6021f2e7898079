"""Run generated code against the package's graph-only connection (no HTTP)."""
from __future__ import annotations

from typing import Any

from jupyter_eo.graph.offline import GraphOnlyConnection


def run_code(code: str, variable: str = "cube") -> tuple[Any, dict[str, Any]]:
    """Execute generated lab-flavour code with a GraphOnlyConnection; return (variable value, namespace)."""
    connection = GraphOnlyConnection()
    source = code.replace('connection = jupyter_eo.connect("local")', "connection = __fake__")
    source = source.replace("import jupyter_eo\n", "")
    namespace: dict[str, Any] = {"__fake__": connection}
    exec(compile(source, "<generated>", "exec"), namespace)
    return namespace[variable], namespace
