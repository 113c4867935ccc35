"""The console's blueprint (``console``, at /beheer), its menu and the template helpers every
console page uses. Page modules import ``bp`` and ``NAV`` from here and add to them."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, g

from idp.console import access

bp = Blueprint("console", __name__, url_prefix="/beheer")

#: The console's menu: (endpoint, label, permission), in order; submodules append theirs.
NAV: list[tuple[str, str, str]] = []

try:
    TIME_ZONE = ZoneInfo("Europe/Amsterdam")
except ZoneInfoNotFoundError:  # a container without tzdata: UTC rather than no page
    TIME_ZONE = timezone.utc


@bp.app_template_filter("when")
def when(timestamp) -> str:
    """A time as staff read it: 01-12-2026 09:14 (Dutch time)."""
    if timestamp is None:
        return "–"
    return datetime.fromtimestamp(timestamp, TIME_ZONE).strftime("%d-%m-%Y %H:%M")


@bp.context_processor
def console_context():
    staff = g.get("staff")
    return {
        "staff": staff,
        "nav": [(endpoint, label) for endpoint, label, permission in NAV
                if staff is not None and access.allowed(staff, permission)],
        "can": (lambda permission: staff is not None and access.allowed(staff, permission)),
    }
