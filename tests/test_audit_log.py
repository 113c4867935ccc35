"""The audit log as staff read and export it (idp.console.audit_log): filters within the
organisation, keyset paging, streaming export as CSV and JSON lines, and CSV injection."""

import csv
import io
import json

import pytest
from sqlalchemy import select

from idp import audit, clock
from idp.console import audit_log
from idp.extensions import db
from idp.models import Organisation


@pytest.fixture
def log(app, make_org, invite, frozen_clock):
    """Events in two organisations and one of the service itself; returns the orgs' ids."""
    make_org("PO2806", "PPO Rotterdam")
    make_org("PO2801", "PPO Den Haag")
    invite("PO2806", "Yvonne.testouder", "yvonne@example.org")
    with app.app_context():
        orgs = {o.code: o for o in db.session.scalars(select(Organisation))}
        from idp.models import Account
        yvonne = db.session.scalar(select(Account).where(Account.username == "Yvonne.testouder"))
        start = clock.timestamp()
        audit.for_account("Anna (helpdesk, PO2806)", "account.unlock", yvonne, ip="192.0.2.1",
                          reason="T-1")
        clock.advance(3600)
        audit.record("=HYPERLINK(\"http://evil\")", "account.invite", "x",
                     organisation_id=orgs["PO2806"].id, detail_note="-2+3")
        clock.advance(3600)
        audit.record("Bram (beheerder, PO2801)", "account.disable", "y",
                     organisation_id=orgs["PO2801"].id)
        audit.record("root", "signing_key.rotate", "kid1")
        db.session.commit()
        return {"PO2806": orgs["PO2806"].id, "PO2801": orgs["PO2801"].id, "start": start,
                "yvonne": yvonne.subject}


def actions_of(app, where, **options):
    with app.app_context():
        entries, _ = audit_log.page(where, **options)
        return [e.event.action for e in entries]


def test_a_beheerder_sees_only_the_own_organisation(app, log):
    assert actions_of(app, audit_log.Filter(log["PO2806"])) == ["account.invite", "account.unlock"]
    assert actions_of(app, audit_log.Filter(log["PO2801"])) == ["account.disable"]
    # (servicebeheer: everything, also the service's own events such as the test keys' creation)
    assert actions_of(app, audit_log.Filter(None))[:4] == [
        "signing_key.rotate", "account.disable", "account.invite", "account.unlock"]


FILTERS = [
    pytest.param(dict(actor="ANNA"), ["account.unlock"], id="actor-part-any-case"),
    pytest.param(dict(actor="%"), [], id="actor-percent-is-literal"),
    pytest.param(dict(action="account.invite"), ["account.invite"], id="action-exact"),
    pytest.param(dict(action="account."), ["account.invite", "account.unlock"], id="action-topic"),
    pytest.param(dict(action="account"), [], id="action-no-partial-words"),
    pytest.param(dict(subjects="{yvonne}"), ["account.unlock"], id="parent"),
    pytest.param(dict(since="{start+1}"), ["account.invite"], id="from"),
    pytest.param(dict(until="{start+1}"), ["account.unlock"], id="until-exclusive"),
]


@pytest.mark.parametrize("given, expected", FILTERS)
def test_filters(app, log, given, expected):
    values = {}
    for key, value in given.items():
        if value == "{yvonne}":
            value = (log["yvonne"],)
        elif value == "{start+1}":
            value = log["start"] + 1
        values[key] = value
    assert actions_of(app, audit_log.Filter(log["PO2806"], **values)) == expected


def test_paging_is_by_keyset_and_ends(app, log):
    with app.app_context():
        first, after = audit_log.page(audit_log.Filter(log["PO2806"]), size=1)
        second, last = audit_log.page(audit_log.Filter(log["PO2806"]), before=after, size=1)
    assert [e.event.action for e in first + second] == ["account.invite", "account.unlock"]
    assert last is None


def test_csv_export_escapes_formulas_and_names_the_parent(app, log, monkeypatch):
    monkeypatch.setattr(audit_log, "CHUNK", 1)  # streamed across chunk boundaries
    with app.app_context():
        text = "".join(audit_log.csv_lines(audit_log.events(audit_log.Filter(log["PO2806"]))))
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text[1:]), delimiter=";"))
    assert [r["action"] for r in rows] == ["account.unlock", "account.invite"]  # oldest first
    assert rows[0]["parent"] == "Yvonne.testouder" and rows[0]["ip"] == "192.0.2.1"
    assert rows[0]["organisation"] == "PO2806" and rows[0]["at"].endswith("Z")
    assert rows[1]["actor"] == "'=HYPERLINK(\"http://evil\")"
    assert json.loads(rows[0]["detail"]) == {"reason": "T-1"}


@pytest.mark.parametrize("value, expected", [
    pytest.param("=1+1", "'=1+1", id="equals"),
    pytest.param("+31 10 123", "'+31 10 123", id="plus"),
    pytest.param("-2+3", "'-2+3", id="minus"),
    pytest.param("@SUM(A1)", "'@SUM(A1)", id="at"),
    pytest.param("\t=1", "'\t=1", id="tab"),
    pytest.param("\r=1", "'\r=1", id="carriage-return"),
    pytest.param("Anna = helpdesk", "Anna = helpdesk", id="not-at-the-start"),
    pytest.param(None, "", id="none"),
    pytest.param({"a": 1}, '{"a": 1}', id="detail-as-json"),
])
def test_csv_cells_that_start_a_formula_are_escaped(value, expected):
    assert audit_log.cell(value) == expected


def test_json_lines_export_has_one_object_per_event(app, log):
    with app.app_context():
        lines = list(audit_log.jsonl_lines(audit_log.events(audit_log.Filter(None))))
    events = [json.loads(line) for line in lines]
    events = [e for e in events if e["action"] != "signing_key.create"]  # the test keys
    assert [e["action"] for e in events] == ["account.unlock", "account.invite",
                                             "account.disable", "signing_key.rotate"]
    assert events[1]["actor"] == "=HYPERLINK(\"http://evil\")"  # JSON is data, not a formula
    assert events[3]["organisation"] is None
