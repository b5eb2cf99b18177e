"""The schema: migrations build exactly the models, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import socket

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import OperationalError

from campaign.runtime import Runtime
from campaign.storage import db
from campaign.storage.models import Base


def test_migrations_match_the_models(runtime: Runtime) -> None:
    with runtime.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []


def test_upgrade_is_idempotent(runtime: Runtime) -> None:
    db.upgrade(runtime.engine)
    db.upgrade(runtime.engine)


@pytest.mark.timeout(60)  # without a connect timeout, libpq would wait for ever
def test_a_postgresql_server_that_never_answers_fails_in_seconds() -> None:
    # A listener that completes TCP handshakes but never speaks: as a stalled or cut-off server.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        engine = db.create_db_engine(f"postgresql://campaign@127.0.0.1:{port}/campaign")
        with pytest.raises(OperationalError, match="timeout"), engine.connect():
            pass
        engine.dispose()
