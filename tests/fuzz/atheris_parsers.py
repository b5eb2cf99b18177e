"""Coverage-guided fuzzing (atheris) of the parsers that read untrusted bytes before anything else.

Run by ``tests/fuzz/test_atheris.py`` for a bounded number of inputs; by hand for longer::

    .venv/bin/python -m tests.fuzz.atheris_parsers -runs=1000000

Each input is read as a JSON body (strict reader, then a Meta notification), as a form
(Twilio and Vonage), and as provider ids and texts.  The only exception allowed out is
``BadRequest``: anything else would be a 500.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import atheris

with atheris.instrument_imports(include=["campaign", "ingest"]):  # not the libraries: slow
    from campaign.errors import BadRequest
    from ingest.jsonbody import bad_text, read_json
    from ingest.providers.base import check_id, check_text, form_fields
    from ingest.social.meta import read_notification

NOW = datetime(2026, 11, 21, 20, 15, tzinfo=UTC)


def one_input(data: bytes) -> None:
    try:
        payload = read_json(data)
        bad_text(payload)
        read_notification(payload, NOW)
    except BadRequest:
        pass
    try:
        fields = form_fields(data)
        for name, value in fields.items():
            check_id(name, "name")
            check_text(value)
    except BadRequest:
        pass


def main() -> None:
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
