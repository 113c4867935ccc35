"""Activation, as the parent handbook describes it: the welcome e-mail, the single-use link,
a new password twice, Google Authenticator (QR code or key) and a code to confirm.

Every mistake is shown in Dutch next to the field, with the same QR code, and saves nothing:
the link keeps working until the form is filled in right.
"""

import base64
import re
import threading
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from sqlalchemy import select

from idp import clock
from idp.auth import passwords
from idp.extensions import db
from idp.models import Account, Activation
from tests import pages
from tests.actors import PASSWORD, Parent, authenticator_code, decode_qr

ISSUER = "http://idp.test"
HELP_URL = "https://www.pporotterdam.nl/voor-ouders/kindkans-ouders/"
ACTIVATION_TTL = 7 * 24 * 3600

USED = ("Deze activatielink is al gebruikt. Uw account is al geactiveerd: u kunt inloggen. "
        "Lukt dat niet, vraag dan de PPO medewerker om een nieuwe uitnodiging.")
EXPIRED = ("Deze activatielink is verlopen. Vraag de PPO medewerker of de intern begeleider om "
           "een nieuwe uitnodiging.")
UNKNOWN = ("Deze activatielink is niet geldig. Controleer of u de hele link uit de e-mail heeft "
           "gebruikt, of vraag de PPO medewerker om een nieuwe uitnodiging.")
PAGE_EXPIRED = "Deze pagina was verlopen. Vul het formulier opnieuw in en probeer het nog eens."
ACTIVATED = "Uw account is geactiveerd. U kunt nu inloggen."


@pytest.fixture
def parent(app, client, mailbox, make_org, invite, frozen_clock):
    """Yvonne, invited to PO2806 PPO Rotterdam, with the welcome e-mail in her mailbox."""
    make_org()
    invite()
    return Parent(client, mailbox)


def account_state(app, username="Yvonne.testouder"):
    """What the database holds about the account and its links."""
    with app.app_context():
        account = db.session.scalar(select(Account).where(Account.username == username))
        links = db.session.scalars(
            select(Activation).where(Activation.account_id == account.id).order_by(Activation.id)
        ).all()
        return {
            "status": account.status,
            "password_hash": account.password_hash,
            "totp_secret_encrypted": account.totp_secret_encrypted,
            "activated_at": account.activated_at,
            "links_used": [link.used_at is not None for link in links],
        }


def not_activated(app):
    state = account_state(app)
    return (state["status"] == "invited" and state["password_hash"] is None
            and state["totp_secret_encrypted"] is None and not any(state["links_used"]))


def key_on(html: str) -> str:
    return re.search(r'<code class="key" id="totp-key">([^<]+)</code>', html).group(1)


def qr_src(html: str) -> str:
    return re.search(r'<img class="qr" src="([^"]+)"', html).group(1)


# --- the welcome e-mail ------------------------------------------------------------------------
def test_welcome_email_tells_the_parent_where_and_how(parent, mailbox):
    message = mailbox.last()
    assert message["Subject"] == "[Ouderportaal] Welkom, nieuwe gebruiker"
    assert message["From"] == "Ouderportaal <no-reply@idp.test>"
    assert message["To"] == "yvonne@example.org"
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    link = parent.activation_link()
    for part in (text, html):
        assert "PO2806 PPO Rotterdam" in part
        assert "Yvonne.testouder" in part
        assert link in part
        assert HELP_URL in part
        assert "Google Authenticator" in part
    assert f'<a href="{link}"' in html


def test_welcome_link_is_built_from_the_issuer_with_an_unguessable_token(parent):
    link = parent.activation_link()
    assert link.startswith(f"{ISSUER}/activeren/")
    token = link.removeprefix(f"{ISSUER}/activeren/")
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token), token
    assert len(token) >= 22  # >= 128 bits of base64url
    assert "yvonne" not in token.lower() and "testouder" not in token.lower()


def test_welcome_email_escapes_the_name_in_html(app, make_org, invite, mailbox, frozen_clock):
    make_org()
    invite(name="<script>alert(1)</script>")
    html = mailbox.last().get_body(("html",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>" not in html


# --- the activation page -----------------------------------------------------------------------
def test_link_token_is_moved_out_of_the_address(parent):
    link = parent.activation_link()
    response = parent.browser.get(link)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/activeren"
    token = link.rsplit("/", 1)[1]
    assert token not in response.headers["Location"]
    page = parent.browser.get(response.headers["Location"])
    assert page.status_code == 200
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_activation_page_shows_the_handbook_steps(parent):
    page = parent.open_activation()
    assert page.status_code == 200
    text = pages.text(page.get_data(as_text=True))
    for words in ("PO2806 PPO Rotterdam", "Yvonne.testouder",
                  "Nieuw wachtwoord", "Herhaal wachtwoord",
                  "Installeer Google Authenticator op uw smartphone",
                  "Druk in Google Authenticator op het plusje",
                  "Scan de streepjescode:", "Of voer deze sleutel in:",
                  "Vul nu hier de code in die op uw scherm verschijnt:", "Code", "Opslaan"):
        assert words in text, words
    order = [text.index(w) for w in ("Nieuw wachtwoord", "Herhaal wachtwoord", "Installeer",
                                     "plusje", "Scan de streepjescode", "Of voer deze sleutel",
                                     "Vul nu hier", "Opslaan")]
    assert order == sorted(order)


def test_key_and_qr_code_hold_the_same_secret(parent):
    html = parent.open_activation().get_data(as_text=True)
    key = key_on(html)
    assert re.fullmatch(r"([a-z2-7]{4} ){7}[a-z2-7]{4}", key), key
    secret = key.replace(" ", "").upper()
    assert len(base64.b32decode(secret)) == 20  # 160 bits

    uri = urlsplit(decode_qr(html))
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert unquote(uri.path) == "/Ouderportaal:Yvonne.testouder (PO2806)"
    params = {k: v[0] for k, v in parse_qs(uri.query).items()}
    assert params["secret"] == secret
    assert params["issuer"] == "Ouderportaal"
    assert params.get("algorithm", "SHA1").upper() == "SHA1"
    assert params.get("digits", "6") == "6"
    assert params.get("period", "30") == "30"


def test_every_view_of_the_page_shows_the_same_secret(parent):
    first = parent.open_activation().get_data(as_text=True)
    again = parent.open_activation().get_data(as_text=True)
    assert key_on(first) == key_on(again)
    assert decode_qr(first) == decode_qr(again)


# --- mistakes: shown next to the field, nothing saved -----------------------------------------
def wrong_code(html):
    right = authenticator_code(Parent.scan_key(None, html))
    return right[:-1] + str((int(right[-1]) + 1) % 10)


MISTAKES = {
    "passwords-differ": (
        lambda html: {"password_again": "fietsen langs de rijn 2026"},
        "password_again", "De twee wachtwoorden zijn niet hetzelfde. Probeer het opnieuw.",
    ),
    "password-too-short": (
        lambda html: {"password": "kort2026", "password_again": "kort2026"},
        "password", "Kies een wachtwoord van minstens 10 tekens.",
    ),
    "password-contains-username": (
        lambda html: {"password": "ik ben yvonne.testouder", "password_again": "ik ben yvonne.testouder"},
        "password", "Uw wachtwoord mag uw gebruikersnaam niet bevatten.",
    ),
    "wrong-code": (
        lambda html: {"code": wrong_code(html)},
        "code", "Deze code klopt niet. Vul de code in die de app nu laat zien; de code verandert "
                "elke 30 seconden.",
    ),
    "code-not-six-digits": (
        lambda html: {"code": "12345"},
        "code", "Vul de 6 cijfers in die de app Google Authenticator nu laat zien.",
    ),
    "missing-csrf-token": (
        lambda html: {"csrf_token": None},
        None, PAGE_EXPIRED,
    ),
}


@pytest.mark.parametrize("mistake", MISTAKES.values(), ids=MISTAKES.keys())
def test_mistake_is_shown_and_nothing_is_saved(app, parent, mistake):
    changes, field, message = mistake
    html = parent.open_activation().get_data(as_text=True)
    key, qr = key_on(html), decode_qr(html)

    fields = pages.form_fields(html)
    fields.update(password=PASSWORD, password_again=PASSWORD,
                  code=authenticator_code(parent.scan_key(html)))
    fields.update(changes(html))
    fields = {k: v for k, v in fields.items() if v is not None}
    response = parent.browser.post("/activeren", data=fields)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    if field:
        assert pages.field_errors(page) == {field: [message]}
        assert 'aria-invalid="true"' in page
        assert pages.messages(page) == []
    else:
        assert pages.messages(page) == [message]
        assert pages.field_errors(page) == {}
    assert key_on(page) == key and decode_qr(page) == qr
    assert PASSWORD not in page  # what was typed as password is not sent back
    assert not_activated(app)

    # The link still works, with the same secret, and a right submission activates.
    again = parent.open_activation().get_data(as_text=True)
    assert key_on(again) == key
    done = parent.submit_activation(again)
    assert done.status_code == 302
    assert account_state(app)["status"] == "active"


# --- success and a link that no longer works --------------------------------------------------
def test_activation_succeeds_and_the_sign_in_page_says_so(app, parent):
    response = parent.activate()
    assert response.headers["Location"] == "/inloggen?geactiveerd=1"
    page = parent.browser.get(response.headers["Location"])
    assert page.status_code == 200
    assert pages.messages(page.get_data(as_text=True), "ok") == [ACTIVATED]
    state = account_state(app)
    assert state["status"] == "active" and state["activated_at"] and state["links_used"] == [True]
    # and the new password and app sign the parent in
    signed_in = parent.sign_in()
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/account"


def use_link(parent):
    parent.activate()


def expire_link(parent):
    clock.advance(ACTIVATION_TTL + 1)


def forget_link(parent):
    parent.mailbox_link = f"{ISSUER}/activeren/bestaat-niet-{'x' * 30}"


DEAD_LINKS = {
    "used": (use_link, 410, USED),
    "expired": (expire_link, 410, EXPIRED),
    "unknown": (forget_link, 404, UNKNOWN),
}


@pytest.mark.parametrize("what_happened", DEAD_LINKS.values(), ids=DEAD_LINKS.keys())
def test_link_that_no_longer_works(app, parent, what_happened):
    happen, status, message = what_happened
    parent.mailbox_link = parent.activation_link()
    before = account_state(app)
    happen(parent)
    after = account_state(app)
    response = parent.open_activation(parent.mailbox_link)
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert pages.messages(html) == [message]
    assert 'class="qr"' not in html and "totp-key" not in html
    assert account_state(app) == after  # opening a dead link changes nothing
    if happen is expire_link:
        assert after == before and not_activated(app)


def test_link_works_until_the_last_second(app, parent):
    clock.advance(ACTIVATION_TTL - 1)
    assert parent.open_activation().status_code == 200


def test_page_opened_before_expiry_and_sent_after_is_refused(app, parent):
    clock.advance(ACTIVATION_TTL - 60)
    html = parent.open_activation().get_data(as_text=True)
    clock.advance(61)
    response = parent.submit_activation(html)
    assert response.status_code == 410
    assert pages.messages(response.get_data(as_text=True)) == [EXPIRED]
    assert not_activated(app)


def test_reinvite_sends_a_new_link_and_voids_the_old_one(app, parent, invite, mailbox):
    old_link = parent.activation_link()
    old_key = key_on(parent.open_activation(old_link).get_data(as_text=True))
    invite()
    assert len(mailbox.messages()) == 2
    new_link = parent.activation_link()
    assert new_link != old_link and new_link.startswith(f"{ISSUER}/activeren/")

    old = parent.open_activation(old_link)
    assert old.status_code == 410
    assert pages.messages(old.get_data(as_text=True)) == [EXPIRED]
    assert account_state(app)["status"] == "invited"

    new = parent.open_activation(new_link)
    assert new.status_code == 200
    assert key_on(new.get_data(as_text=True)) != old_key  # a new secret to scan
    assert parent.activate().status_code == 302
    after = parent.open_activation(old_link)
    assert after.status_code == 410
    assert pages.messages(after.get_data(as_text=True)) == [USED]  # now it is true


def test_form_of_the_old_link_cannot_activate_after_a_reinvite(app, parent, invite):
    html = parent.open_activation().get_data(as_text=True)
    invite()
    response = parent.submit_activation(html)
    assert response.status_code == 410
    assert pages.messages(response.get_data(as_text=True)) == [EXPIRED]
    assert account_state(app)["status"] == "invited"


# --- what is stored ----------------------------------------------------------------------------
def test_password_is_hashed_with_argon2id_and_secret_is_encrypted(app, parent):
    parent.activate()
    state = account_state(app)
    assert state["password_hash"].startswith("$argon2id$")
    assert PASSWORD not in state["password_hash"]
    stored = bytes(state["totp_secret_encrypted"])
    assert base64.b32decode(parent.secret) not in stored
    assert parent.secret.encode() not in stored
    assert parent.secret.lower().encode() not in stored


# --- two tabs ----------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["postgres"])  # row locks need a real database server
def test_two_tabs_submitting_at_once_activate_once(app, parent, monkeypatch):
    link = parent.activation_link()
    tabs = [app.test_client(), app.test_client()]
    forms = []
    for tab in tabs:
        assert tab.get(link).status_code == 302
        page = tab.get("/activeren")
        assert page.status_code == 200
        forms.append(page.get_data(as_text=True))
    code = authenticator_code(parent.scan_key(forms[0]))
    assert parent.scan_key(forms[1]) == parent.scan_key(forms[0])

    barrier = threading.Barrier(2)
    responses = [None, None]
    # Both requests get past every check (the link is still unused for both) before either
    # saves: the race is then decided by the database, every run.
    both_checked = threading.Barrier(2, timeout=10)
    hash_password = passwords.hash_password

    def hash_when_both_checked(password):
        both_checked.wait()
        return hash_password(password)

    monkeypatch.setattr(passwords, "hash_password", hash_when_both_checked)

    def submit(i):
        fields = pages.form_fields(forms[i])
        fields.update(password=PASSWORD, password_again=PASSWORD, code=code)
        barrier.wait()
        responses[i] = tabs[i].post("/activeren", data=fields)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [302, 410]
    loser = next(r for r in responses if r.status_code == 410)
    assert pages.messages(loser.get_data(as_text=True)) == [USED]
    state = account_state(app)
    assert state["status"] == "active" and state["links_used"] == [True]


def test_organisation_without_two_factor_asks_for_a_password_only(
        app, client, mailbox, make_org, invite, frozen_clock):
    make_org(code="PO9999", name="PPO Proef", requires_2fa=False)
    invite(org_code="PO9999", username="ouder")
    parent = Parent(client, mailbox, username="ouder", org="PO9999")
    html = parent.open_activation().get_data(as_text=True)
    assert "Google Authenticator" not in pages.text(html) and 'class="qr"' not in html
    assert "Google Authenticator" not in parent.mailbox.last().get_body(("plain",)).get_content()
    parent.activate()
    assert parent.secret is None
    response = parent.sign_in()
    assert response.status_code == 302 and response.headers["Location"] == "/account"
