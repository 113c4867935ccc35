"""Threat: passwords that are easy to guess, and hashes that age. NIST SP 800-63B 3.1.1.2 /
OWASP ASVS 5 V6.2 at activation; argon2id parameters renewed at sign-in."""

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from idp import clock, create_app
from idp.extensions import db
from idp.models import Account
from tests import conftest, pages
from tests.actors import Parent


@pytest.fixture
def activation(app, client, mailbox, make_org, invite, frozen_clock):
    """The activation page of Yvonne (PO2806, two-factor) and a submit function."""
    make_org()
    invite()
    parent = Parent(client, mailbox)
    html = parent.open_activation().get_data(as_text=True)

    def submit(password):
        response = parent.submit_activation(html, password)
        if response.status_code == 302:
            return None
        return pages.field_errors(response.get_data(as_text=True)).get("password", ["?"])[0]

    return submit


REFUSED = {
    "nine-characters": ("fiets1lam", "minstens 10 tekens"),
    "257-characters": ("ab cd " * 43, "hoogstens 256 tekens"),
    "the-username": ("Yvonne.testouder!!2026", "gebruikersnaam"),
    "the-organisation-name": ("ppo rotterdam is fijn", "organisatie"),
    "the-organisation-code": ("mijn po2806 wachtwoord", "organisatie"),
    "common-password": ("password1234", "veel mensen gebruikt"),
    "dutch-word-and-year": ("voetbal2024", "bestaand woord"),
    "dutch-word-padded": ("wachtwoord123", "makkelijk te raden"),
    "dutch-name-and-years": ("Jeroen19841984", "raden"),
    "keyboard-row": ("qwertyuiop12", "raden"),
    "repeats": ("aaaaaaaaaaaa", "Herhalingen"),
    "sequence": ("abcdefghijkl", "raden"),
}


@pytest.mark.parametrize("password, why", REFUSED.values(), ids=REFUSED.keys())
def test_guessable_passwords_are_refused_with_the_reason(activation, password, why):
    problem = activation(password)
    assert problem is not None and why in problem, problem
    assert "Tip:" in problem or "tekens" in problem or "bevatten" in problem


ACCEPTED = {
    "four-plain-words": "fiets lamp wolk tuin",
    "no-composition-rules": "zeeslak dakgoot pianist",
    "sixty-four-and-more": "de kat van de buren zit elke ochtend op ons dak te zingen " * 2,
}


@pytest.mark.parametrize("password", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_long_unguessable_passwords_are_accepted(activation, password):
    assert activation(password) is None


def test_without_two_factor_fifteen_characters_are_needed(app, client, mailbox, make_org, invite,
                                                          frozen_clock):
    make_org(code="PO9999", name="PPO Proef", requires_2fa=False)
    invite(org_code="PO9999", username="ouder")
    parent = Parent(client, mailbox, username="ouder", org="PO9999")
    html = parent.open_activation().get_data(as_text=True)
    refused = parent.submit_activation(html, "zeeslak dakje!")  # 15 minus one
    assert "minstens 15 tekens" in pages.field_errors(refused.get_data(as_text=True))["password"][0]
    assert parent.submit_activation(html, "zeeslak dakgoot!").status_code == 302


def test_a_long_password_is_never_truncated(app, client, mailbox, make_org, invite, frozen_clock):
    make_org()
    invite()
    parent = Parent(client, mailbox)
    long_password = "de kat van de buren zit elke ochtend op ons dak te zingen " * 3
    parent.activate(password=long_password)
    assert parent.sign_in(password=long_password[:72]).status_code == 400
    assert parent.sign_in(password=long_password).status_code == 302


def test_raised_hash_costs_are_applied_at_the_next_sign_in(app, client, mailbox, make_org, invite,
                                                           frozen_clock):
    make_org()
    invite()
    parent = Parent(client, mailbox)
    parent.activate()
    with app.app_context():
        old = db.session.scalar(select(Account.password_hash))
    assert "m=1024,t=1" in old  # the suite's cheap parameters
    app.config.update(IDP_ARGON2_TIME_COST=2, IDP_ARGON2_MEMORY_KIB=2048)
    app.extensions.pop("idp.password_hasher")
    assert parent.sign_in().status_code == 302
    with app.app_context():
        new = db.session.scalar(select(Account.password_hash))
    assert "m=2048,t=2" in new and PasswordHasher().verify(new, "fietsen langs de maas 2026")
    clock.advance(30)
    parent.log_out()
    assert parent.sign_in().status_code == 302


def test_production_hashing_parameters_are_owasps(tmp_path):
    app = create_app({"IDP_INSTANCE_DIR": str(tmp_path), "IDP_KEYS_DIR": str(tmp_path)})
    config = app.config
    assert (config["IDP_ARGON2_MEMORY_KIB"], config["IDP_ARGON2_TIME_COST"],
            config["IDP_ARGON2_PARALLELISM"]) >= (19 * 1024, 2, 1)
    assert conftest.BASE_SETTINGS["IDP_ARGON2_MEMORY_KIB"] < config["IDP_ARGON2_MEMORY_KIB"]
