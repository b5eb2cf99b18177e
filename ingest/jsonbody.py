"""JSON request bodies read strictly, so nothing a client sends can turn into a 500.

Python's ``json`` module accepts things the databases refuse later (``NaN``, ``1e999``,
lone surrogates, NUL characters) and overflows the stack on deeply nested arrays.  Every
JSON endpoint reads its body here: such bodies are a 400 with the reason, up front.
"""

from __future__ import annotations

import json
import math
from typing import Any

from campaign.errors import BadRequest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is too large a number")
    return value


def read_json(body: bytes) -> Any:
    """Parse a UTF-8 JSON body; raise BadRequest with the reason when it is not one."""
    if not body.strip():
        raise BadRequest("the body is empty; send JSON")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8") from None
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except json.JSONDecodeError as error:
        raise BadRequest(
            f"the body is not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None
    except (ValueError, RecursionError) as error:  # NaN, 1e999, 5000-digit integers, deep nesting
        reason = str(error) if isinstance(error, ValueError) else "nested too deeply"
        raise BadRequest(f"the body is not JSON we accept: {reason[:120]}") from None


def bad_text(value: Any) -> str | None:
    """Why a parsed JSON value cannot be stored as text (NUL, lone surrogates), or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return "text contains a NUL character"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text contains an unpaired surrogate (\\ud800-\\udfff)"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            reason = bad_text(key) or bad_text(item)
            if reason:
                return reason
    elif isinstance(value, list):
        for item in value:
            reason = bad_text(item)
            if reason:
                return reason
    return None
