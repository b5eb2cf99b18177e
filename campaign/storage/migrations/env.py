"""Alembic environment: migrations run on the engine the caller hands over."""

from __future__ import annotations

from alembic import context

from campaign.storage.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:  # run by the alembic CLI: use the configured database
    from campaign.settings import get_settings
    from campaign.storage.db import create_db_engine

    engine = create_db_engine(get_settings().resolved_database_url)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
