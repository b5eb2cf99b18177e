"""The parts a process needs (engine, vault, write path, live view), built from the settings."""

from __future__ import annotations

from dataclasses import dataclass

import redis
from sqlalchemy import Engine

from campaign.inbound.recorder import Recorder
from campaign.live.view import LiveView, connect
from campaign.settings import Settings
from campaign.storage import db, embedded_redis
from campaign.supporters import keys
from campaign.supporters.phones import PhoneVault


def redis_url(settings: Settings, *, start: bool = True) -> str:
    """The configured Redis URL, or the embedded server's (started if need be)."""
    if settings.redis_url:
        return settings.redis_url
    if start:
        return embedded_redis.start(settings.data_dir)
    return embedded_redis.url_for(settings.data_dir)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    vault: PhoneVault
    recorder: Recorder
    redis: redis.Redis
    redis_url: str
    live: LiveView

    @classmethod
    def open(cls, settings: Settings, *, migrate: bool = True) -> Runtime:
        engine = db.create_db_engine(settings.resolved_database_url)
        if migrate:
            db.upgrade(engine)
        vault = PhoneVault(settings.resolved_secret_key(), settings.resolved_encryption_keys())
        db.check_secret_key(engine, vault.fingerprint)
        keys.check_keyring(engine, vault)
        url = redis_url(settings)
        client = connect(url)
        return cls(
            settings=settings,
            engine=engine,
            vault=vault,
            recorder=Recorder(
                engine,
                settings.yes_words,
                settings.default_language,
                settings.thank_you_delay,
                extra_keywords=settings.extra_keywords,
            ),
            redis=client,
            redis_url=url,
            live=LiveView(client),
        )

    def close(self) -> None:
        self.redis.close()
        self.engine.dispose()
