"""Bulk invitations from a CSV file (idp.accounts.bulk_import, ``idp parent import``): what the
dry run says per row, that it changes nothing, that a re-run is idempotent, and the file formats
staff actually have (Dutch Excel: ';' and a byte-order mark, or Windows-1252)."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from idp import clock, mail
from idp.accounts import actions, bulk_import
from idp.extensions import db
from idp.models import Account, Activation, AuditEvent, Organisation

HEADER = "email;name;username;external_id\n"
GOOD = (HEADER + "an@example.org;An de Vries;;A1\n"
        "bert@example.org;Bert Jansen;Bert.J;\n"
        "carla@example.org;Carla Öztürk;;C3\n")


def write(tmp_path, text: str, encoding="utf-8", name="ouders.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def state(app):
    """What an import may change: accounts (with their usernames and statuses), audit events."""
    with app.app_context():
        accounts = sorted(db.session.execute(
            select(Account.username, Account.email, Account.status, Account.external_id)).all())
        events = db.session.scalar(select(func.count()).select_from(AuditEvent))
        return accounts, events


def steps(app, text: str, **options):
    with app.app_context():
        org = db.session.scalar(select(Organisation).where(Organisation.code == "PO2806"))
        rows, _ = bulk_import.read(text.encode())
        return bulk_import.plan(org, rows, **options).steps


@pytest.fixture
def org(make_org, invite):
    """PO2806 with one invited parent (Yvonne) and one activated parent is not needed: Yvonne's
    status is set per test."""
    make_org()
    invite()  # Yvonne.testouder, yvonne@example.org
    return "PO2806"


BAD_ROWS = [
    pytest.param("yvonne-at-example.org;Yvonne;;", "bad_email", id="e-mail-without-at"),
    pytest.param("an @example.org;An;;", "bad_email", id="e-mail-with-space"),
    pytest.param("an@example;An;;", "bad_email", id="e-mail-without-domain-dot"),
    pytest.param("an@example..org;An;;", "bad_email", id="e-mail-empty-label"),
    pytest.param(";An de Vries;;", "missing_email", id="no-e-mail"),
    pytest.param("an@example.org;;;", "missing_name", id="neither-name-nor-username"),
    pytest.param("an@example.org;An;An de Vries;", "bad_username", id="username-with-spaces"),
    pytest.param("an@example.org;An;" + "a" * 151 + ";", "bad_username", id="username-too-long"),
    pytest.param("other@example.org;Ander;Yvonne.testouder;", "duplicate_username",
                 id="username-taken-in-organisation"),
    pytest.param("yvonne@example.org;Yvonne;Yvonne.andere;", "existing_account",
                 id="e-mail-has-account-under-other-username"),
    pytest.param("an@example.org;An;;" + "x" * 201, "bad_external_id", id="external-id-too-long"),
]


@pytest.mark.parametrize("line, code", BAD_ROWS)
def test_a_bad_row_is_reported_and_left_alone(app, org, line, code):
    [step] = steps(app, HEADER + line + "\n")
    assert (step.action, step.code) == ("error", code)
    assert step.message and step.row.line == 2


DUPLICATES_IN_FILE = [
    pytest.param("an@example.org;An;;\nAN@example.org;An;;", id="same-e-mail-other-case"),
    pytest.param("an@example.org;An;An.V;\nbo@example.org;Bo;An.V;", id="same-username"),
    pytest.param("an@example.org;An;;X1\nbo@example.org;Bo;;X1", id="same-external-id"),
]


@pytest.mark.parametrize("lines", DUPLICATES_IN_FILE)
def test_a_duplicate_within_the_file_names_the_first_line(app, org, lines):
    first, second = steps(app, HEADER + lines + "\n")
    assert first.action == "invite"
    assert (second.action, second.code) == ("error", "duplicate_in_file")
    assert "regel 2" in second.message


def test_existing_accounts_are_skipped_with_what_they_are(app, org):
    text = HEADER + "yvonne@example.org;Yvonne Testouder;;\nnew@example.org;Nieuw Ouder;;\n"
    invited, new = steps(app, text)
    assert (invited.action, invited.code, invited.username) == ("skip", "already_invited",
                                                                "Yvonne.testouder")
    assert new.action == "invite"
    with app.app_context():
        db.session.execute(db.update(Account).values(status="active"))
        db.session.commit()
    active, _ = steps(app, text)
    assert (active.action, active.code) == ("skip", "already_active")


def test_suggested_usernames_are_unique_in_the_organisation_and_the_file(app, org):
    text = (HEADER + "a@example.org;Yvonne Testouder;;\nb@example.org;Yvonne Testouder;;\n"
            "c@example.org;Piet Puk;Yvonne.testouder3;\n")
    planned = steps(app, text)
    usernames = [step.username for step in planned]
    assert all(step.action == "invite" for step in planned)
    assert len(set(usernames)) == 3
    assert "Yvonne.testouder" not in usernames  # taken in the organisation


def test_dry_run_changes_nothing_and_sends_nothing(app, org, runner, mailbox, tmp_path):
    before, mails = state(app), len(mailbox.messages())
    result = runner.invoke(args=["parent", "import", write(tmp_path, GOOD), "--org", "PO2806",
                                 "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "3 would be invited" in result.output
    assert state(app) == before
    assert len(mailbox.messages()) == mails


def test_import_invites_and_a_rerun_changes_nothing(app, org, runner, mailbox, tmp_path):
    path = write(tmp_path, GOOD)
    first = runner.invoke(args=["parent", "import", path, "--org", "PO2806", "--yes",
                                "--actor", "Anna (beheerder)"])
    assert first.exit_code == 0, first.output
    assert "3 were invited" in first.output
    after_first, mails = state(app), len(mailbox.messages())
    assert mails == 4  # Yvonne's, and one welcome e-mail per new parent
    assert {m["To"] for m in mailbox.messages()[1:]} == {"an@example.org", "bert@example.org",
                                                          "carla@example.org"}
    accounts = {email: (status, external_id) for _, email, status, external_id in after_first[0]}
    assert accounts["an@example.org"] == ("invited", "A1")
    assert accounts["carla@example.org"] == ("invited", "C3")
    with app.app_context():
        summary = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "account.bulk_import"))
        assert summary.actor == "Anna (beheerder)" and summary.detail["invite"] == 3
        assert summary.organisation_id is not None

    second = runner.invoke(args=["parent", "import", path, "--org", "PO2806", "--yes"])
    assert second.exit_code == 0, second.output
    assert "Nothing to do" in second.output
    assert state(app)[0] == after_first[0]
    assert len(mailbox.messages()) == mails


@pytest.mark.parametrize("encoding, separator", [
    pytest.param("utf-8-sig", ";", id="excel-csv-utf8-semicolon-with-bom"),
    pytest.param("utf-8", ",", id="utf8-comma-no-bom"),
    pytest.param("cp1252", ";", id="excel-windows-1252-semicolon"),
])
def test_the_file_formats_staff_have(app, org, encoding, separator):
    text = ("E-mail" + separator + "Naam\r\n" + "anais@example.org" + separator + "Anaïs Öztürk\r\n")
    rows, notices = bulk_import.read(text.encode(encoding))
    assert [(r.email, r.name, r.line) for r in rows] == [("anais@example.org", "Anaïs Öztürk", 2)]
    assert bool(notices) == (encoding == "cp1252")


@pytest.mark.parametrize("text, words", [
    pytest.param("", "leeg", id="empty"),
    pytest.param("naam;gebruikersnaam\nAn;An\n", "email", id="no-e-mail-column"),
    pytest.param("email;name\n\n", "geen regels", id="header-only"),
    pytest.param("email;external_id\nan@example.org;1\n", "name", id="neither-name-nor-username-column"),
])
def test_a_file_that_cannot_be_read_is_refused_as_a_whole(app, org, runner, tmp_path, text, words):
    before = state(app)
    result = runner.invoke(args=["parent", "import", write(tmp_path, text), "--org", "PO2806",
                                 "--yes"])
    assert result.exit_code == 1 and words in result.output
    assert state(app) == before


def test_expired_invitations_are_sent_again_only_when_asked(app, org, frozen_clock, mailbox):
    text = HEADER + "yvonne@example.org;Yvonne Testouder;;\n"
    clock.advance(app.config["IDP_ACTIVATION_TTL"] + 1)
    [skipped] = steps(app, text)
    assert (skipped.action, skipped.code) == ("skip", "expired")
    [resend] = steps(app, text, resend_expired=True)
    assert resend.action == "resend"
    with app.app_context():
        org_row = db.session.scalar(select(Organisation))
        outcome = bulk_import.run(org_row, text.encode(), actions.Actor("test"), resend_expired=True)
    assert outcome.counts()["resend"] == 1
    assert len(mailbox.messages()) == 2
    [again] = steps(app, text, resend_expired=True)  # the new link has not expired: idempotent
    assert (again.action, again.code) == ("skip", "already_invited")


def test_progress_is_reported_per_batch_up_to_the_end(app, org, monkeypatch):
    monkeypatch.setattr(bulk_import, "BATCH", 50)
    text = HEADER + "".join(f"p{n}@example.org;Ouder {n};;\n" for n in range(120))
    seen = []
    with app.app_context():
        outcome = bulk_import.run(db.session.scalar(select(Organisation)), text.encode(),
                                  actions.Actor("test"), progress=lambda d, t: seen.append((d, t)))
    assert outcome.counts()["invite"] == 120
    assert seen == [(50, 120), (100, 120), (120, 120)]


def test_an_unreachable_mail_server_stops_the_import_before_anything_and_a_rerun_does_it(app, org, backend):
    if backend == "sqlite":
        pytest.skip("the embedded default writes e-mails to the outbox: it cannot fail")
    text = HEADER + "".join(f"p{n}@example.org;Ouder {n};;\n" for n in range(3))
    smtp_url = app.config["IDP_SMTP_URL"]
    app.config["IDP_SMTP_URL"] = "smtp://127.0.0.1:9"  # nothing listens there
    with app.app_context():
        org_row = db.session.scalar(select(Organisation))
        outcome = bulk_import.run(org_row, text.encode(), actions.Actor("test"))
    assert outcome.stopped_at is not None and outcome.stopped_at.code == "mail_unavailable"
    assert [s.code for s in outcome.steps] == ["mail_unavailable", "not_reached", "not_reached"]
    app.config["IDP_SMTP_URL"] = smtp_url
    with app.app_context():
        outcome = bulk_import.run(db.session.scalar(select(Organisation)), text.encode(),
                                  actions.Actor("test"))
    assert [s.action for s in outcome.steps] == ["invite", "invite", "invite"]


RACES = [
    pytest.param(False, "duplicate_username", id="refused-by-the-batch-check"),
    pytest.param(True, "conflict", id="unique-constraint-at-the-insert"),
]


@pytest.mark.parametrize("unseen, code", RACES)
def test_a_row_refused_at_the_last_moment_leaves_the_rest_of_its_batch_whole(
        app, org, monkeypatch, mailbox, unseen, code):
    """Someone invites b@ in the console between the dry run and the import: b's row becomes an
    error, a and c are invited once each, with one working link and one e-mail each. Also when
    the console's invitation was committed too late for the batch's check to see it (only the
    unique constraint does): then the batch is done again row by row."""
    real_plan = bulk_import.plan

    def plan_then_console_invites_b(org_row, rows, **options):
        planned = real_plan(org_row, rows, **options)
        b = next(step for step in planned.steps if step.row.email == "b@example.org")
        actions.invite(org_row, "b@example.org", b.username, "Bo B", actions.Actor("console"))
        return planned

    monkeypatch.setattr(bulk_import, "plan", plan_then_console_invites_b)
    if unseen:
        monkeypatch.setattr(actions, "taken", lambda org, accounts: {})
    text = HEADER + "a@example.org;An A;;\nb@example.org;Bo B;;\nc@example.org;Cor C;;\n"
    with app.app_context():
        outcome = bulk_import.run(db.session.scalar(select(Organisation)), text.encode(),
                                  actions.Actor("test"))
        assert [s.code for s in outcome.steps] == ["invited", code, "invited"]
        links = db.session.execute(
            select(Account.email, func.count(Activation.id)).join(Activation)
            .where(Activation.used_at.is_(None)).group_by(Account.email)).all()
        invites = db.session.scalars(select(AuditEvent.actor).where(
            AuditEvent.action == "account.invite").order_by(AuditEvent.id)).all()
    assert sorted(links) == [("a@example.org", 1), ("b@example.org", 1), ("c@example.org", 1),
                             ("yvonne@example.org", 1)]
    assert invites.count("test") == 2 and invites.count("console") == 1
    # Yvonne's, the console's to b@, and the import's: one each (the outbox keeps no order).
    assert sorted(m["To"] for m in mailbox.messages()) == [
        "a@example.org", "b@example.org", "c@example.org", "yvonne@example.org"]


def test_a_welcome_e_mail_that_fails_stops_the_import_before_the_next_batch(app, org, monkeypatch):
    """The batch [a, b] is committed; b's e-mail fails: b is told to be sent again, and nothing
    after it is committed (the next batch waits for the e-mails of the one before)."""
    monkeypatch.setattr(bulk_import, "BATCH", 2)
    real_send = mail.send

    def failing_send(message):
        if message["To"] == "b@example.org":
            raise mail.MailError("the server went away")
        real_send(message)

    monkeypatch.setattr(mail, "send", failing_send)
    text = HEADER + "".join(f"{x}@example.org;Ouder {x};;\n" for x in "abcde")
    with app.app_context():
        outcome = bulk_import.run(db.session.scalar(select(Organisation)), text.encode(),
                                  actions.Actor("test"))
        stored = set(db.session.scalars(select(Account.email)))
    assert [s.code for s in outcome.steps] == ["invited", "mail_failed", "not_reached",
                                               "not_reached", "not_reached"]
    assert outcome.stopped_at.row.email == "b@example.org"
    assert stored == {"yvonne@example.org", "a@example.org", "b@example.org"}
