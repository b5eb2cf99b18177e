"""The `campaign` command: composes the core, the ingest service and the dashboard.

Nothing imports this package; it imports the core, ``ingest`` and ``dashboard``.
"""
