"""The staff and operator commands: what they print and what they leave behind."""

import json
import re

import pytest
from sqlalchemy import select

from idp import crypto
from idp.extensions import db
from idp.models import Account, Client, Organisation


def test_db_upgrade_is_idempotent(runner):
    for _ in range(2):
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert "up to date" in result.output


def test_org_add_requires_two_factor_unless_told_otherwise(runner, app):
    assert runner.invoke(args=["org", "add", "PO2806", "PPO Rotterdam"]).exit_code == 0
    assert runner.invoke(args=["org", "add", "PO9999", "Proef", "--no-2fa"]).exit_code == 0
    again = runner.invoke(args=["org", "add", "PO2806", "Dubbel"])
    assert again.exit_code != 0 and "Er is al een organisatie met code PO2806." in again.output
    with app.app_context():
        orgs = {o.code: o.requires_2fa for o in db.session.scalars(select(Organisation))}
    assert orgs == {"PO2806": True, "PO9999": False}


@pytest.mark.parametrize("code, name, says", [
    ("PO 2806", "PPO Rotterdam", "Een code heeft 1 tot 32 letters"),
    ("", "PPO Rotterdam", "Een code heeft 1 tot 32 letters"),
    ("PO2806", "  ", "Geef een naam van hoogstens 200 tekens."),
    ("PO2806", "x" * 201, "Geef een naam van hoogstens 200 tekens."),
], ids=["space-in-code", "empty-code", "blank-name", "long-name"])
def test_org_add_checks_as_the_console_does_and_adds_nothing(runner, app, code, name, says):
    result = runner.invoke(args=["org", "add", code, name])
    assert result.exit_code != 0 and says in result.output
    assert "Traceback" not in result.output
    with app.app_context():
        assert db.session.scalars(select(Organisation)).all() == []


def test_org_add_is_in_the_audit_log(runner, app):
    assert runner.invoke(args=["org", "add", "PO2806", "PPO Rotterdam", "--actor",
                               "Operator Olga"]).exit_code == 0
    listed = runner.invoke(args=["audit", "list", "--action", "organisation."])
    assert listed.exit_code == 0, listed.output
    assert "Operator Olga" in listed.output and "organisation.create" in listed.output
    assert "PO2806" in listed.output


def test_client_add_json_shows_the_secret_once_and_stores_its_hash(runner, app):
    result = runner.invoke(args=["client", "add", "Dossier", "--redirect-uri",
                                 "https://dossier.test/cb", "--redirect-uri",
                                 "https://dossier.test/cb2", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    with app.app_context():
        client = db.session.scalar(select(Client).where(Client.client_id == printed["client_id"]))
        assert client.redirect_uris == ["https://dossier.test/cb", "https://dossier.test/cb2"]
        assert client.client_secret_hash == crypto.token_hash(printed["client_secret"])
        assert printed["client_secret"] not in (client.client_secret_hash or "")


def test_public_client_has_no_secret(runner):
    result = runner.invoke(args=["client", "add", "App", "--public", "--redirect-uri",
                                 "http://127.0.0.1:8080/cb", "--json"])
    assert json.loads(result.output)["client_secret"] is None


def test_client_add_refuses_plain_http_redirects(runner):
    result = runner.invoke(args=["client", "add", "X", "--redirect-uri", "http://dossier.test/cb"])
    assert result.exit_code != 0 and "use https" in result.output


def test_parent_invite_sends_mail_but_never_prints_the_link(runner, app, mailbox, make_org):
    make_org()
    result = runner.invoke(args=["parent", "invite", "--org", "PO2806", "--email",
                                 "ouder@example.org", "--username", "Ouder.Een"])
    assert result.exit_code == 0, result.output
    # (The embedded outbox echoes e-mails on stderr; the command's own output never has the link.)
    assert "/activeren/" not in result.stdout
    link = re.search(r"adres: (\S+)", mailbox.last().get_body(("plain",)).get_content()).group(1)
    assert link.split("/activeren/")[1] not in result.stdout
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.username == "Ouder.Een"))
        assert account.status == "invited" and account.password_hash is None


def test_parent_invite_unknown_org(runner):
    result = runner.invoke(args=["parent", "invite", "--org", "NOPE", "--email", "a@b.nl",
                                 "--username", "x"])
    assert result.exit_code != 0 and "no organisation" in result.output


def test_client_add_with_back_channel_logout_and_offline_access(runner, app):
    result = runner.invoke(args=["client", "add", "Dossier", "--redirect-uri", "https://d.test/cb",
                                 "--backchannel-logout-uri", "https://d.test/bcl",
                                 "--allow-offline-access", "--json"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        client = db.session.scalar(select(Client).where(
            Client.client_id == json.loads(result.output)["client_id"]))
        assert client.backchannel_logout_uri == "https://d.test/bcl"
        assert "offline_access" in client.scope.split()
    refused = runner.invoke(args=["client", "add", "X", "--redirect-uri", "https://d.test/cb",
                                  "--backchannel-logout-uri", "http://d.test/bcl"])
    assert refused.exit_code != 0 and "use https" in refused.output


def test_a_client_without_the_flags_gets_neither(runner, app):
    result = runner.invoke(args=["client", "add", "D", "--redirect-uri", "https://d.test/cb", "--json"])
    with app.app_context():
        client = db.session.scalar(select(Client).where(
            Client.client_id == json.loads(result.output)["client_id"]))
        assert client.backchannel_logout_uri is None and "offline_access" not in client.scope


def test_worker_once_reports_its_round(runner):
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0
    assert result.output.strip() == (
        "sessions_ended=0 logouts_delivered=0 logouts_failed=0 rows_removed=0")


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_separate_worker_needs_redis(runner):
    result = runner.invoke(args=["worker"])
    assert result.exit_code != 0 and "IDP_REDIS_URL is not set" in result.output
