"""The benchmark: ``python -m bench`` (or ``./dev bench``).

It answers the questions of the ingest issue with figures measured in one run on this
machine: signed Twilio webhooks per second against the real ``campaign ingest`` process
and against a minimal ASGI endpoint served the same way (so the ratio shows what our
code costs on top of uvicorn), and CSV import rows per second against a raw bulk insert
of the same rows.  For the live screens it measures how fast a new total reaches the
overlay's event stream, whether a thousand overlay viewers on one ingest all get it
within a second, and what each open wall screen costs the dashboard's Streamlit server
in CPU.  Everything runs on loopback in a temporary data dir; nothing shared
on the machine is touched unless ``--postgres URL`` asks for it.
"""
