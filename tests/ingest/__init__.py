"""Tests of the ingest service through the real ASGI app and real processes."""
