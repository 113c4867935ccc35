"""The migrations, on an empty database of each backend: they build exactly the schema the models
describe, go down and up again, and carry existing rows over (what an operator's upgrade does)."""

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import idp.models  # noqa: F401  (every table on the metadata)
from idp.cli.db import alembic_config
from idp.extensions import db
from tests.conftest import scratch_database



@pytest.fixture
def empty_engine(backend, tmp_path):
    if backend == "sqlite":
        engine = sa.create_engine(f"sqlite:///{tmp_path / 'empty.sqlite3'}")
        yield engine
        engine.dispose()
        return
    with scratch_database("migrations") as url:
        engine = sa.create_engine(url)
        yield engine
        engine.dispose()


def migrate(engine, how, revision):
    with engine.begin() as connection:
        how(alembic_config(connection), revision)


def differences(engine) -> list:
    with engine.connect() as connection:
        found = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                 db.metadata)
    return found


# SQLite cannot reflect the PostgreSQL-only expression index (idp.models.account), so Alembic
# says it cannot compare it there; on PostgreSQL it is compared like any other.
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based "
                            "index 'ix_account_organisation_id_lower_email'")
def test_the_migrations_make_the_schema_of_the_models_and_go_down_and_up(empty_engine):
    migrate(empty_engine, command.upgrade, "head")
    assert differences(empty_engine) == []

    migrate(empty_engine, command.downgrade, "base")
    assert sa.inspect(empty_engine).get_table_names() == ["alembic_version"]
    migrate(empty_engine, command.upgrade, "head")
    assert differences(empty_engine) == []


def test_grants_made_before_0005_get_a_reference(empty_engine):
    """Their refresh tokens keep working: the new access tokens name the grant by it."""
    migrate(empty_engine, command.upgrade, "0004")
    with empty_engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO organisation (id, code, name, requires_2fa, created_at) "
            "VALUES (1, 'PO2806', 'PPO Rotterdam', true, 0)"))
        connection.execute(sa.text(
            "INSERT INTO account (id, subject, organisation_id, username, email, status, "
            "created_at) VALUES (1, 'sub-1', 1, 'Yvonne', 'y@example.test', 'active', 0)"))
        for grant_id in (1, 2, 3):
            connection.execute(sa.text(
                'INSERT INTO "grant" (id, client_id, account_id, sid, offline, created_at) '
                "VALUES (:id, 'dossier', 1, 'sid', false, 0)"), {"id": grant_id})

    migrate(empty_engine, command.upgrade, "head")
    with empty_engine.connect() as connection:
        references = connection.execute(sa.text('SELECT reference FROM "grant"')).scalars().all()
    assert len(references) == 3 and len(set(references)) == 3
    assert all(isinstance(r, str) and len(r) >= 20 for r in references)


#: What 0006 adds: the columns idp.cleanup filters by, and the foreign keys it and an account's
#: deletion follow (ON DELETE CASCADE).
INDEXES_0006 = {
    "activation": {"ix_activation_account_id", "ix_activation_expires_at"},
    "authorization_code": {"ix_authorization_code_account_id", "ix_authorization_code_expires_at",
                           "ix_authorization_code_grant_id"},
    "grant": {"ix_grant_account_id"},
    "refresh_token": {"ix_refresh_token_account_id", "ix_refresh_token_expires_at"},
}


def test_the_cleanup_indexes_come_with_0006_and_go_with_its_downgrade(empty_engine):
    def indexes() -> dict[str, set[str]]:
        inspector = sa.inspect(empty_engine)
        return {table: {ix["name"] for ix in inspector.get_indexes(table)} & INDEXES_0006[table]
                for table in INDEXES_0006}

    migrate(empty_engine, command.upgrade, "0006")
    assert indexes() == INDEXES_0006
    migrate(empty_engine, command.downgrade, "0005")
    assert indexes() == {table: set() for table in INDEXES_0006}


def test_0007_keeps_existing_accounts_and_drops_the_unused_access_token_table(empty_engine):
    """Accounts of before are parents (no role), at version 1, and organisations keep asking
    one person for a reset; the access_token table 0005 stopped writing is gone."""
    migrate(empty_engine, command.upgrade, "0006")
    with empty_engine.begin() as connection:
        connection.execute(sa.text(
            "INSERT INTO organisation (id, code, name, requires_2fa, created_at) "
            "VALUES (1, 'PO2806', 'PPO Rotterdam', true, 0)"))
        connection.execute(sa.text(
            "INSERT INTO account (id, subject, organisation_id, username, email, status, "
            "created_at) VALUES (1, 'sub-1', 1, 'Yvonne', 'y@example.test', 'active', 0)"))
    assert "access_token" in sa.inspect(empty_engine).get_table_names()

    migrate(empty_engine, command.upgrade, "0007")
    with empty_engine.connect() as connection:
        account = connection.execute(sa.text(
            "SELECT role, version, external_id FROM account")).one()
        four_eyes = connection.execute(sa.text("SELECT four_eyes_reset FROM organisation")).scalar()
    assert tuple(account) == (None, 1, None)
    assert not four_eyes
    assert "access_token" not in sa.inspect(empty_engine).get_table_names()

    migrate(empty_engine, command.downgrade, "0006")
    assert "access_token" in sa.inspect(empty_engine).get_table_names()
