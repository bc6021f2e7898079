"""Text processes: text_begins, text_ends, text_contains, text_concat."""
from __future__ import annotations

import json
from typing import Any

import numpy as np

from jupyter_eo.backend.limits import MAX_TEXT_CHARS, check_created
from jupyter_eo.errors import ProcessParameterInvalid

from .registry import process
from .values import as_list, is_bool, is_null, is_number, to_py


def _check_text(process_id: str, name: str, value: Any, nullable: bool) -> None:
    if isinstance(value, str) or (nullable and value is None):
        return
    raise ProcessParameterInvalid(
        f"The value passed for parameter '{name}' in process '{process_id}' is invalid: "
        f"expected a string, got {type(value).__name__}.")


def _fold(text: str, case_sensitive: bool) -> str:
    return text if case_sensitive else text.casefold()


def _text_test(process_id: str, data: Any, pattern: Any, case_sensitive: bool,
               test: Any) -> Any:
    _check_text(process_id, "data", data, nullable=True)
    _check_text(process_id, "pattern", pattern, nullable=False)
    if data is None:
        return None
    return test(_fold(data, case_sensitive), _fold(pattern, case_sensitive))


@process("text_begins")
def text_begins(data: Any, pattern: Any, case_sensitive: bool = True) -> Any:
    """True if ``data`` starts with ``pattern``; null passes through."""
    return _text_test("text_begins", data, pattern, case_sensitive, str.startswith)


@process("text_ends")
def text_ends(data: Any, pattern: Any, case_sensitive: bool = True) -> Any:
    """True if ``data`` ends with ``pattern``; null passes through."""
    return _text_test("text_ends", data, pattern, case_sensitive, str.endswith)


@process("text_contains")
def text_contains(data: Any, pattern: Any, case_sensitive: bool = True) -> Any:
    """True if ``data`` contains ``pattern``; null passes through."""
    return _text_test("text_contains", data, pattern, case_sensitive,
                      lambda text, part: part in text)


def text_of(value: Any) -> str:
    """The openEO text representation of a string, number, boolean or null."""
    value = to_py(value)
    if value is None or is_null(value):
        return "null"
    if isinstance(value, str):
        return value
    if is_bool(value):
        return "true" if value else "false"
    if is_number(value):
        return json.dumps(value) if np.isfinite(value) else str(value)
    raise ProcessParameterInvalid(
        f"text_concat can only join strings, numbers, booleans and null, got "
        f"{type(value).__name__}.")


@process("text_concat")
def text_concat(data: Any, separator: Any = "") -> str:
    """The texts of all elements joined with ``separator``."""
    values = as_list(data, "text_concat")
    parts, glue = [text_of(v) for v in values], text_of(separator)
    check_created(sum(map(len, parts)) + len(glue) * max(0, len(parts) - 1), "text_concat",
                  MAX_TEXT_CHARS, "characters")
    return glue.join(parts)
