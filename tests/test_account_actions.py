"""What staff, provisioning clients and commands do to an account (idp.accounts.actions), seen
as the parent, the relying party, staff and the auditor see it: the e-mail the parent gets, the
sign-in that works or not, the back-channel logout, the audit event, and what is refused."""

import json
import logging
import smtplib

import pytest
from sqlalchemy import func, select

from idp import clock
from idp.accounts import actions
from idp.accounts.actions import Actor, Refused
from idp.extensions import db
from idp.models import (Account, AccountLink, Activation, AuditEvent, AuthorizationCode, Grant,
                        Organisation, RefreshToken)
from tests import pages
from tests.actors import PASSWORD, Parent
from tests.test_backchannel_logout import run_worker
from tests.test_sign_in import WRONG
from tests.test_oidc_flow import sign_in_at

HELPDESK = Actor("Anna de Vries (helpdesk, PO2806)", ip="192.0.2.10", reason="ticket 4711")
USERNAME = "Yvonne.testouder"


def account(username=USERNAME) -> Account:
    return db.session.scalar(select(Account).where(Account.username == username))


def org(code="PO2806") -> Organisation:
    return db.session.scalar(select(Organisation).where(Organisation.code == code))


def do(app, action, *args, **kwargs):
    """Run ``actions.<action>(Yvonne's account, ...)`` in an app context, as the console would."""
    with app.app_context():
        return getattr(actions, action)(account(), *args, **kwargs)


def events(app, action=None) -> list[AuditEvent]:
    """The audit events about accounts (signing keys made at first use are audited too)."""
    with app.app_context():
        query = select(AuditEvent).where(AuditEvent.action.startswith("account.")).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        found = db.session.scalars(query).all()
        db.session.expunge_all()
        return found


def body(message) -> str:
    return message.get_body(("plain",)).get_content()


def refused_like_a_wrong_password(response) -> bool:
    return response.status_code == 400 and WRONG in pages.text(response.get_data(as_text=True))


@pytest.fixture
def signed_in(world, make_client, logout_receiver):
    """Yvonne, activated and signed in at a relying party with a back-channel logout endpoint
    (and a refresh token)."""
    from tests.actors import RelyingParty

    parent, plain_rp = world
    made = make_client(name="Dossier", redirect_uris=("https://dossier.test/cb",),
                       backchannel_logout_uri=logout_receiver.uri)
    rp = RelyingParty(plain_rp.http, made["client_id"], made["client_secret"], made["redirect_uri"])
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    return parent, rp, tokens, logout_receiver


# --- invite -----------------------------------------------------------------------------------
def test_invite_makes_an_invited_account_sends_the_welcome_and_audits(app, make_org, mailbox):
    make_org()
    with app.app_context():
        made = actions.invite(org(), " ouder@example.org ", "Ouder.Een", "Ouder Een",
                              Actor("Piet (medewerker, PO2806)", ip="192.0.2.7"),
                              external_id="leerling-42")
        assert (made.status, made.version, made.external_id, made.role) == (
            "invited", 1, "leerling-42", None)
        assert made.email == "ouder@example.org" and made.updated_at == made.created_at
        subject = made.subject
    assert mailbox.last()["Subject"] == "[Ouderportaal] Welkom, nieuwe gebruiker"
    [event] = events(app, "account.invite")
    assert (event.actor, event.ip, event.target) == ("Piet (medewerker, PO2806)", "192.0.2.7", subject)
    assert "ouder@example.org" not in json.dumps(event.detail)


def test_a_staff_member_is_invited_with_a_role(app, make_org, mailbox):
    make_org()
    with app.app_context():
        made = actions.invite(org(), "anna@ppo.example", "Anna.devries", "Anna de Vries",
                              Actor("root"), role="helpdesk")
        assert made.role == "helpdesk" and made.is_staff
    assert events(app, "account.invite")[0].detail == {"role": "helpdesk"}


@pytest.mark.parametrize("email, username, extra, code", [
    ("geen-adres", "Ouder.Twee", {}, "invalid_email"),
    ("a@b", "Ouder.Twee", {}, "invalid_email"),
    ('"ouder.twee"@example.org', "Ouder.Twee", {}, "invalid_email"),
    ("ouder2@-example.org", "Ouder.Twee", {}, "invalid_email"),
    ("ouder2@example..org", "Ouder.Twee", {}, "invalid_email"),
    ("ouder2@example.org", "Ouder Twee", {}, "invalid_username"),
    ("ouder2@example.org", "", {}, "invalid_username"),
    ("ouder2@example.org", "x" * 151, {}, "invalid_username"),
    ("ouder2@example.org", USERNAME, {}, "duplicate_username"),
    ("YVONNE@example.org", "Ouder.Twee", {}, "duplicate_email"),
    ("ouder2@example.org", "Ouder.Twee", {"external_id": "ext-1"}, "duplicate_external_id"),
    ("ouder2@example.org", "Ouder.Twee", {"role": "koning"}, "invalid_role"),
], ids=["no-at", "no-domain-dot", "quoted", "domain-hyphen-first", "empty-label",
        "space-in-username", "empty-username", "long-username",
        "same-username", "same-email-other-case", "same-external-id", "unknown-role"])
def test_invite_refuses_with_a_reason_and_changes_nothing(app, make_org, invite, mailbox,
                                                           email, username, extra, code):
    make_org()
    invite()
    with app.app_context():
        account().external_id = "ext-1"
        db.session.commit()
    sent = len(mailbox.messages())
    with app.app_context():
        with pytest.raises(Refused) as refused:
            actions.invite(org(), email, username, "Ouder Twee", HELPDESK, **extra)
        assert refused.value.code == code
        assert str(refused.value)[0].isupper() and str(refused.value).endswith(".") or ":" in str(refused.value)
        db.session.rollback()
        assert db.session.scalar(select(func.count(Account.id))) == 1
    assert len(mailbox.messages()) == sent and events(app, "account.invite") == []


def test_duplicate_messages_are_plain_dutch(app, make_org, invite):
    make_org()
    invite()
    with app.app_context(), pytest.raises(Refused) as refused:
        actions.invite(org(), "nieuw@example.org", USERNAME, None, HELPDESK)
    assert str(refused.value) == ("De gebruikersnaam Yvonne.testouder bestaat al in PO2806. "
                                  "Kies een andere gebruikersnaam.")
    with app.app_context(), pytest.raises(Refused) as refused:
        actions.invite(org(), "Yvonne@Example.org", "Yvonne.twee", None, HELPDESK)
    assert str(refused.value) == "Er is in PO2806 al een account met het e-mailadres Yvonne@Example.org."


@pytest.mark.parametrize("name, taken, expected", [
    ("Yvonne Testouder", (), "Yvonne.testouder"),
    ("Yvonne Testouder", ("Yvonne.testouder",), "Yvonne.testouder2"),
    ("Yvonne Testouder", ("Yvonne.testouder", "Yvonne.testouder2"), "Yvonne.testouder3"),
    ("Yvonne Testouder", ("yvonne.testouder",), "Yvonne.testouder"),
    ("Jan van den Berg", (), "Jan.vandenberg"),
    ("  Zoë   d'Ancona-Özil ", (), "Zoe.dancona-ozil"),
    ("Mohammed", (), "Mohammed"),
    ("", (), "ouder"),
], ids=["first-last", "taken", "taken-twice", "case-differs", "tussenvoegsels", "accents",
        "one-name", "no-name"])
def test_suggest_username(app, make_org, name, taken, expected):
    make_org()
    with app.app_context():
        for number, username in enumerate(taken):
            actions.invite(org(), f"o{number}@example.org", username, None, HELPDESK)
        assert actions.suggest_username(org(), name) == expected


# --- resend -----------------------------------------------------------------------------------
def test_resend_kills_the_old_link_and_the_new_one_works(app, client, make_org, invite, mailbox,
                                                          frozen_clock):
    make_org()
    invite()
    parent = Parent(client, mailbox)
    old_link = parent.activation_link()
    do(app, "resend_invitation", HELPDESK)
    new_link = parent.activation_link()
    assert new_link != old_link
    assert parent.open_activation(old_link).status_code == 410
    parent.activate()
    assert [e.action for e in events(app)] == ["account.resend"]
    with app.app_context(), pytest.raises(Refused) as refused:
        actions.resend_invitation(account(), HELPDESK)
    assert refused.value.code == "not_pending"


# --- the helpdesk's actions need a reason -------------------------------------------------------
@pytest.mark.parametrize("action", ["unlock", "disable", "enable", "end_sessions",
                                    "reset_authenticator", "send_password_reset", "erase"])
@pytest.mark.parametrize("reason", [None, "  "], ids=["none", "blank"])
def test_helpdesk_actions_need_a_reason(app, parent, mailbox, action, reason):
    sent = len(mailbox.messages())
    with app.app_context():
        with pytest.raises(Refused) as refused:
            getattr(actions, action)(account(), Actor("Anna", reason=reason))
        assert refused.value.code == "reason_required"
        assert str(refused.value) == "Vul een reden in, bijvoorbeeld het nummer van de melding."
        assert account().status == "active" and account().version == 2
    assert events(app) == [] and len(mailbox.messages()) == sent


def test_a_provisioning_client_acts_without_a_reason(app, parent):
    do(app, "disable", Actor("scim:hr-system"))
    [event] = events(app)
    assert (event.actor, event.action, event.detail) == ("scim:hr-system", "account.disable", {})


# --- disable / enable -------------------------------------------------------------------------
def test_disable_signs_out_everywhere_refuses_sign_in_and_tells_the_parent(
        app, signed_in, mailbox):
    parent, rp, tokens, receiver = signed_in
    do(app, "disable", HELPDESK)
    run_worker(app)
    assert rp.verify_logout_token(receiver.tokens[0])["sub"] == rp.validate_id_token(
        tokens["id_token"])["sub"]
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"
    clock.advance(30)
    assert refused_like_a_wrong_password(parent.sign_in())
    notice = mailbox.last()
    assert notice["Subject"] == "[Ouderportaal] Uw account is uitgeschakeld"
    assert "Heeft u hier vragen over? Neem contact op met PPO Rotterdam." in body(notice)
    with app.app_context():
        assert (account().status, account().version) == ("disabled", 3)
        assert account().disabled_at == clock.timestamp() - 30
    [event] = events(app, "account.disable")
    assert (event.actor, event.ip, event.detail) == (HELPDESK.name, "192.0.2.10",
                                                     {"reason": "ticket 4711"})


def test_disable_also_stops_offline_refresh_tokens(app, world, make_client, mailbox):
    from tests.actors import RelyingParty

    parent, plain_rp = world
    made = make_client(name="App", redirect_uris=("https://app.test/cb",),
                       allow_offline_access=True)
    rp = RelyingParty(plain_rp.http, made["client_id"], made["client_secret"], made["redirect_uri"])
    tokens = rp.exchange(sign_in_at(rp, parent, scope="openid offline_access")["code"]).get_json()
    parent.log_out()
    tokens = rp.refresh(tokens["refresh_token"]).get_json()  # offline: outlives the session
    assert "refresh_token" in tokens
    do(app, "disable", HELPDESK)
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


def test_enable_lets_the_parent_sign_in_again(app, parent, mailbox):
    do(app, "disable", HELPDESK)
    do(app, "disable", HELPDESK)  # again: nothing more happens
    do(app, "enable", HELPDESK)
    assert parent.sign_in().status_code == 302
    assert mailbox.last()["Subject"] == "[Ouderportaal] Uw account is weer ingeschakeld"
    assert [e.action for e in events(app)] == ["account.disable", "account.enable"]
    with app.app_context():
        assert (account().status, account().disabled_at, account().version) == ("active", None, 4)


def test_a_disabled_invitation_cannot_be_activated(app, client, make_org, invite, mailbox):
    make_org()
    invite()
    parent = Parent(client, mailbox)
    link = parent.activation_link()
    do(app, "disable", HELPDESK)
    assert parent.open_activation(link).status_code == 410
    do(app, "enable", HELPDESK)
    with app.app_context():
        assert account().status == "invited"
    do(app, "resend_invitation", HELPDESK)
    parent.activate()


# --- unlock, end sessions ---------------------------------------------------------------------
def test_unlock_lets_a_locked_parent_in_and_is_audited(app, parent, mailbox):
    with app.app_context():
        account().locked_at = clock.timestamp()
        db.session.commit()
    assert refused_like_a_wrong_password(parent.sign_in())
    do(app, "unlock", HELPDESK)
    clock.advance(30)
    assert parent.sign_in().status_code == 302
    assert mailbox.last()["Subject"] == "[Ouderportaal] Uw account is vrijgegeven"
    assert "Was u dit niet? Neem contact op met PPO Rotterdam." in body(mailbox.last())
    [event] = events(app, "account.unlock")
    assert event.detail == {"reason": "ticket 4711", "was_locked": True}


def test_end_sessions_counts_and_sends_back_channel_logouts(app, signed_in, mailbox):
    parent, rp, tokens, receiver = signed_in
    assert do(app, "end_sessions", HELPDESK) == 1
    run_worker(app)
    assert len(receiver.tokens) == 1
    assert parent.browser.get("/").status_code == 302
    assert mailbox.last()["Subject"] == "[Ouderportaal] U bent overal uitgelogd"
    assert do(app, "end_sessions", HELPDESK) == 0
    assert [e.detail["ended"] for e in events(app, "account.end_sessions")] == [1, 0]


def test_the_notice_names_the_organisations_helpdesk(app, parent, mailbox):
    with app.app_context():
        org().helpdesk_contact = "de PPO helpdesk, 010 123 45 67"
        db.session.commit()
    do(app, "unlock", HELPDESK)
    assert "Neem contact op met de PPO helpdesk, 010 123 45 67." in body(mailbox.last())


# --- update ---------------------------------------------------------------------------------
def test_update_profile_bumps_the_version_and_tells_the_old_address(app, parent, mailbox):
    do(app, "update_profile", HELPDESK, email="nieuw@example.org", name="Yvonne T.")
    notice = mailbox.last()
    assert (notice["To"], notice["Subject"]) == ("yvonne@example.org",
                                                 "[Ouderportaal] Uw e-mailadres is gewijzigd")
    with app.app_context():
        assert (account().email, account().name, account().version) == (
            "nieuw@example.org", "Yvonne T.", 3)
    [event] = events(app, "account.update")
    assert event.detail == {"fields": ["email", "name"], "reason": "ticket 4711"}
    do(app, "update_profile", HELPDESK, email="nieuw@example.org")  # no change: no event
    assert len(events(app, "account.update")) == 1


def test_a_new_username_is_how_the_parent_signs_in(app, parent, mailbox):
    do(app, "update_profile", HELPDESK, username="Yvonne.nieuw")
    assert "gebruikersnaam: Yvonne.nieuw" in body(mailbox.last())
    assert parent.sign_in(username="Yvonne.nieuw").status_code == 302


def test_an_external_id_is_set_changed_and_removed(app, parent):
    for given, stored, version in [("hr-1", "hr-1", 3), ("hr-2", "hr-2", 4), (None, "hr-2", 4),
                                   ("", None, 5)]:
        do(app, "update_profile", Actor("scim:hr"), external_id=given)
        with app.app_context():
            assert (account().external_id, account().version) == (stored, version)


@pytest.mark.parametrize("status", ["invited", "active"])
def test_a_new_email_address_voids_the_links_sent_to_the_old_one(app, client, make_org, invite,
                                                                  mailbox, frozen_clock, status):
    """Staff correct a mistyped address (or one the parent lost): whoever reads the old
    mailbox must not use the activation or reset link sent there."""
    from tests.test_account_links import follow, mailed_link

    make_org()
    invite()
    parent = Parent(client, mailbox)
    if status == "active":
        parent.activate()
        do(app, "send_password_reset", HELPDESK)
        link = mailed_link(mailbox)
    else:
        link = parent.activation_link()
    do(app, "update_profile", HELPDESK, email="nieuw@example.org")
    assert follow(app.test_client(), link).status_code == 410
    with app.app_context():
        assert db.session.scalar(select(Account.status)) == status


def test_update_profile_refuses_what_another_account_has(app, parent, invite):
    invite(username="Ouder.Twee", email="twee@example.org")
    with app.app_context(), pytest.raises(Refused) as refused:
        actions.update_profile(account(), HELPDESK, email="TWEE@example.org")
    assert refused.value.code == "duplicate_email"
    with app.app_context():
        assert account().email == "yvonne@example.org" and account().version == 2


# --- erase ----------------------------------------------------------------------------------
def test_erase_removes_the_account_and_leaves_a_stub_without_personal_data(
        app, signed_in, mailbox):
    parent, rp, tokens, receiver = signed_in
    do(app, "end_sessions", HELPDESK)
    clock.advance(30)
    tokens = rp.exchange(sign_in_at(rp, parent)["code"]).get_json()
    with app.app_context():
        subject = account().subject
    do(app, "erase", HELPDESK)
    run_worker(app)
    assert len(receiver.tokens) == 2  # the helpdesk's logout and the erasure's
    notice = mailbox.last()
    assert (notice["To"], notice["Subject"]) == ("yvonne@example.org",
                                                 "[Ouderportaal] Uw account is verwijderd")
    with app.app_context():
        for model in (Account, Activation, AccountLink, Grant, AuthorizationCode, RefreshToken):
            assert db.session.scalar(select(func.count()).select_from(model)) == 0, model
    trail = events(app)
    assert [e.action for e in trail] == ["account.end_sessions", "account.erase"]
    assert {e.target for e in trail} == {subject}
    text = json.dumps([[e.actor, e.target, e.detail] for e in trail])
    assert "Yvonne" not in text and "yvonne@example.org" not in text
    assert refused_like_a_wrong_password(parent.sign_in())
    assert rp.refresh(tokens["refresh_token"]).get_json()["error"] == "invalid_grant"


# --- through the commands ---------------------------------------------------------------------
def cli(runner, *args, input=None):
    return runner.invoke(args=list(args), input=input)


@pytest.mark.parametrize("command, action, output", [
    ("unlock", "account.unlock", "Unlocked Yvonne.testouder (PO2806); it was not locked"),
    ("logout", "account.end_sessions", "Ended 0 session(s) of Yvonne.testouder (PO2806)."),
    ("reset-password", "account.password_reset_sent",
     "A link to choose a new password went to yvonne@example.org."),
    ("reset-authenticator", "account.reset_authenticator",
     "The old app of Yvonne.testouder (PO2806) no longer works; a link to link a new one went "
     "to yvonne@example.org."),
    ("disable", "account.disable", "Disabled Yvonne.testouder (PO2806)."),
], ids=["unlock", "logout", "reset-password", "reset-authenticator", "disable"])
def test_commands_write_the_same_audit_entries(app, runner, parent, mailbox, command, action,
                                               output):
    destructive = command in ("disable", "reset-authenticator")
    result = cli(runner, "parent", command, "--org", "PO2806", USERNAME, "--reason", "ticket 9",
                 "--actor", "Anna", *(["--yes"] if destructive else []))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(output)
    [event] = events(app, action)
    assert (event.actor, event.detail["reason"], event.ip) == ("Anna", "ticket 9", None)
    body_text = body(mailbox.last())
    # (The embedded outbox echoes e-mails on stderr; the command's own output never has a link.)
    assert "/nieuwe-app/" not in result.stdout and "/herstellen/" not in result.stdout
    if "adres: " in body_text:
        assert body_text.split("adres: ")[1].split()[0].rsplit("/", 1)[1] not in result.stdout


def test_enable_and_resend_commands(app, runner, make_org, invite, mailbox):
    make_org()
    invite()
    assert cli(runner, "parent", "disable", "--org", "PO2806", USERNAME, "--reason", "t",
               "--yes").exit_code == 0
    refused = cli(runner, "parent", "resend", "--org", "PO2806", USERNAME)
    assert refused.exit_code == 1
    assert cli(runner, "parent", "enable", "--org", "PO2806", USERNAME,
               "--reason", "t").exit_code == 0
    resent = cli(runner, "parent", "resend", "--org", "PO2806", USERNAME)
    assert resent.exit_code == 0 and "the old link no longer works" in resent.output
    assert [e.action for e in events(app)] == ["account.disable", "account.enable",
                                               "account.resend"]


def test_invite_command_suggests_a_username_and_audits(app, runner, make_org, mailbox):
    make_org()
    result = cli(runner, "parent", "invite", "--org", "PO2806", "--email", "z@example.org",
                 "--name", "Zoë de Wit", "--actor", "Piet")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Invited Zoe.dewit (PO2806)")
    assert [(e.actor, e.action) for e in events(app)] == [("Piet", "account.invite")]


def test_invite_command_again_changes_the_address_and_sends_a_new_link(app, runner, make_org,
                                                                       mailbox):
    make_org()
    first = cli(runner, "parent", "invite", "--org", "PO2806", "--email", "z@example.org",
                "--username", "Zoe.dewit", "--name", "Zoë de Wit", "--actor", "Piet")
    assert first.exit_code == 0, first.output
    again = cli(runner, "parent", "invite", "--org", "PO2806", "--email", "zoe@example.org",
                "--username", "Zoe.dewit", "--name", "Zoë de Wit", "--actor", "Piet")
    assert again.exit_code == 0, again.output
    assert [(e.actor, e.action) for e in events(app)] == [
        ("Piet", "account.invite"), ("Piet", "account.update"), ("Piet", "account.resend")]
    assert sorted((m["To"], m["Subject"]) for m in mailbox.messages()) == [
        ("z@example.org", "[Ouderportaal] Uw e-mailadres is gewijzigd"),
        ("z@example.org", "[Ouderportaal] Welkom, nieuwe gebruiker"),
        ("zoe@example.org", "[Ouderportaal] Welkom, nieuwe gebruiker")]
    with app.app_context():
        links = db.session.scalars(select(Activation).order_by(Activation.id)).all()
        assert [link.used_at is None for link in links] == [False, True]


@pytest.mark.parametrize("command", ["unlock", "logout", "reset-password", "disable", "enable",
                                     "reset-authenticator", "delete"])
def test_helpdesk_commands_require_a_reason(runner, parent, command):
    yes = ["--yes"] if command in ("disable", "delete", "reset-authenticator") else []
    result = cli(runner, "parent", command, "--org", "PO2806", USERNAME, *yes)
    assert result.exit_code == 2 and "Missing option '--reason'" in result.output


@pytest.mark.parametrize("command", ["disable", "delete", "reset-authenticator"])
def test_destructive_commands_ask_first(app, runner, parent, command):
    result = cli(runner, "parent", command, "--org", "PO2806", USERNAME, "--reason", "t",
                 input="n\n")
    assert result.exit_code == 1 and "Aborted" in result.output
    assert events(app) == []


def test_parent_list_show_and_delete(app, runner, parent, invite):
    invite(username="Ouder.Twee", email="twee@example.org", name="Ouder Twee")
    listed = cli(runner, "parent", "list", "--org", "PO2806")
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["username", "name", "email", "status", "last", "sign-in"]
    assert [line.split()[0] for line in lines[1:]] == ["Ouder.Twee", USERNAME]
    only = cli(runner, "parent", "list", "--org", "PO2806", "--status", "invited")
    assert [line.split()[0] for line in only.output.splitlines()[1:]] == ["Ouder.Twee"]
    found = cli(runner, "parent", "list", "--org", "PO2806", "--search", "YVONNE@")
    assert [line.split()[0] for line in found.output.splitlines()[1:]] == [USERNAME]

    shown = cli(runner, "parent", "show", "--org", "PO2806", "Ouder.Twee")
    assert shown.exit_code == 0 and "status:        invited" in shown.output
    assert "Invitations:" in shown.output
    with app.app_context():
        token_hash = db.session.scalar(select(Activation.token_hash))
    assert token_hash not in shown.output

    deleted = cli(runner, "parent", "delete", "--org", "PO2806", "Ouder.Twee", "--reason",
                  "AVG-verzoek", "--yes")
    assert deleted.exit_code == 0 and "Erased the account" in deleted.output
    gone = cli(runner, "parent", "show", "--org", "PO2806", "Ouder.Twee")
    assert gone.exit_code == 1 and "No parent 'Ouder.Twee' in PO2806" in gone.output


def test_a_refusal_is_a_clear_command_error(runner, parent):
    result = cli(runner, "parent", "resend", "--org", "PO2806", USERNAME)
    assert result.exit_code == 1 and "al geactiveerd" in result.output


def test_staff_add_list_disable(app, runner, make_org, mailbox):
    make_org()
    added = cli(runner, "staff", "add", "--org", "PO2806", "--email", "anna@ppo.example",
                "--username", "Anna.devries", "--name", "Anna de Vries", "--role", "beheerder")
    assert added.exit_code == 0, added.output
    assert added.stdout.strip() == ("Invited Anna.devries (PO2806) as beheerder; the welcome "
                                    "e-mail went to anna@ppo.example.")
    assert mailbox.last()["To"] == "anna@ppo.example"
    listed = cli(runner, "staff", "list", "--org", "PO2806")
    assert listed.output.splitlines()[1].split()[:2] == ["Anna.devries", "Anna"]
    assert "beheerder" in listed.output
    assert cli(runner, "parent", "show", "--org", "PO2806", "Anna.devries").exit_code == 1
    disabled = cli(runner, "staff", "disable", "--org", "PO2806", "Anna.devries", "--reason",
                   "uit dienst", "--yes")
    assert disabled.exit_code == 0, disabled.output
    with app.app_context():
        assert account("Anna.devries").status == "disabled"
    again = cli(runner, "staff", "add", "--org", "PO2806", "--email", "a2@ppo.example",
                "--username", "Anna.devries", "--role", "helpdesk")
    assert again.exit_code == 1 and "bestaat al" in again.output


@pytest.mark.parametrize("refusal", [
    smtplib.SMTPRecipientsRefused({"yvonne@example.org": (550, b"5.1.1 <yvonne@example.org>: "
                                                               b"Recipient address rejected")}),
    smtplib.SMTPDataError(554, b"5.7.1 <yvonne@example.org>: Message refused"),
], ids=["recipient-refused", "data-refused"])
def test_a_notice_that_cannot_be_sent_logs_no_address(app, parent, monkeypatch, caplog, refusal):
    """The server's answer names the address: the log (and staff) get the reason only."""
    from idp import mail

    class RefusingServer:  # what idp.mail connects to: it takes the connection, not the mail
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def send_message(self, message):
            raise refusal

    monkeypatch.setitem(app.config, "IDP_SMTP_URL", "smtp://mail.example.org")
    monkeypatch.setattr(mail, "_connect", lambda url: RefusingServer())
    with caplog.at_level(logging.INFO):
        do(app, "unlock", HELPDESK)  # done, and stays done
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Uw account is vrijgegeven' not sent" in logged
    assert "55" in logged and "example.org>" not in logged and "yvonne@" not in logged
    assert [e.action for e in events(app)] == ["account.unlock"]
