"""The system under test: a temporary data dir, its database, embedded Redis and appeals.

By default everything lives in a fresh directory under /tmp (a SQLite file and the
embedded redis-server on a unix socket there), so the bench never touches the machine's
own services.  With ``--postgres URL`` a scratch database is created on that server
for this run and dropped afterwards; Redis stays embedded either way.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from campaign.access import screens
from campaign.appeals import registry as appeals
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage import db, embedded_redis

PUBLIC_URL = "https://campaign.example.org"
TWILIO_TOKEN = "bench-twilio-auth-token"  # noqa: S105 - a throwaway token for local requests
WEBHOOK_APPEAL = "hassan"
SHORT_CODE = "4777"
IMPORT_APPEAL = "archive-2008"


@dataclass
class Stack:
    root: Path
    settings: Settings
    runtime: Runtime
    database: str  # for people: "SQLite ..." or "PostgreSQL ..."
    screen_token: str  # an on-air screen token for WEBHOOK_APPEAL: the overlay's feeds need one
    live_token: str  # a wall-screen token for /live (every appeal): the dashboard asks for a login otherwise
    network_token: str = ""  # an on-air screen token for everything: campaign and network feeds

    @property
    def dialect(self) -> str:
        return self.runtime.engine.dialect.name

    def env(self) -> dict[str, str]:
        """The environment of a service process: ours only, no CAMPAIGN_* of the caller."""
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_")}
        return {
            **inherited,
            "CAMPAIGN_DATA_DIR": str(self.settings.data_dir),
            "CAMPAIGN_DATABASE_URL": self.settings.resolved_database_url,
            "CAMPAIGN_REDIS_URL": self.settings.redis_url,
            "CAMPAIGN_SECRET_KEY": self.settings.secret_key,
            "CAMPAIGN_PUBLIC_URL": self.settings.public_url,
            "CAMPAIGN_TWILIO_AUTH_TOKEN": self.settings.twilio_auth_token,
            # The bench is one client (127.0.0.1) playing every provider and a thousand viewers:
            # the per-client limits that protect a real deployment would measure themselves.
            "CAMPAIGN_RATE_LIMIT_WEBHOOKS": "0",
            "CAMPAIGN_RATE_LIMIT_FEEDS": "0",
            "CAMPAIGN_STREAMS_PER_CLIENT": "0",
            "CAMPAIGN_INGEST_CONCURRENCY": "0",
            # The overlay's feeds keep asking for a screen token, as in production: the viewers
            # and the wall screens carry the stack's tokens (screen_token, live_token).
        }


@contextlib.contextmanager
def open_stack(postgres: str | None = None) -> Iterator[Stack]:
    """Build the stack, migrated and with its appeals; tear all of it down afterwards."""
    # Short: the embedded Redis listens on a unix socket in the data dir.
    root = Path(tempfile.mkdtemp(prefix="cbench-", dir="/tmp"))
    data_dir = root / "data"
    data_dir.mkdir()
    try:
        redis_url = embedded_redis.start(data_dir)
        with _database(postgres, data_dir) as (database_url, description):
            settings = Settings.load(
                data_dir=data_dir,
                database_url=database_url,
                redis_url=redis_url,
                secret_key=secrets.token_urlsafe(32),
                public_url=PUBLIC_URL,
                twilio_auth_token=TWILIO_TOKEN,
                _env_file=None,
            )
            engine = db.create_db_engine(settings.resolved_database_url)
            db.upgrade(engine)
            engine.dispose()
            runtime = Runtime.open(settings, migrate=False)
            try:
                _add_appeals(runtime)
                token = screens.create(runtime.engine, "bench overlay", appeal=WEBHOOK_APPEAL, actor="bench")
                live = screens.create(runtime.engine, "bench wall screen", page="live", actor="bench")
                network = screens.create(runtime.engine, "bench network", campaign="all", actor="bench")
                yield Stack(root, settings, runtime, description, token, live, network)
            finally:
                runtime.close()
    finally:
        embedded_redis.stop(data_dir)
        shutil.rmtree(root, ignore_errors=True)


def _add_appeals(runtime: Runtime) -> None:
    featured = appeals.add_appeal(
        runtime.engine,
        slug=WEBHOOK_APPEAL,
        title="Stop the torture of Hassan",
        campaign="torture",
        person="Hassan",
        sms_text="Hassan is at risk of torture in detention. Reply JA to demand his safety.",
        keywords=["HASSAN"],
        goal=1_000_000,
        feature_on=SHORT_CODE,
    )
    archive = appeals.add_appeal(
        runtime.engine,
        slug=IMPORT_APPEAL,
        title="Historical signatures (import benchmark)",
        campaign="archive",
        person="the archive",
    )
    for summary in (featured, archive):
        runtime.live.publish_appeal(summary.public())


@contextlib.contextmanager
def _database(postgres: str | None, data_dir: Path) -> Iterator[tuple[str, str]]:
    if not postgres:
        path = (data_dir / "campaign.sqlite3").resolve()
        yield f"sqlite:///{path}", f"SQLite (WAL, synchronous=FULL) {path}"
        return
    name = f"campaign_bench_{uuid.uuid4().hex[:10]}"
    admin = db.create_db_engine(postgres, isolation_level="AUTOCOMMIT")
    if admin.dialect.name != "postgresql":
        raise SystemExit(f"--postgres: not a PostgreSQL URL: {postgres}")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name)
    try:
        yield url.render_as_string(hide_password=False), f"PostgreSQL, scratch database {url!r}"
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
