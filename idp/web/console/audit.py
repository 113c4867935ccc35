"""Console pages for the audit log: a beheerder reads and exports the own organisation's log,
servicebeheer every organisation's and the service's own (idp.console.audit_log)."""

from datetime import datetime, timedelta

from flask import Response, abort, current_app, render_template, request, stream_with_context, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from idp import audit as audit_events, clock
from idp.console import access, audit_log, service
from idp.extensions import db
from idp.models import Account
from idp.models.account import SERVICEBEHEER
from idp.web.console.blueprint import NAV, TIME_ZONE, bp

NAV.append(("console.audit", _l("Auditlog"), "audit.export"))
NAV.append(("console.service_audit", _l("Auditlog (alle)"), "service.audit"))

FORMATS = {"csv": ("text/csv; charset=utf-8", audit_log.csv_lines),
           "jsonl": ("application/x-ndjson; charset=utf-8", audit_log.jsonl_lines)}
MAX_FIELD = 200


@bp.get("/auditlog")
@access.require("audit.export")
def audit():
    return _log_page("console.audit", "console.audit_export")


@bp.get("/auditlog/export.<fmt>")
@access.require("audit.export")
def audit_export(fmt):
    return _export(fmt)


@bp.get("/service/auditlog")
@access.require("service.audit")
def service_audit():
    return _log_page("console.service_audit", "console.service_audit_export")


@bp.get("/service/auditlog/export.<fmt>")
@access.require("service.audit")
def service_audit_export(fmt):
    return _export(fmt)


def _args() -> dict:
    return {name: request.args.get(name, "")[:MAX_FIELD].strip()
            for name in ("actor", "parent", "action", "from", "to", "org")}


def _filter(args: dict) -> tuple[audit_log.Filter, str | None]:
    """The filter the form asks for, within what this staff member may see; and a problem."""
    staff = access.current_staff()
    problem, org_id = None, staff.organisation_id
    if staff.role == SERVICEBEHEER:
        org_id = None
        if args["org"]:
            org = service.find_organisation(args["org"])
            org_id = org.id if org else -1
            problem = None if org else _l("Er is geen organisatie met deze code.")
    subjects = ()
    if args["parent"]:
        query = select(Account.subject).where(Account.username == args["parent"])
        if org_id is not None:
            query = query.where(Account.organisation_id == org_id)
        # A username, or (an erased parent) the subject the audit stub keeps.
        subjects = tuple(db.session.scalars(query)) or (args["parent"],)
    since, until = _day(args["from"]), _day(args["to"], 1)
    if (args["from"] and since is None) or (args["to"] and until is None):
        problem = _l("Vul een datum in als 31-12-2026.")
    return audit_log.Filter(org_id, actor=args["actor"], subjects=subjects, action=args["action"],
                            since=since, until=until), problem


def _day(text: str, days_later: int = 0) -> int | None:
    """The start of a day (Dutch time), as a timestamp; ``days_later`` for "up to and including"."""
    for pattern in ("%d-%m-%Y", "%Y-%m-%d"):
        try:
            day = datetime.strptime(text, pattern).replace(tzinfo=TIME_ZONE)
        except ValueError:
            continue
        return int((day + timedelta(days=days_later)).timestamp())
    return None


def _log_page(endpoint: str, export_endpoint: str):
    args = _args()
    where, problem = _filter(args)
    before = request.args.get("voor", "")
    before = int(before) if before.isdigit() and len(before) < 12 else None
    entries, next_before = ([], None) if problem else audit_log.page(
        where, before=before, size=current_app.config["IDP_CONSOLE_PAGE_SIZE"])
    shown = {k: v for k, v in args.items() if v}
    return render_template("console/audit.html", entries=entries, args=args, problem=problem,
                           endpoint=endpoint, export_endpoint=export_endpoint, shown=shown,
                           next_url=next_before and url_for(endpoint, voor=next_before, **shown),
                           all_organisations=access.current_staff().role == SERVICEBEHEER), \
        400 if problem else 200


def _export(fmt: str):
    if fmt not in FORMATS:
        abort(404)
    args = _args()
    where, problem = _filter(args)
    if problem:
        abort(400)
    staff = access.current_staff()
    # The export itself is in the log: who took a copy of which part, when.
    audit_events.record(access.audit_name(staff), "audit.export", "", organisation_id=where.organisation_id,
                 ip=request.remote_addr, format=fmt, filter={k: v for k, v in args.items() if v})
    db.session.commit()
    content_type, lines = FORMATS[fmt]
    scope = (args["org"] or staff.organisation.code) if where.organisation_id is not None else "alle"
    name = f"auditlog-{scope}-{datetime.fromtimestamp(clock.timestamp(), TIME_ZONE):%Y%m%d-%H%M}.{fmt}"
    response = Response(stream_with_context(lines(audit_log.events(where))), content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response
