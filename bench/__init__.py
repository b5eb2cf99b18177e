"""The ingest benchmark: ``python -m bench`` (or ``./dev bench``).

It answers the questions of the ingest issue with figures measured in one run on this
machine: signed Twilio webhooks per second against the real ``campaign ingest`` process
and against a minimal ASGI endpoint served the same way (so the ratio shows what our
code costs on top of uvicorn), and CSV import rows per second against a raw bulk insert
of the same rows.  Everything runs on loopback in a temporary data dir; nothing shared
on the machine is touched unless ``--postgres URL`` asks for it.
"""
