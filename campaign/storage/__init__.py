"""Storage: the engine, the schema (models and their column types), migrations, the embedded Redis.

Uses only settings and errors; every other area stands on it.  Migrations import nothing
of the application but ``campaign.storage.types``.
"""
