"""Engine, sessions and migrations.

SQLite runs in WAL mode with ``synchronous=FULL``: a commit is on disk before ingest
answers 2xx.  Group commit in the ingest service keeps that affordable.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from campaign import files
from campaign.errors import ConfigurationError
from campaign.storage.models import SystemValue

MIGRATIONS = Path(__file__).parent / "migrations"


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(f"CAMPAIGN_DATABASE_URL: cannot read {url!r}") from None
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            files.private_dir(Path(parsed.database).parent)
        kwargs.setdefault("connect_args", {"timeout": 30})
    else:
        kwargs.setdefault("pool_pre_ping", True)
        kwargs.setdefault("pool_size", 10)
        if "connect_timeout" not in parsed.query:
            # A database behind a dropped route must fail in seconds (the ingest then spools),
            # not after the kernel's TCP timeout of minutes.
            kwargs.setdefault("connect_args", {"connect_timeout": 5})
    # Statement parameters hold hashes and ciphertexts; keep them out of error messages anyway.
    kwargs.setdefault("hide_parameters", True)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as error:
        raise ConfigurationError(f"CAMPAIGN_DATABASE_URL: no driver for {url!r} ({error})") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def refused(error: BaseException) -> bool:
    """The database answered and refused (a constraint, bad data), as opposed to being away.

    A dropped connection is an OperationalError, or another DBAPIError that invalidated the
    connection; those are worth waiting out, a refusal is not.
    """
    return isinstance(error, DBAPIError) and not (
        isinstance(error, OperationalError) or error.connection_invalidated
    )


def error_codes(error: BaseException) -> str:
    """A database error's kind and codes, never its message: a data error's message can quote
    the values (a supporter's text) it refused."""
    cause = getattr(error, "orig", None) or error
    parts = [type(cause).__name__]
    for code in ("sqlstate", "sqlite_errorname"):  # psycopg, sqlite3
        if getattr(cause, code, None):
            parts.append(str(getattr(cause, code)))
    constraint = getattr(getattr(cause, "diag", None), "constraint_name", None)
    if constraint:
        parts.append(f"constraint {constraint}")
    return ", ".join(parts)


def dialect_insert(connection: Connection, table: Any) -> Any:
    """INSERT with ON CONFLICT support, for the dialect of this connection."""
    return insert_for(connection.dialect.name, table)


def insert_for(dialect: str, table: Any) -> Any:
    """INSERT with ON CONFLICT support, for a dialect by name (for statements built once)."""
    module = postgresql if dialect == "postgresql" else sqlite
    return module.insert(table)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    from alembic import command

    try:
        command.upgrade(alembic_config(engine), "head")
    except OperationalError as error:
        raise ConfigurationError(f"database not reachable: {_first_line(error)}") from None


def check_secret_key(engine: Engine, fingerprint: str) -> None:
    """Refuse to run with another secret key than the one the stored numbers were made with."""
    with Session(engine) as session, session.begin():
        stored = session.scalar(select(SystemValue.value).where(SystemValue.name == "secret_key_fingerprint"))
        if stored is None:
            session.add(SystemValue(name="secret_key_fingerprint", value=fingerprint))
        elif stored != fingerprint:
            raise ConfigurationError(
                "CAMPAIGN_SECRET_KEY: differs from the key the stored phone numbers were "
                "encrypted with; set the old key again"
            )


def _first_line(error: BaseException) -> str:
    return str(getattr(error, "orig", error)).strip().splitlines()[0]
