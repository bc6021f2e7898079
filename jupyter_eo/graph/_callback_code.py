"""Code generation for callbacks: lambdas, local functions, operators, ``openeo.processes`` calls."""
from __future__ import annotations

import keyword
from typing import Any

from jupyter_eo.graph._pycode import (_ARITHMETIC, _ATOM, _BUILTINS, _COMPARISON, MAX_LINE, _assign, _binary, _call,
                                      _client_processes, _Code, _identifier, _kwarg_name_ok, _literal, _py, _wrap,
                                      _Writer)
from jupyter_eo.graph.model import (FlatGraph, is_callback, is_node_ref, is_parameter_ref, iter_parameter_refs,
                                    post_order, reference_counts, result_node_id)

# -- callbacks -------------------------------------------------------------------------------

def _spec_callback_parents(process_id: str, argument: str) -> list[str] | None:
    from jupyter_eo.graph.builder import callback_parameters
    return callback_parameters(process_id, argument)


class _CallbackRenderer:
    """Renders one callback graph as a lambda or a local ``def`` (when nodes are shared)."""

    def __init__(self, writer: _Writer, graph: FlatGraph, params: list[str], block: list[str],
                 indent: str, hint: str) -> None:
        self.w, self.graph, self.params = writer, graph, params
        self.block, self.indent, self.hint = block, indent, hint
        self.refs = reference_counts(graph)
        self.local: dict[str, str] = {}

    def render(self) -> str:
        result = result_node_id(self.graph)
        order = post_order(self.graph, result)
        shared = [n for n in order if self.refs[n] > 1]
        signature = ", ".join(self.params)
        if not shared:
            names_before = set(self.w.names)
            scratch: list[str] = []
            attempt = _CallbackRenderer(self.w, self.graph, self.params, scratch, self.indent, self.hint)
            body = attempt.node(result).text
            text = f"lambda {signature}: {body}" if signature else f"lambda: {body}"
            if "\n" not in text and len(text) + len(self.indent) <= MAX_LINE - 5:
                self.block.extend(scratch)
                return text
            self.w.names = names_before
        name = self.w.unique(self.hint)
        inner = self.indent + "    "
        body_lines: list[str] = []
        sub = _CallbackRenderer(self.w, self.graph, self.params, body_lines, inner, self.hint)
        for node_id in order[:-1]:
            if node_id not in shared and not self._too_long(sub, node_id):
                continue
            var = self.w.unique(self._local_name(node_id))
            expr = sub.node(node_id).text
            sub.local[node_id] = var
            body_lines += [inner + line for line in _assign(var, expr)]
        final = sub.node(result).text.split("\n")
        body_lines += [f"{inner}return {final[0]}"] + [inner + line for line in final[1:]]
        top_level = not self.indent
        if top_level and self.block and self.block[-1]:
            self.block.append("")
        self.block.append(f"{self.indent}def {name}({signature}):")
        self.block.extend(body_lines)
        if top_level:
            self.block.append("")
        return name

    def _too_long(self, sub: _CallbackRenderer, node_id: str) -> bool:
        """Whether a node's inline text is long enough to deserve its own line in a def."""
        names_before = set(self.w.names)
        scratch = _CallbackRenderer(self.w, self.graph, self.params, [], sub.indent, self.hint)
        scratch.local = dict(sub.local)
        text = scratch.node(node_id).text
        self.w.names = names_before
        return len(text) > 40 and "\n" not in text

    def _local_name(self, node_id: str) -> str:
        node = self.graph[node_id]
        args = node.get("arguments", {})
        if node["process_id"] == "array_element" and isinstance(args.get("label"), str):
            return _identifier(args["label"], "band")
        return _identifier(node["process_id"], "value")

    def value(self, value: Any) -> _Code:
        if is_node_ref(value):
            return self.node(value["from_node"])
        if is_parameter_ref(value):
            name = value["from_parameter"]
            if name in self.params:
                return _Code(name, is_expr=True)
            return _Code(self.w.parameter(name))
        if is_callback(value):
            raise AssertionError("callbacks are handled by node()")
        if isinstance(value, list):
            return _Code("[" + ", ".join(self.value(v).text for v in value) + "]")
        if isinstance(value, dict):
            return _Code("{" + ", ".join(f"{_py(str(k))}: {self.value(v).text}" for k, v in value.items()) + "}")
        return _Code(_py(value))

    def node(self, node_id: str) -> _Code:
        if node_id in self.local:
            return _Code(self.local[node_id], is_expr=True)
        node = self.graph[node_id]
        pid, args, namespace = node["process_id"], node.get("arguments", {}), node.get("namespace")
        rendered: dict[str, _Code] = {}
        for key, value in args.items():
            if is_callback(value):
                parents = _spec_callback_parents(pid, key)
                rendered[key] = _Code(_render_callback(self.w, value, parents, self.block, self.indent,
                                                       f"{_identifier(key, 'callback')}"))
            else:
                rendered[key] = self.value(value)
        if namespace is None:
            op = _operator(pid, args, rendered)
            if op is not None:
                return op
        return _process_call(self.w, pid, namespace, args, rendered)


def _operator(pid: str, args: dict[str, Any], rendered: dict[str, _Code]) -> _Code | None:
    """Render arithmetic/comparisons as Python operators when the client builds the same node."""
    if pid in _ARITHMETIC and set(args) == {"x", "y"}:
        if not (rendered["x"].is_expr or rendered["y"].is_expr):
            return None
        return _binary(_ARITHMETIC[pid], rendered["x"], rendered["y"])
    if pid in _COMPARISON and set(args) == {"x", "y"} and rendered["x"].is_expr:
        return _binary(_COMPARISON[pid], rendered["x"], rendered["y"])
    if pid == "power" and set(args) == {"base", "p"} and rendered["base"].is_expr:
        return _binary("**", rendered["base"], rendered["p"])
    if pid == "array_element" and set(args) in ({"data", "label"}, {"data", "index"}) and rendered["data"].is_expr:
        key = args.get("label", args.get("index"))
        if isinstance(key, (str, int)) and not isinstance(key, bool):
            return _Code(f"{_wrap(rendered['data'], _ATOM)}[{_py(key)}]", is_expr=True)
    return None


def _process_call(writer: _Writer, pid: str, namespace: str | None, args: dict[str, Any],
                  rendered: dict[str, _Code]) -> _Code:
    procs = _client_processes()
    from jupyter_eo.specs import process_spec
    spec = process_spec(pid) or {}
    order = [p["name"] for p in spec.get("parameters", [])]
    keys = sorted(args, key=lambda k: (order.index(k) if k in order else len(order), k))
    method = pid if hasattr(procs.ProcessBuilder, pid) and not keyword.iskeyword(pid) else f"{pid}_"
    known = namespace is None and hasattr(procs, method) and callable(getattr(procs, method)) \
        and all(_kwarg_name_ok(k) for k in args) and (not order or set(args) <= set(order))
    if known and keys and order and keys[0] == order[0] and rendered[keys[0]].is_expr:
        receiver = _wrap(rendered[keys[0]], _ATOM)
        text = _call(f"{receiver}.{method}", [], [(k, rendered[k].text) for k in keys[1:]], "")
        return _Code(text, is_expr=True)
    if known:
        if method in _BUILTINS:  # never shadow Python's max/min/round/... in the user's namespace
            writer.needs_openeo = True
            func = f"openeo.processes.{method}"
        else:
            writer.process_imports.add(method)
            func = method
        return _Code(_call(func, [], [(k, rendered[k].text) for k in keys], ""), is_expr=True)
    writer.process_imports.add("process")
    keywords = [("namespace", _py(namespace))] if namespace is not None else []
    if all(_kwarg_name_ok(k) and k not in ("process_id", "arguments", "namespace") for k in args):
        keywords = [(k, rendered[k].text) for k in keys] + keywords
    else:
        mapping = "{" + ", ".join(f"{_py(k)}: {rendered[k].text}" for k in keys) + "}"
        keywords = [("arguments", mapping)] + keywords
    return _Code(_call("process", [_py(pid)], keywords, ""), is_expr=True)


def _render_callback(writer: _Writer, value: dict[str, Any], parents: list[str] | None, block: list[str],
                     indent: str, hint: str) -> str:
    """A callback argument as code: a process name string, ``openeo.UDF``, lambda or def name."""
    graph = value["process_graph"]
    used = list(dict.fromkeys(
        name for node in graph.values() for name in iter_parameter_refs(node.get("arguments", {}), deep=False)))
    allowed = parents if parents is not None else used
    params = [p for p in allowed if p in used]
    if len(graph) == 1 and parents:
        node = next(iter(graph.values()))
        args = node.get("arguments", {})
        if "namespace" not in node and _is_string_callback(node["process_id"], args, parents):
            return _py(node["process_id"])
        if node["process_id"] == "run_udf" and args.get("data") == {"from_parameter": parents[0]} \
                and isinstance(args.get("udf"), str) and isinstance(args.get("runtime"), str) \
                and set(args) <= {"data", "udf", "runtime", "version", "context"} \
                and not any(is_callback(v) for v in args.values()):
            writer.needs_openeo = True
            keywords = [(k, _literal(args[k], "")) for k in ("runtime", "version", "context") if k in args]
            code = _udf_code_literal(args["udf"])
            if "\n" in code:
                var = writer.unique("udf_code")
                block.append(f"{indent}{var} = {code}")
                code = var
            return _call("openeo.UDF", [code], keywords, "")
    return _CallbackRenderer(writer, graph, params, block, indent, hint).render()


def _udf_code_literal(code: str) -> str:
    if "\n" in code and '"""' not in code and "\\" not in code and not code.endswith('"') \
            and code.isprintable() is False and all(ch == "\n" or ch.isprintable() for ch in code):
        return '"""' + code + '"""'
    return _py(code)


def _is_string_callback(pid: str, args: dict[str, Any], parents: list[str]) -> bool:
    """True when ``reducer="pid"`` makes the client emit exactly ``args``."""
    procs = _client_processes()
    func = getattr(procs, pid, None)
    if not callable(func) or pid in ("process",):
        return False
    from openeo.internal.processes.builder import get_parameter_names
    own = get_parameter_names(func)
    if parents == ["x", "y"] and (len(own) == 1 or own[:1] == ["data"]):
        expected = {own[0]: [{"from_parameter": p} for p in parents]}
    else:
        expected = {p: {"from_parameter": p} for p in set(own) & set(parents)}
    return args == expected


