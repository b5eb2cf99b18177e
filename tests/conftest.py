"""One fixture family builds the real system for every test.

``backend`` runs each test that asks for it twice: on the embedded default (a SQLite
file and the embedded redis-server in a temporary data dir) and on PostgreSQL with a
server Redis (the machine's services on 127.0.0.1:5432 and :6379, when they answer).
The PostgreSQL database is created for this test session and dropped after it; the
server Redis is used through a database number of its own, which is flushed per test.
"""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from campaign.access import screens
from campaign.appeals import registry as appeals
from campaign.runtime import Runtime
from campaign.settings import Settings
from campaign.storage import db, embedded_redis
from ingest.app import create_app

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = Path(__file__).parent / "testdata"
TWILIO_TOKEN = "test-twilio-auth-token"
VONAGE_SECRET = "test-vonage-signature-secret"
PUBLIC_URL = "https://campaign.example.org"

PG_ADMIN_URL = os.environ.get("CAMPAIGN_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SERVER_REDIS = os.environ.get("CAMPAIGN_TEST_REDIS", "redis://127.0.0.1:6379")
OWNER_KEY = "campaign-test-session-owner"


def _answers(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def embedded_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir = Path(f"/tmp/campaign-test-{os.getpid()}")  # short: a unix socket path
    data_dir.mkdir(exist_ok=True)
    url = embedded_redis.start(data_dir)
    yield url
    embedded_redis.stop(data_dir)


@pytest.fixture(scope="session")
def server_redis_url() -> Iterator[str]:
    """A database number of the server Redis that no other test session is using."""
    if not _answers("127.0.0.1", 6379):
        pytest.skip("Redis does not answer on 127.0.0.1:6379")
    owner = uuid.uuid4().hex
    for number in range(1, 16):
        client = redis.Redis.from_url(f"{SERVER_REDIS}/{number}")
        if client.set(OWNER_KEY, owner, nx=True, ex=3 * 3600):
            yield f"{SERVER_REDIS}/{number}"
            client.flushdb()
            client.close()
            return
        client.close()
    pytest.skip("every database number of the server Redis is taken by other test sessions")


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if not _answers("127.0.0.1", 5432):
        pytest.skip("PostgreSQL does not answer on 127.0.0.1:5432")
    name = f"campaign_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    engine = db.create_db_engine(url)
    db.upgrade(engine)
    engine.dispose()
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test instead of migrating again."""
    path = tmp_path_factory.mktemp("template") / "campaign.sqlite3"
    engine = db.create_db_engine(f"sqlite:///{path}")
    db.upgrade(engine)
    engine.dispose()
    return path


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str
    redis_url: str


@pytest.fixture(params=["embedded", "server"])
def backend(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, embedded_redis_url: str
) -> Iterator[Backend]:
    if request.param == "embedded":
        path = tmp_path / "data" / "campaign.sqlite3"
        path.parent.mkdir(parents=True)
        path.write_bytes(sqlite_template.read_bytes())
        chosen = Backend("embedded", f"sqlite:///{path}", embedded_redis_url)
    else:
        redis_url = request.getfixturevalue("server_redis_url")
        pg = request.getfixturevalue("postgres_url")
        _truncate(pg)
        chosen = Backend("server", pg, redis_url)
    client = redis.Redis.from_url(chosen.redis_url)
    flush_redis(client)
    client.close()
    yield chosen
    if chosen.name == "server":
        _no_transaction_left_open(chosen.database_url)


def flush_redis(client: redis.Redis) -> None:
    """FLUSHDB, keeping this session's claim on a server Redis database number.

    In one transaction: between a plain FLUSHDB and setting the claim again, a test session
    of another checkout could claim the same number, and the two would flush each other's data.
    """
    owner = client.get(OWNER_KEY)
    pipe = client.pipeline(transaction=True)
    pipe.flushdb()
    if owner is not None:
        pipe.set(OWNER_KEY, owner, ex=3 * 3600)
    pipe.execute()


@functools.cache
def _admin_engine(url: str) -> Engine:
    """One engine per test database for the fixtures' own statements."""
    return create_engine(url, poolclass=NullPool)


def _truncate(url: str) -> None:
    """Empty every table of this session's database.

    A connection left inside a transaction would make TRUNCATE wait for ever (the teardown
    below names the test that leaves one); after a short wait this ends such sessions (the
    database is this session's own) and fails the one test instead of every later one.
    """
    engine = _admin_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL lock_timeout = '20s'"))
            tables = [
                row[0]
                for row in connection.execute(
                    text(
                        "SELECT tablename FROM pg_tables"
                        " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                    )
                )
            ]
            if tables:
                connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    except OperationalError as error:
        if "lock timeout" not in str(error):
            raise
        leftovers = _end_sessions(engine, "state IS NOT NULL")
        pytest.fail(f"an earlier test left a transaction open on this test database: {leftovers}")


def _no_transaction_left_open(url: str) -> None:
    """Fail the test that leaves a connection inside a transaction (it would block the next
    test's TRUNCATE); a process the test stopped may take a moment to be noticed gone."""
    engine = _admin_engine(url)
    open_ones = "state LIKE 'idle in transaction%'"
    deadline = time.monotonic() + 5
    while _sessions(engine, open_ones) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _sessions(engine, open_ones):
        leftovers = _end_sessions(engine, open_ones)
        pytest.fail(f"the test left a transaction open on the database: {leftovers}")


_OTHER_SESSIONS = "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND "


def _sessions(engine: Engine, condition: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(text(f"SELECT count(*) {_OTHER_SESSIONS}{condition}")).scalar_one())


def _end_sessions(engine: Engine, condition: str) -> list[str]:
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                f"SELECT pid, state, left(query, 200), pg_terminate_backend(pid) {_OTHER_SESSIONS}{condition}"
            )
        ).all()
    return [f"pid {pid} {state}: {query}" for pid, state, query, _ in rows]


@pytest.fixture
def settings(backend: Backend, tmp_path: Path) -> Settings:
    return Settings.load(
        data_dir=tmp_path / "data",
        database_url=backend.database_url,
        redis_url=backend.redis_url,
        secret_key="test-secret-key",
        public_url=PUBLIC_URL,
        twilio_auth_token=TWILIO_TOKEN,
        vonage_signature_secret=VONAGE_SECRET,
        vonage_signature_method="sha256",
        thank_you_delay=0,  # the immediate reply; tests of the outbox set a delay of their own
        _env_file=None,
    )


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    rt = Runtime.open(settings, migrate=False)
    yield rt
    rt.close()


@pytest.fixture
def hassan(runtime: Runtime) -> appeals.AppealSummary:
    """The appeal of the SMS case: featured on 4777, keyword HASSAN."""
    summary = appeals.add_appeal(
        runtime.engine,
        slug="hassan",
        title="Stop the torture of Hassan",
        campaign="torture",
        person="Hassan",
        sms_text="Hassan is at risk of torture in detention. Reply JA to demand his safety.",
        keywords=["HASSAN"],
        goal=10000,
        feature_on="4777",
    )
    runtime.live.publish_appeal(summary.public())
    return summary


@pytest.fixture
def kenya(runtime: Runtime) -> appeals.AppealSummary:
    summary = appeals.add_appeal(
        runtime.engine,
        slug="kenya",
        title="Reach Out for Kenya",
        campaign="kenya",
        person="the people of Kenya",
        keywords=["KENYA"],
    )
    runtime.live.publish_appeal(summary.public())
    return summary


@pytest.fixture
def screen_token(runtime: Runtime) -> Callable[..., str]:
    """Makes screen links (screens and the overlay need one): ``screen_token("live", appeal="hassan")``."""

    def make(page: str = "on-air", appeal: str | None = None, campaign: str | None = None) -> str:
        name = f"test {page} {uuid.uuid4().hex[:8]}"
        return screens.create(runtime.engine, name, page=page, appeal=appeal, campaign=campaign, actor="test")

    return make


@pytest.fixture
def client(settings: Settings, runtime: Runtime) -> Iterator[TestClient]:
    """The real ASGI app, lifespan and all, on the test's backend."""
    with TestClient(create_app(settings, runtime), base_url=PUBLIC_URL) as test_client:
        yield test_client


def twilio_form(sid: str, sender: str, body: str, to: str = "4777", **extra: str) -> dict[str, str]:
    return {
        "ToCountry": "NL",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "FromCountry": "NL",
        "To": to,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": "AC" + "0" * 32,
        "From": sender,
        "ApiVersion": "2010-04-01",
        **extra,
    }


def twilio_signature(form: dict[str, str], path: str = "/webhooks/twilio", token: str = TWILIO_TOKEN) -> str:
    return RequestValidator(token).compute_signature(PUBLIC_URL + path, form)


def post_twilio(http: TestClient | httpx.Client, form: dict[str, str]) -> httpx.Response:
    return http.post("/webhooks/twilio", data=form, headers={"X-Twilio-Signature": twilio_signature(form)})


@dataclass
class Server:
    """An ingest process of its own, on a free port; stopped by its PID."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            (self.process.kill if kill else self.process.terminate)()
            self.process.wait(timeout=15)


def backend_env(settings: Settings) -> dict[str, str]:
    """What a command in its own process needs to share this test's database, Redis and key."""
    return {
        "CAMPAIGN_DATA_DIR": str(settings.data_dir),
        "CAMPAIGN_DATABASE_URL": settings.resolved_database_url,
        "CAMPAIGN_REDIS_URL": settings.redis_url,
        "CAMPAIGN_SECRET_KEY": settings.secret_key,
    }


def start_ingest(
    settings: Settings, log: Path, port: int | None = None, extra_env: dict[str, str] | None = None
) -> Server:
    port = port or free_port()
    env = {
        **(extra_env or {}),
        **os.environ,
        **backend_env(settings),
        "CAMPAIGN_PUBLIC_URL": settings.public_url,
        "CAMPAIGN_TWILIO_AUTH_TOKEN": settings.twilio_auth_token,
        "CAMPAIGN_VONAGE_SIGNATURE_SECRET": settings.vonage_signature_secret,
        "CAMPAIGN_THANK_YOU_DELAY": str(settings.thank_you_delay),
        "CAMPAIGN_STREAMS_PER_CLIENT": str(settings.streams_per_client),
        "CAMPAIGN_RATE_LIMIT_FEEDS": str(settings.rate_limit_feeds),
    }
    handle = open(log, "wb")  # noqa: SIM115 - the process owns it
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "ingest", "--port", str(port), "--no-migrate"],
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        cwd=settings.data_dir.parent,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ingest exited: {log.read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return Server(process, url, log)
        time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"ingest did not answer: {log.read_text()[-2000:]}")


@pytest.fixture
def ingest_server(settings: Settings, tmp_path: Path) -> Iterator[Server]:
    server = start_ingest(settings, tmp_path / "ingest.log")
    yield server
    server.stop()


# -- the fault suite's figures in the summary (here, not in tests/faults: an xdist controller
# loads only this conftest, and the figures reach it on the workers' test reports) -------------
_FAULT_FIGURES: list[dict[str, object]] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "teardown":
        _FAULT_FIGURES.extend(row for name, row in report.user_properties if name == "fault suite figures")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _FAULT_FIGURES:
        return
    from tests.faults.checks import COLUMNS

    rows = sorted(_FAULT_FIGURES, key=lambda row: str(row.get("fault", "")))
    terminalreporter.section("fault suite figures")
    widths = {name: max(len(name), *(len(str(row.get(name, ""))) for row in rows)) for name in COLUMNS}
    terminalreporter.write_line("  ".join(name.ljust(widths[name]) for name in COLUMNS))
    for row in rows:
        terminalreporter.write_line("  ".join(str(row.get(name, "")).ljust(widths[name]) for name in COLUMNS))
    for row in rows:
        if row.get("note"):
            terminalreporter.write_line(f"{row['fault']}: {row['note']}")
