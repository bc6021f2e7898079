"""The or-of-eq rewrite (SCL cloud masks) gives exactly the chain's nullable booleans."""
from __future__ import annotations

import numpy as np

from jupyter_eo.backend.engine import kernels as K
from jupyter_eo.backend.engine.kernels import ANY_EQUAL, compile_callback

CLASSES = [1, 3, 8, 9, 10, 11]


def _scl_mask_graph(extra_use: bool = False) -> dict:
    graph = {"a": {"process_id": "array_element",
                   "arguments": {"data": {"from_parameter": "data"}, "label": "SCL"}}}
    prev = None
    for i, c in enumerate(CLASSES):
        graph[f"eq{i}"] = {"process_id": "eq", "arguments": {"x": {"from_node": "a"}, "y": c}}
        if prev is None:
            prev = f"eq{i}"
        else:
            graph[f"or{i}"] = {"process_id": "or", "arguments": {"x": {"from_node": prev},
                                                                 "y": {"from_node": f"eq{i}"}}}
            prev = f"or{i}"
    if extra_use:  # eq0 also used outside the or-chain: must not be fused away
        graph["final"] = {"process_id": "add", "arguments": {"x": {"from_node": prev},
                                                             "y": {"from_node": "eq0"}}}
        prev = "final"
    graph[prev]["result"] = True
    return graph


def _chain(x):
    """The registered eq/or processes, chained as the graph says."""
    out = K.call_process("eq", {"x": x, "y": CLASSES[0]})
    for c in CLASSES[1:]:
        out = K.call_process("or", {"x": out, "y": K.call_process("eq", {"x": x, "y": c})})
    return out


def test_or_of_eq_is_one_step_and_identical():
    cb = compile_callback(_scl_mask_graph(), array_param="data", labels=("B04", "SCL"))
    assert [pid for _, pid, _ in cb.steps] == ["array_element", ANY_EQUAL]
    rng = np.random.default_rng(1)
    scl = rng.integers(0, 13, (64, 80)).astype(np.float32)
    scl[scl == 12] = np.nan
    out = cb([np.zeros_like(scl), scl])
    expected = _chain(scl)
    assert out.dtype == expected.dtype == np.float32
    assert np.array_equal(out, expected, equal_nan=True)
    assert np.isnan(out).any() and (out == 1).any() and (out == 0).any()


def test_integer_and_scalar_operands_match_the_chain():
    scl = np.arange(13, dtype=np.uint8).reshape(1, 13)
    fused, chain = K._any_equal(scl, tuple(CLASSES)), _chain(scl)
    assert fused.dtype == chain.dtype == bool  # integers cannot be null: plain booleans
    assert np.array_equal(fused, chain)
    assert K._any_equal(3.0, (1, 3)) is True
    assert K._any_equal(None, (1, 3)) is None


def test_shared_eq_is_not_fused():
    cb = compile_callback(_scl_mask_graph(extra_use=True), array_param="data", labels=("SCL",))
    pids = [pid for _, pid, _ in cb.steps]
    assert "eq" in pids and "add" in pids
    scl = np.array([[1.0, 2.0, np.nan, 11.0]], dtype=np.float32)
    expected = K.call_process("add", {"x": _chain(scl), "y": K.call_process("eq", {"x": scl,
                                                                                    "y": 1})})
    out = cb([scl])
    assert out.dtype == expected.dtype
    assert np.array_equal(out, expected, equal_nan=True)
