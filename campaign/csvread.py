"""Reading the header of a CSV file people made, with one clear line when it cannot be read."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import BinaryIO

from campaign.errors import BadRequest


def header_of(reader: csv.DictReader[str]) -> list[str]:
    """The header row, or BadRequest naming line 1 when it cannot be read at all."""
    try:
        return list(reader.fieldnames or [])
    except UnicodeDecodeError:
        raise BadRequest('line 1: the file is not UTF-8; save it as "CSV UTF-8"') from None
    except csv.Error as error:
        raise BadRequest(f"line 1: malformed CSV: {error}") from None


class Lines:
    """A CSV file's lines as text, read line by line so a bad line is known by its number.

    UTF-8 (with or without a BOM).  A line that is not UTF-8 or holds a NUL byte is handed
    on blank (the csv reader skips it, keeping its line count) and remembered in ``bad``,
    so the rest of the file is still read; a first line like that is the header, and
    nothing can be read without it.
    """

    def __init__(self, handle: BinaryIO):
        self.handle = handle
        self.bad: list[tuple[int, str]] = []

    def __iter__(self) -> Iterator[str]:
        for number, raw in enumerate(self.handle, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                reason = "the line holds a NUL byte; skipped" if "\x00" in text else None
            except UnicodeDecodeError:
                reason = 'the line is not UTF-8 (save the file as "CSV UTF-8"); skipped'
            if reason is None:
                yield text
            elif number == 1:
                raise BadRequest(f"line 1: {reason.split(';')[0]}")
            else:
                self.bad.append((number, reason))
                yield "\n" if raw.endswith(b"\n") else ""
