"""The role matrix: every console route × every role (and a parent, and nobody signed in) ×
a parent of the own or of another organisation → the expected answer. One table, one test."""

import pytest

from idp.extensions import db
from idp.models import Account
from tests import pages
from tests.conftest import subject_of

M, H, B, S = "medewerker", "helpdesk", "beheerder", "servicebeheer"
PARENT, NOBODY = "parent", "nobody"
WHO = (M, H, B, S, PARENT, NOBODY)
ORG_STAFF, HELPDESK_UP = {M, H, B}, {H, B}

#: (method, path with {parent} / {staff}, the roles allowed, the answer when allowed: an
#: empty form is a 400 with its errors, an unticked action a redirect saying so).
#: Refused: 403 for a signed-in person without the role, a redirect to sign in for nobody;
#: a parent or staff member of another organisation is 404 for those allowed (as if absent).
ROUTES = [
    ("GET", "/beheer/", {M, H, B, S}, 200),
    ("GET", "/beheer/bevestigen", {M, H, B, S}, 200),
    ("POST", "/beheer/bevestigen", {M, H, B, S}, 400),
    ("GET", "/beheer/ouders", ORG_STAFF, 200),
    ("GET", "/beheer/ouders?q=yvonne&status=active", ORG_STAFF, 200),
    ("GET", "/beheer/ouders/uitnodigen", ORG_STAFF, 200),
    ("POST", "/beheer/ouders/uitnodigen", ORG_STAFF, 400),
    ("GET", "/beheer/ouders/{parent}", ORG_STAFF, 200),
    ("POST", "/beheer/ouders/{parent}/opnieuw-uitnodigen", ORG_STAFF, 302),
    ("POST", "/beheer/ouders/{parent}/ontgrendelen", HELPDESK_UP, 302),
    ("POST", "/beheer/ouders/{parent}/authenticator-resetten", HELPDESK_UP, 302),
    ("POST", "/beheer/ouders/{parent}/reset-goedkeuren", HELPDESK_UP, 302),
    ("POST", "/beheer/ouders/{parent}/wachtwoord-herstellen", HELPDESK_UP, 302),
    ("POST", "/beheer/ouders/{parent}/uitschakelen", HELPDESK_UP, 302),
    ("POST", "/beheer/ouders/{parent}/inschakelen", HELPDESK_UP, 302),
    ("POST", "/beheer/ouders/{parent}/sessies-beeindigen", HELPDESK_UP, 302),
    ("POST", "/beheer/ouders/{parent}/verwijderen", {B}, 302),
    ("GET", "/beheer/medewerkers", {B}, 200),
    ("GET", "/beheer/medewerkers/uitnodigen", {B}, 200),
    ("POST", "/beheer/medewerkers/uitnodigen", {B}, 400),
    ("POST", "/beheer/medewerkers/{staff}/uitschakelen", {B}, 302),
    ("POST", "/beheer/medewerkers/{staff}/inschakelen", {B}, 302),
]


def expected(route, who, own):
    _method, path, allowed, answer = route
    if who == NOBODY:
        return 302
    if who not in allowed:
        return 403
    if not own and ("{parent}" in path or "{staff}" in path):
        return 404
    return answer


@pytest.mark.app_settings(IDP_CONSOLE_ACTIONS_PER_MINUTE=10_000)
def test_role_matrix(app, client, make_org, make_staff, invite, mailbox):
    make_org("PO2806", "PPO Rotterdam")
    make_org("PO2801", "PPO Den Haag")
    invite("PO2806", "Yvonne.testouder", "yvonne@example.org")
    invite("PO2801", "Other.ouder", "other@example.org")
    browsers = {role: make_staff(role).browser for role in (M, H, B, S)}
    from tests.actors import Parent

    parent = Parent(app.test_client(), mailbox, "Ouder.zelf")
    invite("PO2806", "Ouder.zelf", "zelf@example.org")
    parent.activate()
    parent.sign_in()
    browsers[PARENT], browsers[NOBODY] = parent.browser, client
    make_staff(M, org="PO2801", username="Collega.denhaag", sign_in=False)
    targets = {
        True: {"parent": subject_of(app, "Yvonne.testouder"),
               "staff": subject_of(app, "Medewerker.po2806")},
        False: {"parent": subject_of(app, "Other.ouder", "PO2801"),
                "staff": subject_of(app, "Collega.denhaag", "PO2801")},
    }
    wrong = []
    for route in ROUTES:
        method, path = route[0], route[1]
        for who in WHO:
            for own in (True, False):
                if own is False and "{" not in path:
                    continue  # nothing of another organisation is named in this URL
                url = path.format(**targets[own])
                browser = browsers[who]
                if method == "GET":
                    response = browser.get(url)
                else:
                    # A valid CSRF token from a page everyone may open, the box not ticked:
                    # an allowed action answers "tick first" and changes nothing.
                    token = pages.form_fields(browser.get("/inloggen").get_data(as_text=True))
                    token = {"csrf_token": token["csrf_token"]}
                    response = browser.post(url, data={**token, "name": "", "email": ""})
                got, want = response.status_code, expected(route, who, own)
                if got != want:
                    wrong.append(f"{method} {path} as {who} ({'own' if own else 'other'} org): "
                                 f"{got}, expected {want}")
    assert wrong == []
    with app.app_context():  # nothing above changed anyone (no action was confirmed)
        statuses = {a.username: a.status for a in db.session.query(Account)}
    assert statuses["Yvonne.testouder"] == "invited" and statuses["Other.ouder"] == "invited"
    assert statuses["Medewerker.po2806"] == "active"
