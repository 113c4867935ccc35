"""The staff console at /beheer: a blueprint (``blueprint.bp``) of thin views over idp.console.

Page modules add their routes to ``bp``: home (start page, step-up), parents and staff; service,
audit and imports (servicebeheer and the audit log). Every view is guarded by
``idp.console.access.require``; the menu shows each staff member only the pages their role
may open (``blueprint.NAV``).
"""

# (they add their routes to bp)
from idp.web.console import audit, home, imports, parents, service, staff  # noqa: F401
from idp.web.console.blueprint import bp

__all__ = ["bp"]
