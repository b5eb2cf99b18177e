"""``python -m ingest --fd N``: one ingest process serving a socket its supervisor bound.

The supervisor (``campaign ingest --workers N``, in ``ingest.serve``) starts its children this
way, so the ingest service never runs the command line (which sits above it).
"""

from __future__ import annotations

import argparse

from campaign import logs
from campaign.settings import get_settings
from ingest import serve


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__)
    parser.add_argument("--fd", type=int, required=True, help="the inherited listening socket")
    arguments = parser.parse_args()
    settings = get_settings()  # the supervisor passes the resolved Redis URL in the environment
    logs.configure(settings)
    serve.run_on_fd(settings, arguments.fd)


main()
