"""The schema: migrations build exactly the models, on SQLite and PostgreSQL alike."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from campaign import db
from campaign.models import Base
from campaign.runtime import Runtime


def test_migrations_match_the_models(runtime: Runtime) -> None:
    with runtime.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_is_idempotent(runtime: Runtime) -> None:
    db.upgrade(runtime.engine)
    db.upgrade(runtime.engine)
