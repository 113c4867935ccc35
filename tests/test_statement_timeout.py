"""IDP_DATABASE_STATEMENT_TIMEOUT: every PostgreSQL connection of the service carries it, an
operator's own in the URL still wins, 0 sets none, and migrations run without it. What a request
stuck behind a lock gets is in tests/security/test_outages.py."""

import pytest
from sqlalchemy import text

from idp import create_app
from idp.cli import db as db_command
from idp.extensions import db
from tests import conftest


def statement_timeout(app) -> str:
    with app.app_context():
        try:
            return db.session.execute(text("SHOW statement_timeout")).scalar()
        finally:
            db.session.remove()


def app_on(url: str, tmp_path, **settings):
    return create_app({**conftest.BASE_SETTINGS, "IDP_INSTANCE_DIR": str(tmp_path),
                       "IDP_DATABASE_URL": url, **settings})


@pytest.fixture
def made(tmp_path):
    apps = []

    def make(url, **settings):
        apps.append(app_on(url, tmp_path, **settings))
        return apps[-1]

    yield make
    for app in apps:
        with app.app_context():
            db.engine.dispose()


@pytest.mark.parametrize("backend", ["postgres"])
def test_every_connection_carries_the_default_of_15_seconds(app):
    assert statement_timeout(app) == "15s"


def test_the_setting_and_the_urls_own_options(made, postgres_url):
    assert statement_timeout(made(postgres_url, IDP_DATABASE_STATEMENT_TIMEOUT=3)) == "3s"
    # 0: the service sets none, and PostgreSQL's (or the role's) own applies: none here.
    assert statement_timeout(made(postgres_url, IDP_DATABASE_STATEMENT_TIMEOUT=0)) == "0"
    # An operator who followed the earlier advice keeps their own value, and their other options.
    own = made(f"{postgres_url}?options=-c%20statement_timeout%3D7000%20-c%20lock_timeout%3D2000")
    assert statement_timeout(own) == "7s"
    with own.app_context():
        assert db.session.execute(text("SHOW lock_timeout")).scalar() == "2s"
        db.session.remove()


def test_a_negative_timeout_is_refused_with_a_sentence(tmp_path, postgres_url):
    with pytest.raises(ValueError, match="IDP_DATABASE_STATEMENT_TIMEOUT must be 0 .none. or more"):
        app_on(postgres_url, tmp_path, IDP_DATABASE_STATEMENT_TIMEOUT=-1)


def test_migrations_run_without_the_statement_timeout(made, postgres_url, monkeypatch):
    """A migration may rewrite a large table; the chart's hook Job has its own deadline."""
    from alembic import command

    seen = []
    monkeypatch.setattr(command, "upgrade", lambda config, revision: seen.append(
        config.attributes["connection"].exec_driver_sql("SHOW statement_timeout").scalar()))
    app = made(postgres_url, IDP_DATABASE_STATEMENT_TIMEOUT=1)
    with app.app_context():
        db_command.upgrade()
    assert seen == ["0"]
    assert statement_timeout(app) == "1s"  # the SET was for the migration's transaction only
