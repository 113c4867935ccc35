"""The console's defences: CSRF on every form, stored XSS, rate limits, no secret on any page,
and pages a keyboard and a screen reader can use, in Dutch or English."""

import re

import pytest

from idp import clock
from idp.extensions import db
from idp.models import Account, AuditEvent
from tests import pages
from tests.console.test_access import ROUTES
from tests.conftest import subject_of
from tests.secrets_seen import leaks_in, remember

XSS = "<script>alert(1)</script>"


def state(app):
    """Everything a refused POST must leave as it was."""
    with app.app_context():
        accounts = sorted((a.username, a.status, a.role, a.locked_at, a.email)
                          for a in db.session.query(Account))
        return accounts, db.session.query(AuditEvent).count()


@pytest.mark.app_settings(IDP_CONSOLE_ACTIONS_PER_MINUTE=10_000)
def test_every_console_form_refuses_a_post_without_csrf_token(app, parent, make_staff, mailbox):
    beheerder = make_staff("beheerder")
    colleague = make_staff("medewerker", sign_in=False)
    targets = {"parent": subject_of(app, "Yvonne.testouder"),
               "staff": subject_of(app, colleague.username)}
    posts = [path for method, path, *_ in ROUTES if method == "POST"]
    before, mails = state(app), len(mailbox.messages())
    for path in posts:
        response = beheerder.browser.post(path.format(**targets), data={
            "confirm": "yes", "reason": "Ticket 1", "name": "Nieuwe Ouder", "code": "123456",
            "email": "nieuw@example.org", "username": "Nieuwe.ouder", "role": "helpdesk"})
        assert response.status_code == 400, path
    assert state(app) == before
    assert len(mailbox.messages()) == mails


@pytest.mark.app_settings(IDP_CONSOLE_ACTIONS_PER_MINUTE=10_000)
def test_a_parent_named_like_a_script_shows_as_text_everywhere(app, make_org, make_staff):
    make_org()
    staff = make_staff("beheerder")
    form = pages.form_fields(staff.page("/beheer/ouders/uitnodigen").get_data(as_text=True))
    form.update(name=XSS, email="xss@example.org", username="Xss.ouder")
    invited = staff.browser.post("/beheer/ouders/uitnodigen", data=form)
    assert invited.status_code == 302
    subject = subject_of(app, "Xss.ouder")
    detail = f"/beheer/ouders/{subject}"
    staff.act(detail, f"{detail}/uitschakelen", reason=XSS)  # the reason goes into the trail
    seen = [staff.page(path) for path in (
        "/beheer/ouders", "/beheer/ouders?q=script", f"/beheer/ouders?q={XSS}", detail,
        "/beheer/medewerkers", "/beheer/")]
    for response in seen:
        html = response.get_data(as_text=True)
        assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in seen[-3].get_data(as_text=True)


@pytest.mark.app_settings(IDP_CONSOLE_ACTIONS_PER_MINUTE=3)
def test_console_actions_are_rate_limited_per_staff_member(app, parent, make_staff):
    detail = f"/beheer/ouders/{subject_of(app, 'Yvonne.testouder')}"
    staff = make_staff("helpdesk")
    other = make_staff("beheerder")
    answers = [staff.act(detail, f"{detail}/sessies-beeindigen") for _ in range(4)]
    assert [a.status_code for a in answers] == [302, 302, 302, 429]
    assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    assert "Te veel pogingen" in pages.text(answers[-1].get_data(as_text=True))
    assert other.act(detail, f"{detail}/sessies-beeindigen").status_code == 302  # per person
    clock.advance(60)
    assert staff.act(detail, f"{detail}/sessies-beeindigen").status_code == 302


@pytest.mark.app_settings(IDP_CONSOLE_ACTIONS_PER_MINUTE=10_000)
def test_no_console_page_ever_shows_a_secret(app, make_org, make_staff, invite, mailbox):
    """Invite, resend, reset: the links go only by e-mail; no page holds a token, a TOTP
    secret, a password or a code the tests ever handled."""
    make_org()
    staff = make_staff("beheerder")
    invite()
    subject = subject_of(app, "Yvonne.testouder")
    detail = f"/beheer/ouders/{subject}"
    bodies = [staff.act(detail, f"{detail}/opnieuw-uitnodigen", reason=None)]
    body = mailbox.last().get_body(("plain",)).get_content()
    token = re.search(r"/activeren/(\S+)", body).group(1)
    remember(token)
    with app.app_context():
        from idp.auth import totp
        from idp.models import Activation

        secrets = [totp.decrypt_secret(a.totp_secret_encrypted)
                   for a in db.session.query(Activation)]
    remember(*secrets)
    for path in ("/beheer/", "/beheer/ouders", detail, "/beheer/medewerkers",
                 "/beheer/ouders/uitnodigen", "/beheer/medewerkers/uitnodigen",
                 "/beheer/bevestigen"):
        bodies.append(staff.page(path))
    for response in bodies:
        html = response.get_data(as_text=True)
        assert leaks_in(html) == [], response.request.path
        assert token not in html and not any(s in html for s in secrets)
        assert "/activeren/" not in html


@pytest.mark.parametrize("language, words", [
    ("", ["Ouders", "Zoeken", "Ouder uitnodigen"]),
    ("en", ["Parents", "Search", "Invite a parent"]),
], ids=["dutch-by-default", "english-on-request"])
def test_console_speaks_dutch_by_default_and_english_on_request(app, make_org, make_staff,
                                                                  language, words):
    make_org()
    staff = make_staff("medewerker")
    response = staff.browser.get("/beheer/ouders" + (f"?lang={language}" if language else ""))
    if response.status_code == 302:  # the switch remembers the choice, then shows the page
        response = staff.browser.get(response.headers["Location"])
    html = response.get_data(as_text=True)
    assert all(word in pages.text(html) for word in words)
    assert 'hreflang="en"' in html or 'hreflang="nl"' in html  # the language switch is there


@pytest.mark.app_settings(IDP_CONSOLE_ACTIONS_PER_MINUTE=10_000)
def test_every_console_field_has_a_label(app, parent, make_staff):
    """Keyboard and screen-reader use: every visible field is named by a <label for=...>, and
    every action is a real <button> in a <form> (no script needed)."""
    staff = make_staff("beheerder")
    detail = f"/beheer/ouders/{subject_of(app, 'Yvonne.testouder')}"
    for path in ("/beheer/ouders", detail, "/beheer/ouders/uitnodigen", "/beheer/medewerkers",
                 "/beheer/medewerkers/uitnodigen", "/beheer/bevestigen"):
        html = staff.page(path).get_data(as_text=True)
        labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', html))
        fields = re.findall(r"<(?:input|select)\b([^>]*)>", html)
        for attributes in fields:
            if 'type="hidden"' in attributes:
                continue
            field_id = re.search(r'id="([^"]+)"', attributes)
            assert field_id and field_id.group(1) in labelled, (path, attributes)
        assert html.count("<form") == html.count("<button"), path
