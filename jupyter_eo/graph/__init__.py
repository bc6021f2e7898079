"""openEO process graphs as the contract: model, builder, code generation, loading, UDPs and UDFs."""
from __future__ import annotations

from jupyter_eo.graph.builder import INDEX_FORMULAS, Cube, Expr, GraphBuilder, Param, call
from jupyter_eo.graph.codegen import to_python
from jupyter_eo.graph.model import canonical, graphs_equal, normalize_ids, unwrap
from jupyter_eo.graph.parse import from_json, from_python, summarize, to_builder

__all__ = ["GraphBuilder", "Cube", "Expr", "Param", "call", "INDEX_FORMULAS", "to_python", "canonical",
           "graphs_equal", "normalize_ids", "unwrap", "from_json", "from_python", "summarize", "to_builder"]
