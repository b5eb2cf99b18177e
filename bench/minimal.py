"""The floor: a minimal ASGI endpoint served exactly as ``campaign ingest`` serves ours.

It reads and parses the whole form body and answers a fixed TwiML reply of about the size ours
sends, so the gap between it and the real ingest is what our own code (signature check,
number protection, group commit, replies) costs, not what uvicorn or HTTP costs.

Run as ``python -m bench.minimal --port P``.
"""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import parse_qsl

TWIML = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Message>'
    b"Dank je! Jij en 1.234 anderen staan achter Hassan. Antwoord STOP om af te melden."
    b"</Message></Response>"
)
HEADERS = [
    (b"content-type", b"application/xml"),
    (b"content-length", str(len(TWIML)).encode()),
]


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answer every HTTP request with ``TWIML`` after reading its body to the end."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    body = bytearray()
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    parse_qsl(body.decode(), keep_blank_values=True)  # a form endpoint reads its form
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": TWIML})


def main() -> None:
    import os
    import socket
    import sys

    import uvicorn

    from ingest.serve import Supervisor, listener

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=1, help="processes sharing the port, as ingest")
    parser.add_argument("--fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    # The same settings as `campaign ingest` (loop and http left at "auto").
    options: dict[str, Any] = {"access_log": False, "log_level": "info", "server_header": False}
    if args.fd is not None:
        config = uvicorn.Config(app, **options)
        uvicorn.Server(config).run(sockets=[socket.socket(fileno=args.fd)])
    elif args.workers > 1:  # the way `campaign ingest --workers N` serves
        argv = [sys.executable, "-m", "bench.minimal"]
        Supervisor(argv, listener(args.host, args.port), args.workers, dict(os.environ)).run()
    else:
        uvicorn.run(app, host=args.host, port=args.port, **options)


if __name__ == "__main__":
    main()
