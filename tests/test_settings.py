"""Settings: every key documented, environment and file precedence, clear errors."""

import pytest

from idp import settings
from idp.settings import PROJECT_ROOT, SETTINGS


def test_every_setting_is_in_the_operations_table():
    table = (PROJECT_ROOT / "docs" / "operations.md").read_text()
    missing = [key for key in SETTINGS if f"| `{key}` |" not in table]
    assert missing == []


def test_environment_beats_config_file_beats_default(tmp_path, monkeypatch):
    config_file = tmp_path / "idp.cfg"
    config_file.write_text('IDP_BRAND = "Uit bestand"\nIDP_CODE_TTL = 30\n')
    monkeypatch.setenv("IDP_CONFIG_FILE", str(config_file))
    monkeypatch.setenv("IDP_CODE_TTL", "45")
    config = settings.load()
    assert config["IDP_BRAND"] == "Uit bestand"
    assert config["IDP_CODE_TTL"] == 45
    assert config["IDP_ACCESS_TOKEN_TTL"] == 300


def test_lifetime_that_is_not_a_number_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("IDP_SESSION_IDLE_TTL", "tien minuten")
    with pytest.raises(ValueError, match="IDP_SESSION_IDLE_TTL must be a whole number"):
        settings.load()


def test_issuer_trailing_slash_is_dropped(monkeypatch):
    monkeypatch.setenv("IDP_ISSUER", "https://inloggen.example.nl/")
    assert settings.load()["IDP_ISSUER"] == "https://inloggen.example.nl"


def test_production_needs_its_own_secret_key(tmp_path):
    from idp import create_app

    with pytest.raises(RuntimeError, match="IDP_SECRET_KEY must be set"):
        create_app({"IDP_ISSUER": "https://inloggen.example.nl", "IDP_SECRET_KEY": "",
                    "IDP_INSTANCE_DIR": str(tmp_path)})
    assert not (tmp_path / "secret_key").exists()
