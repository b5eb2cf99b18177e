"""A stand-in for OSV's vulnerability API (``POST /v1/query``), for the vulnerability check's tests.

It answers each query from ``advisories`` (package name -> OSV records) with the records whose
ECOSYSTEM range holds the queried release, as OSV does; nothing affected gets ``{}``.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from packaging.version import Version


class OsvApi:
    def __init__(self, advisories: dict[str, list[dict[str, Any]]]):
        self.advisories = advisories
        self.queries: list[dict[str, Any]] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/query"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> OsvApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                query = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                api.queries.append(query)
                release = Version(query["version"])
                vulns = [
                    record
                    for record in api.advisories.get(query["package"]["name"], [])
                    if any(affects(affected, release) for affected in record["affected"])
                ]
                body = json.dumps({"vulns": vulns} if vulns else {}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def affects(affected: dict[str, Any], release: Version) -> bool:
    """Whether one of ``affected``'s ranges (introduced, then fixed) holds ``release``."""
    for span in affected["ranges"]:
        events = {key: value for event in span["events"] for key, value in event.items()}
        if Version(events["introduced"]) <= release < Version(events["fixed"]):
            return True
    return False


def advisory(ident: str, package: str, fixed: str) -> dict[str, Any]:
    """An OSV record: every release of ``package`` before ``fixed`` is affected."""
    return {
        "schema_version": "1.6.0",
        "id": ident,
        "summary": f"a known vulnerability in {package}",
        "aliases": [],
        "affected": [
            {
                "package": {"name": package, "ecosystem": "PyPI"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": fixed}]}],
            }
        ],
    }
