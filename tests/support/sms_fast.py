"""A provider stand-in with no rate limit: Twilio's Messages API answer, at once, to every POST.

It reads the whole form (as Twilio does) and answers 201 with a message sid, so the
sender's throughput against it is what our own sending costs.  ``GET /`` answers 200 for
the readiness check.  Run as ``python -m tests.support.sms_fast --port P``.
"""

from __future__ import annotations

import argparse
import itertools
import json
from typing import Any
from urllib.parse import parse_qsl

_ids = itertools.count(1)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
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
    form = dict(parse_qsl(body.decode(), keep_blank_values=True))
    status = 201 if scope["method"] == "POST" else 200
    answer = json.dumps({"sid": f"SM{next(_ids):032x}", "status": "queued", "to": form.get("To")}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": answer})


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, access_log=False, log_level="warning", server_header=False
    )


if __name__ == "__main__":
    main()
