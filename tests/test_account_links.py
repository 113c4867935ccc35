"""The links e-mailed to a parent, end to end: a lost phone (the helpdesk resets the app, the
parent links a new phone with the e-mailed link and their password, and signs in with it; the
old phone's codes no longer work), a new password (still with the app's code), four eyes, and
linking an app at sign-in when the organisation starts asking for a code.

An e-mail alone never takes over an account: the new-app page asks for the password first, the
new-password page for the code."""

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from idp import clock
from idp.accounts import actions
from idp.accounts.actions import Actor, Refused
from idp.extensions import db
from idp.models import Account, AccountLink, AuditEvent, Organisation
from tests import pages
from tests.actors import PASSWORD, Parent, authenticator_code, decode_qr
from tests.secrets_seen import remember
from tests.test_account_actions import events, refused_like_a_wrong_password
from tests.test_activation import PAGE_EXPIRED
from tests.test_backchannel_logout import run_worker
from tests.test_oidc_flow import sign_in_at

HELPDESK = Actor("Anna de Vries (helpdesk, PO2806)", ip="192.0.2.10", reason="ticket 4711")
SECOND = Actor("Bram Bakker (beheerder, PO2806)", ip="192.0.2.11", reason="ticket 4711 akkoord")
NEW_PASSWORD = "zwemmen in de rotte bij nacht"
CODE_WRONG = ("Deze code klopt niet. Vul de code in die de app nu laat zien; de code verandert "
              "elke 30 seconden.")
USED = ("Deze link is al gebruikt: een link werkt maar één keer. Lukt het inloggen niet, vraag "
        "dan de helpdesk om een nieuwe link.")
EXPIRED = ("Deze link is verlopen of vervangen door een nieuwere link. Gebruik de link uit de "
           "nieuwste e-mail, of vraag de helpdesk om een nieuwe link.")
UNKNOWN = ("Deze link is niet geldig. Controleer of u de hele link uit de e-mail heeft gebruikt, "
           "of vraag de helpdesk om een nieuwe link.")


def helpdesk(app, action, actor=HELPDESK, username="Yvonne.testouder"):
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.username == username))
        return getattr(actions, action)(account, actor)


def mailed_link(mailbox) -> str:
    text = mailbox.last().get_body(("plain",)).get_content()
    link = re.search(r"adres: (\S+)", text).group(1)
    remember(link, link.rsplit("/", 1)[-1])
    return link


def follow(browser, link):
    """Open a link from an e-mail: the token leaves the address bar at once."""
    first = browser.get(link)
    if first.status_code != 302:
        return first
    location = first.headers["Location"]
    assert link.rsplit("/", 1)[-1] not in location
    return browser.get(location)


def submit(browser, page, path, **fields):
    data = pages.form_fields(page.get_data(as_text=True))
    data.update(fields)
    remember(*(fields.get(name) for name in ("password", "password_again", "code")))
    return browser.post(path, data=data)


def link_new_phone(parent: Parent, link: str, password=PASSWORD):
    """Open the link, give the password, scan the new QR code and confirm with its code."""
    verify = follow(parent.browser, link)
    assert verify.status_code == 200, pages.text(verify.get_data(as_text=True))
    enrol = submit(parent.browser, verify, "/nieuwe-app", password=password)
    assert enrol.status_code == 302
    page = parent.browser.get(enrol.headers["Location"])
    html = page.get_data(as_text=True)
    secret = parent.scan_key(html)
    assert f"secret={secret}" in decode_qr(html)
    done = submit(parent.browser, page, "/nieuwe-app", code=authenticator_code(secret))
    return secret, done


# --- the lost phone ---------------------------------------------------------------------------
def test_lost_phone_end_to_end(app, world, mailbox, logout_receiver, make_client):
    parent, rp = world
    old_secret = parent.secret
    assert parent.sign_in().status_code == 302
    helpdesk(app, "reset_authenticator")
    # The old secret died at once, and the session ended.
    assert parent.browser.get("/").status_code == 302
    clock.advance(30)
    assert refused_like_a_wrong_password(parent.sign_in())
    message = mailbox.last()
    assert message["Subject"] == "[Ouderportaal] Koppel uw app opnieuw"
    assert "De link werkt één keer en is 3 dagen geldig." in message.get_body(("plain",)).get_content()
    link = mailed_link(mailbox)
    assert urlsplit(link).path.startswith("/nieuwe-app/")

    new_secret, done = link_new_phone(parent, link)
    assert done.status_code == 302 and "gekoppeld=1" in done.headers["Location"]
    login = parent.browser.get(done.headers["Location"])
    assert "Uw app is gekoppeld." in pages.text(login.get_data(as_text=True))
    assert mailbox.last()["Subject"] == "[Ouderportaal] Uw nieuwe app is gekoppeld"

    # The enrolment code may not sign in as well; the next one does.
    parent.secret = new_secret
    assert refused_like_a_wrong_password(parent.sign_in(code=authenticator_code(new_secret)))
    clock.advance(30)
    assert refused_like_a_wrong_password(parent.sign_in(code=authenticator_code(old_secret)))
    clock.advance(30)
    assert parent.sign_in().status_code == 302
    assert [e.action for e in events(app)] == ["account.reset_authenticator",
                                               "account.authenticator_linked"]
    # The password stayed what it was: the parent never chose a new one.


def test_the_new_app_page_needs_the_password(app, parent, mailbox):
    helpdesk(app, "reset_authenticator")
    verify = follow(parent.browser, mailed_link(mailbox))
    html = verify.get_data(as_text=True)
    assert 'class="qr"' not in html and "totp-key" not in html
    wrong = submit(parent.browser, verify, "/nieuwe-app", password="niet mijn wachtwoord")
    assert wrong.status_code == 400
    assert pages.field_errors(wrong.get_data(as_text=True))["password"] == [
        "Dit wachtwoord klopt niet. Let op hoofdletters en kleine letters."]
    assert 'class="qr"' not in wrong.get_data(as_text=True)


def test_wrong_passwords_on_the_new_app_page_count_like_sign_in_failures(app, parent, mailbox):
    helpdesk(app, "reset_authenticator")
    link = mailed_link(mailbox)
    verify = follow(parent.browser, link)
    for _ in range(app.config["IDP_LOCKOUT_AFTER"]):
        clock.advance(90)
        submit(parent.browser, verify, "/nieuwe-app", password="niet mijn wachtwoord")
    right = submit(parent.browser, verify, "/nieuwe-app", password=PASSWORD)
    assert right.status_code == 400  # locked for 15 minutes, like the sign-in page
    clock.advance(app.config["IDP_LOCKOUT_SECONDS"] + 1)
    assert submit(parent.browser, verify, "/nieuwe-app", password=PASSWORD).status_code == 302


THROTTLED = ("Er is vanaf deze internetverbinding te vaak verkeerd ingelogd. Wacht tien minuten en "
             "probeer het dan opnieuw. Lukt het daarna nog niet, vraag dan hulp aan de helpdesk.")


def link_page(app, parent, mailbox, purpose):
    """The page of a fresh link, and what it asks to prove it is the parent: the password
    (a new app) or the app's code (a new password)."""
    if purpose == "new-app":
        helpdesk(app, "reset_authenticator")
        return follow(parent.browser, mailed_link(mailbox)), "/nieuwe-app", {}
    helpdesk(app, "send_password_reset")
    return (follow(parent.browser, mailed_link(mailbox)), "/herstellen",
            {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD})


def prove(parent, page, path, fields, right: bool):
    if path == "/nieuwe-app":
        return submit(parent.browser, page, path, password=PASSWORD if right else "fout fout")
    code = authenticator_code(parent.secret) if right else "000000"
    return submit(parent.browser, page, path, **fields, code=code)


@pytest.mark.parametrize("purpose", ["new-app", "reset"])
def test_a_locked_account_s_right_answer_is_refused_like_a_wrong_one(app, parent, mailbox,
                                                                    purpose):
    """The sign-in page's rule: every failure looks the same to whoever holds the link; the
    lock e-mail tells the real owner (docs/security.md)."""
    page, path, fields = link_page(app, parent, mailbox, purpose)
    wrong = pages.field_errors(prove(parent, page, path, fields, right=False)
                               .get_data(as_text=True))
    for _ in range(app.config["IDP_LOCKOUT_AFTER"] - 1):
        clock.advance(90)
        prove(parent, page, path, fields, right=False)
    assert "geblokkeerd" in mailbox.last()["Subject"].lower()
    clock.advance(90)
    right = prove(parent, page, path, fields, right=True)
    assert right.status_code == 400
    assert pages.field_errors(right.get_data(as_text=True)) == wrong


@pytest.mark.app_settings(IDP_THROTTLE_IP_FAILURES=3)
@pytest.mark.parametrize("purpose", ["new-app", "reset"])
def test_failures_on_a_link_page_count_for_the_ip_like_sign_in_failures(app, parent, mailbox,
                                                                       purpose):
    page, path, fields = link_page(app, parent, mailbox, purpose)
    for _ in range(3):
        assert prove(parent, page, path, fields, right=False).status_code == 400
    throttled = prove(parent, page, path, fields, right=True)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert pages.messages(throttled.get_data(as_text=True)) == [THROTTLED]
    assert parent.sign_in().status_code == 429  # the sign-in page counts them too
    with app.app_context():
        assert db.session.scalar(select(AccountLink.used_at)) is None


def test_a_wrong_code_links_nothing(app, parent, mailbox):
    helpdesk(app, "reset_authenticator")
    verify = follow(parent.browser, mailed_link(mailbox))
    page = parent.browser.get(submit(parent.browser, verify, "/nieuwe-app",
                                     password=PASSWORD).headers["Location"])
    wrong = submit(parent.browser, page, "/nieuwe-app", code="000000")
    assert wrong.status_code == 400
    assert pages.field_errors(wrong.get_data(as_text=True))["code"] == [CODE_WRONG]
    assert parent.scan_key(wrong.get_data(as_text=True)) == parent.scan_key(page.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(Account.totp_secret_encrypted)) is None


@pytest.mark.parametrize("case, status, message", [
    ("used", 410, USED),
    ("replaced", 410, EXPIRED),
    ("expired", 410, EXPIRED),
    ("unknown", 404, UNKNOWN),
    ("too-long", 404, UNKNOWN),
])
def test_a_link_that_cannot_be_used_says_why(app, client, parent, mailbox, case, status, message):
    helpdesk(app, "reset_authenticator")
    link = mailed_link(mailbox)
    if case == "used":
        link_new_phone(parent, link)
    elif case == "replaced":
        helpdesk(app, "reset_authenticator")
    elif case == "expired":
        clock.advance(3 * 24 * 3600)
    elif case == "unknown":
        link = link[:-4] + "AAAA"
    else:
        link = link + "A" * 100
    page = follow(app.test_client(), link)
    assert page.status_code == status
    assert pages.messages(page.get_data(as_text=True)) == [message]


def test_opening_the_link_is_recorded(app, parent, mailbox):
    helpdesk(app, "reset_authenticator")
    clock.advance(60)
    follow(parent.browser, mailed_link(mailbox))
    with app.app_context():
        link = db.session.scalar(select(AccountLink))
        assert link.opened_at == link.issued_at + 60 and link.used_at is None


def test_a_form_without_its_csrf_token_changes_nothing(app, parent, mailbox):
    helpdesk(app, "reset_authenticator")
    verify = follow(parent.browser, mailed_link(mailbox))
    response = submit(parent.browser, verify, "/nieuwe-app", password=PASSWORD, csrf_token="x")
    assert response.status_code == 400
    assert pages.messages(response.get_data(as_text=True)) == [PAGE_EXPIRED]


def test_the_reset_form_without_its_csrf_token_changes_nothing(app, parent, mailbox):
    page = reset_page(app, parent, mailbox)
    with app.app_context():
        before = db.session.scalar(select(Account.password_hash))
    response = submit(parent.browser, page, "/herstellen", password="een nieuw lang wachtwoord",
                      password_again="een nieuw lang wachtwoord", csrf_token="x")
    assert response.status_code == 400
    assert pages.messages(response.get_data(as_text=True)) == [PAGE_EXPIRED]
    with app.app_context():
        assert db.session.scalar(select(Account.password_hash)) == before


# --- four eyes --------------------------------------------------------------------------------
def test_four_eyes_the_link_goes_out_when_a_second_person_approves(app, parent, mailbox):
    with app.app_context():
        db.session.scalar(select(Organisation)).four_eyes_reset = True
        db.session.commit()
    sent = len(mailbox.messages())
    helpdesk(app, "reset_authenticator")
    with app.app_context():
        link = db.session.scalar(select(AccountLink))
        assert link.approved_at is None and link.token_hash is None
    notice = mailbox.last()
    assert len(mailbox.messages()) == sent + 1
    assert notice["Subject"] == "[Ouderportaal] Uw app is losgekoppeld"
    assert "/nieuwe-app/" not in notice.get_body(("plain",)).get_content()
    with app.app_context():
        waiting = db.session.scalar(select(AccountLink))
        with pytest.raises(Refused) as refused:
            actions.approve_reset(waiting, HELPDESK)
        assert refused.value.code == "same_person"
        actions.approve_reset(waiting, SECOND)
        with pytest.raises(Refused) as refused:
            actions.approve_reset(waiting, SECOND)
        assert refused.value.code == "not_pending"
    assert mailbox.last()["Subject"] == "[Ouderportaal] Koppel uw app opnieuw"
    secret, done = link_new_phone(parent, mailed_link(mailbox))
    assert done.status_code == 302
    [event] = events(app, "account.approve_reset")
    assert (event.actor, event.detail["requested_by"]) == (SECOND.name, HELPDESK.name)


# --- a new password -------------------------------------------------------------------------
def reset_page(app, parent, mailbox):
    helpdesk(app, "send_password_reset")
    message = mailbox.last()
    assert message["Subject"] == "[Ouderportaal] Nieuw wachtwoord instellen"
    assert "De link werkt één keer en is 30 minuten geldig." in message.get_body(("plain",)).get_content()
    link = mailed_link(mailbox)
    assert urlsplit(link).path.startswith("/herstellen/")
    return follow(parent.browser, link)


def test_password_reset_end_to_end(app, world, mailbox, make_client, logout_receiver):
    from tests.actors import RelyingParty

    parent, plain_rp = world
    made = make_client(name="Dossier", redirect_uris=("https://dossier.test/cb",),
                       backchannel_logout_uri=logout_receiver.uri)
    rp = RelyingParty(plain_rp.http, made["client_id"], made["client_secret"], made["redirect_uri"])
    rp.exchange(sign_in_at(rp, parent)["code"])
    clock.advance(30)
    page = reset_page(app, parent, mailbox)
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)
    done = submit(parent.browser, page, "/herstellen", password=NEW_PASSWORD,
                  password_again=NEW_PASSWORD, code=authenticator_code(parent.secret))
    assert done.status_code == 302 and "hersteld=1" in done.headers["Location"]
    login = parent.browser.get(done.headers["Location"])
    assert "Uw nieuwe wachtwoord is opgeslagen." in pages.text(login.get_data(as_text=True))
    assert mailbox.last()["Subject"] == "[Ouderportaal] Uw wachtwoord is gewijzigd"
    run_worker(app)
    assert len(logout_receiver.tokens) == 1  # every session ended
    clock.advance(30)
    assert refused_like_a_wrong_password(parent.sign_in(password=PASSWORD))
    clock.advance(30)
    assert parent.sign_in(password=NEW_PASSWORD).status_code == 302
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(
            AuditEvent.action == "account.password_reset"))
        assert (event.actor, event.ip) == ("self", "127.0.0.1")


@pytest.mark.parametrize("fields, field, message", [
    ({"code": "000000"}, "code", CODE_WRONG),
    ({"code": ""}, "code", "Vul de 6 cijfers in die de app Google Authenticator nu laat zien."),
    ({"password_again": "iets anders"}, "password_again",
     "De twee wachtwoorden zijn niet hetzelfde. Probeer het opnieuw."),
    ({"password": "Yvonne.testouder!!", "password_again": "Yvonne.testouder!!"}, "password",
     "Uw wachtwoord mag uw gebruikersnaam niet bevatten."),
], ids=["wrong-code", "no-code", "not-the-same", "policy"])
def test_a_wrong_reset_form_changes_nothing(app, parent, mailbox, fields, field, message):
    page = reset_page(app, parent, mailbox)
    data = {"password": NEW_PASSWORD, "password_again": NEW_PASSWORD,
            "code": authenticator_code(parent.secret), **fields}
    response = submit(parent.browser, page, "/herstellen", **data)
    assert response.status_code == 400
    assert pages.field_errors(response.get_data(as_text=True))[field] == [message]
    clock.advance(30)
    assert parent.sign_in().status_code == 302  # the old password still works
    with app.app_context():
        assert db.session.scalar(select(AccountLink.used_at)) is None


def test_the_reset_link_works_once_and_for_30_minutes(app, parent, mailbox):
    page = reset_page(app, parent, mailbox)
    clock.advance(30 * 60)
    expired = submit(parent.browser, page, "/herstellen", password=NEW_PASSWORD,
                     password_again=NEW_PASSWORD, code=authenticator_code(parent.secret))
    assert expired.status_code == 410
    assert pages.messages(expired.get_data(as_text=True)) == [EXPIRED]

    page = reset_page(app, parent, mailbox)
    link = mailed_link(mailbox)
    assert submit(parent.browser, page, "/herstellen", password=NEW_PASSWORD,
                  password_again=NEW_PASSWORD,
                  code=authenticator_code(parent.secret)).status_code == 302
    again = follow(app.test_client(), link)
    assert again.status_code == 410 and pages.messages(again.get_data(as_text=True)) == [USED]


def test_without_two_factor_the_reset_asks_no_code(app, client, make_org, invite, mailbox,
                                                    frozen_clock):
    make_org(requires_2fa=False)
    invite()
    parent = Parent(client, mailbox)
    parent.activate(password="fietsen langs de maas tot aan de zee")
    page = reset_page(app, parent, mailbox)
    assert 'name="code"' not in page.get_data(as_text=True)
    password = "zwemmen in de rotte bij nacht en ontij"
    done = submit(parent.browser, page, "/herstellen", password=password, password_again=password)
    assert done.status_code == 302
    assert parent.sign_in(password=password, code="").status_code == 302


# --- two-factor added later -------------------------------------------------------------------
@pytest.fixture
def code_added_later(app, client, make_org, invite, mailbox, frozen_clock):
    """Yvonne activated while PO2806 signed in without a code; now it asks for one."""
    make_org(requires_2fa=False)
    invite()
    parent = Parent(client, mailbox)
    parent.activate(password="fietsen langs de maas tot aan de zee")
    with app.app_context():
        db.session.scalar(select(Organisation)).requires_2fa = True
        db.session.commit()
    return parent


def sign_in_without_code(parent, password="fietsen langs de maas tot aan de zee", url="/inloggen"):
    page = parent.browser.get(url)
    return submit(parent.browser, page, url, organisation="PO2806", username=parent.username,
                  password=password, code="", zonder_code="1")


def test_a_parent_without_an_app_links_one_at_sign_in(app, code_added_later, mailbox):
    parent = code_added_later
    first = sign_in_without_code(parent)
    assert first.status_code == 302 and urlsplit(first.headers["Location"]).path == "/inloggen/app-koppelen"
    page = parent.browser.get(first.headers["Location"])
    html = page.get_data(as_text=True)
    assert "Uw organisatie vraagt bij het inloggen voortaan om een code" in pages.text(html)
    secret = parent.scan_key(html)
    done = submit(parent.browser, page, "/inloggen/app-koppelen", code=authenticator_code(secret))
    assert done.status_code == 302 and "gekoppeld=1" in done.headers["Location"]
    parent.secret = secret
    clock.advance(30)
    assert parent.sign_in(password="fietsen langs de maas tot aan de zee").status_code == 302
    [event] = events(app, "account.authenticator_linked")
    assert event.detail == {"at_sign_in": True}


def test_a_relying_partys_request_waits_while_the_app_is_linked(app, code_added_later, make_client):
    from tests.actors import RelyingParty

    parent = code_added_later
    made = make_client()
    rp = RelyingParty(parent.browser, made["client_id"], made["client_secret"], made["redirect_uri"])
    start = parent.browser.get(rp.authorization_url())
    login_url = pages.forms(start.get_data(as_text=True))[0]["action"]  # the page posts to the flow
    first = sign_in_without_code(parent, url=login_url)
    page = parent.browser.get(first.headers["Location"])
    secret = parent.scan_key(page.get_data(as_text=True))
    done = submit(parent.browser, page, "/inloggen/app-koppelen", code=authenticator_code(secret))
    back_to_login = done.headers["Location"]
    assert "flow=" in back_to_login
    parent.secret = secret
    clock.advance(30)
    signed_in = parent.sign_in(back_to_login, password="fietsen langs de maas tot aan de zee")
    assert signed_in.status_code == 302
    assert rp.callback_params(signed_in)["code"]


@pytest.mark.parametrize("case", ["wrong-password", "app-linked", "reset-pending"])
def test_no_way_around_the_code(app, code_added_later, mailbox, case):
    parent = code_added_later
    password = "fietsen langs de maas tot aan de zee"
    if case == "wrong-password":
        password = "niet het wachtwoord"
    elif case == "app-linked":
        first = sign_in_without_code(parent)
        page = parent.browser.get(first.headers["Location"])
        submit(parent.browser, page, "/inloggen/app-koppelen",
               code=authenticator_code(parent.scan_key(page.get_data(as_text=True))))
    else:
        with app.app_context():
            db.session.scalar(select(Organisation)).requires_2fa = False
            db.session.commit()
        parent.sign_in(password=password, code="")
        helpdesk(app, "reset_authenticator")  # the e-mailed link is the way, not the sign-in
        with app.app_context():
            db.session.scalar(select(Organisation)).requires_2fa = True
            db.session.commit()
    clock.advance(30)
    assert refused_like_a_wrong_password(sign_in_without_code(parent, password=password))


@pytest.mark.parametrize("meanwhile", ["disable", "reset_authenticator"])
def test_an_app_is_not_linked_at_sign_in_after_the_helpdesk_acted_meanwhile(
        app, code_added_later, meanwhile):
    parent = code_added_later
    page = parent.browser.get(sign_in_without_code(parent).headers["Location"])
    helpdesk(app, meanwhile)
    code = authenticator_code(parent.scan_key(page.get_data(as_text=True)))
    response = submit(parent.browser, page, "/inloggen/app-koppelen", code=code)
    assert response.status_code == 400
    assert "Het koppelen van de app duurde te lang. Log opnieuw in." in pages.text(
        response.get_data(as_text=True))
    with app.app_context():
        assert db.session.scalar(select(Account.totp_secret_encrypted)) is None
    assert events(app, "account.authenticator_linked") == []


def test_the_enrolment_page_alone_is_nothing(client, code_added_later):
    response = client.get("/inloggen/app-koppelen")
    assert response.status_code == 400
    assert "Het koppelen van de app duurde te lang. Log opnieuw in." in pages.text(
        response.get_data(as_text=True))


def test_a_link_the_parent_asked_for_themselves(app, parent, mailbox):
    """Self-service (idp.accounts.links.issue): the e-mail says the parent asked for it."""
    from idp.accounts import links

    with app.app_context():
        account = db.session.scalar(select(Account))
        links.issue(account, "password_reset", links.SELF)
    text = " ".join(mailbox.last().get_body(("plain",)).get_content().split())
    assert text.startswith("Beste Yvonne Testouder, U heeft gevraagd om een nieuw wachtwoord")
    page = follow(parent.browser, mailed_link(mailbox))
    assert page.status_code == 200


def test_the_reset_e_mail_says_when_the_parent_is_signed_out(app, parent, mailbox):
    """"Daarna" after "30 minuten geldig" read as: signed out after 30 minutes."""
    helpdesk(app, "send_password_reset")
    message = mailbox.last()
    for part in ("plain", "html"):
        text = " ".join(pages.text(message.get_body((part,)).get_content()).split())
        assert ("Na het opslaan van uw nieuwe wachtwoord bent u overal uitgelogd. U logt daarna "
                "in met uw nieuwe wachtwoord.") in text
