"""Settings: read once from CAMPAIGN_* variables; a wrong value is one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from campaign.errors import ConfigurationError
from campaign.settings import Settings


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CAMPAIGN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CAMPAIGN_INGEST_PORT", "9000")
    monkeypatch.setenv("CAMPAIGN_YES_WORDS", "ja, tak ,")
    monkeypatch.setenv("CAMPAIGN_PUBLIC_URL", "https://sms.example.org/")
    settings = Settings.load(_env_file=None)
    assert settings.ingest_port == 9000
    assert settings.yes_words == ("ja", "tak")
    assert settings.public_url == "https://sms.example.org"
    assert settings.resolved_database_url == f"sqlite:///{tmp_path.resolve()}/campaign.sqlite3"


def test_dotenv_file_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("CAMPAIGN_TIMEZONE=Europe/Amsterdam\n")
    monkeypatch.chdir(tmp_path)
    assert Settings.load().timezone == "Europe/Amsterdam"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ingest_port", "70000", "CAMPAIGN_INGEST_PORT: Input should be less than or equal to 65535"),
        ("timezone", "Nowhere/City", "CAMPAIGN_TIMEZONE: Value error, unknown time zone 'Nowhere/City'"),
        ("vonage_signature_method", "crc32", "CAMPAIGN_VONAGE_SIGNATURE_METHOD: Value error, must be one of"),
    ],
)
def test_wrong_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings.load(**{name: value}, _env_file=None)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


def test_secret_key_is_generated_once(tmp_path: Path) -> None:
    settings = Settings.load(data_dir=tmp_path, _env_file=None)
    first = settings.resolved_secret_key()
    assert len(first) >= 40
    assert Settings.load(data_dir=tmp_path, _env_file=None).resolved_secret_key() == first
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert (
        Settings.load(data_dir=tmp_path, secret_key="given", _env_file=None).resolved_secret_key() == "given"
    )
