"""A SCIM filter (RFC 7644 3.4.2.2) as a SQL condition on the account table.

Parsed by scim2-models (``ScimFilter``: the syntax); attributes, operators and value types are
checked and translated here node by node into SQLAlchemy expressions, so every value
reaches the database as a bound parameter, never as SQL text. ``and``, ``or``, ``not`` and
parentheses combine any of:

    userName, externalId, id, emails.value (or emails[value ...])   eq ne sw ew co pr
    name.formatted, displayName                                     eq ne sw ew co pr
    active                                                          eq ne
    meta.created, meta.lastModified                                 eq gt ge lt le
    urn:...:ouderportaal:2.0:User:organisation                      eq ne

Strings compare exactly as stored (userName and emails are case-sensitive here, and the Schemas
endpoint says so). Anything else is 400 ``invalidFilter`` with the reason.
"""

from datetime import datetime

from scim2_models import InvalidFilterException, ScimFilter
from scim2_models.path.expressions import (AttrPath, Comparison, CompareOperator, LogicalExpr,
                                           LogicalOperator, Not, Present, ValuePath)
from scim2_models.path.visitor import FilterVisitor
from sqlalchemy import and_, func, not_, or_, select, true

from idp.models import Account, Organisation
from idp.models.account import DISABLED
from idp.scim.resources import EXTENSION

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
#: Longest filter we read: a dossier looks up one parent at a time, or a few hundred.
LONGEST_FILTER = 4096

_STRING_OPS = {CompareOperator.eq, CompareOperator.ne, CompareOperator.sw, CompareOperator.ew,
               CompareOperator.co}
_TIME_OPS = {CompareOperator.eq, CompareOperator.gt, CompareOperator.ge, CompareOperator.lt,
             CompareOperator.le}
_last_modified = func.coalesce(Account.updated_at, Account.created_at)

#: (attribute, sub-attribute) -> (column, kind); names are case-insensitive (RFC 7643 2.1).
STRINGS = {
    ("username", None): Account.username,
    ("externalid", None): Account.external_id,
    ("id", None): Account.subject,
    ("emails", "value"): Account.email,
    ("emails", None): Account.email,
    ("name", "formatted"): Account.name,
    ("displayname", None): Account.name,
}
TIMES = {("meta", "created"): Account.created_at, ("meta", "lastmodified"): _last_modified}


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class _ToSql(FilterVisitor):
    def __init__(self, prefix: AttrPath | None = None):
        self.prefix = prefix  # inside emails[...]: the multi-valued attribute

    def _key(self, path: AttrPath) -> tuple[str, str | None, str | None]:
        if self.prefix is not None:
            return None, self.prefix.attr.lower(), path.attr.lower()
        return path.uri, path.attr.lower(), path.sub_attr.lower() if path.sub_attr else None

    def visit_logical_expr(self, node: LogicalExpr):
        terms = [self.visit(term) for term in node.terms]
        return and_(*terms) if node.op == LogicalOperator.and_ else or_(*terms)

    def visit_not(self, node: Not):
        return not_(self.visit(node.expr))

    def visit_value_path(self, node: ValuePath):
        if node.attr_path.attr.lower() != "emails" or node.attr_path.sub_attr:
            raise InvalidFilterException(detail=f"'{node.attr_path}[...]' is not supported; "
                                                "only emails[value ...]")
        return _ToSql(node.attr_path).visit(node.val_filter)

    def visit_present(self, node: Present):
        uri, attr, sub = self._key(node.attr_path)
        column = STRINGS.get((attr, sub)) if uri in (None, CORE) else None
        if column is None:
            raise InvalidFilterException(detail=f"'{node.attr_path} pr' is not supported")
        return column.is_not(None) & (column != "")

    def visit_comparison(self, node: Comparison):
        uri, attr, sub = self._key(node.attr_path)
        op, value = node.op, node.value
        where = f"'{node.attr_path} {op.value}'"
        if uri is not None and uri.lower() == EXTENSION.lower():
            if attr != "organisation" or sub or op not in (CompareOperator.eq, CompareOperator.ne):
                raise InvalidFilterException(detail=f"{where} is not supported")
            code = select(Organisation.id).where(Organisation.code == str(value)).scalar_subquery()
            same = Account.organisation_id == code
            return same if op == CompareOperator.eq else not_(same)
        if uri not in (None, CORE):
            raise InvalidFilterException(detail=f"unknown attribute '{node.attr_path}'")
        if (attr, sub) == ("active", None):
            if op not in (CompareOperator.eq, CompareOperator.ne) or not isinstance(value, bool):
                raise InvalidFilterException(detail="active takes eq or ne, and true or false")
            enabled = Account.status != DISABLED
            return enabled if value == (op == CompareOperator.eq) else not_(enabled)
        if (attr, sub) in TIMES:
            return self._time(TIMES[(attr, sub)], op, value, where)
        column = STRINGS.get((attr, sub))
        if column is None:
            raise InvalidFilterException(detail=f"unknown or unsupported attribute '{node.attr_path}'")
        if op not in _STRING_OPS:
            raise InvalidFilterException(detail=f"{where} is not supported")
        if value is None:
            return column.is_(None) if op == CompareOperator.eq else column.is_not(None)
        if not isinstance(value, str):
            raise InvalidFilterException(detail=f"{where} compares with a string")
        if op == CompareOperator.eq:
            return column == value
        if op == CompareOperator.ne:
            return column.is_(None) | (column != value)
        pattern = {CompareOperator.sw: "{}%", CompareOperator.ew: "%{}",
                   CompareOperator.co: "%{}%"}[op].format(_escape_like(value))
        return column.like(pattern, escape="\\")

    @staticmethod
    def _time(column, op, value, where):
        if op not in _TIME_OPS:
            raise InvalidFilterException(detail=f"{where} is not supported")
        try:
            moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
            seconds = int(moment.timestamp())
        except (TypeError, ValueError, OverflowError, OSError):
            raise InvalidFilterException(detail=f"{where} takes an xsd:dateTime") from None
        # Times are stored as 32-bit seconds: a year like 2999 compares as the largest one
        # (PostgreSQL refuses a parameter out of the column's range).
        seconds = max(-(2**31), min(seconds, 2**31 - 1))
        return {CompareOperator.eq: column == seconds, CompareOperator.gt: column > seconds,
                CompareOperator.ge: column >= seconds, CompareOperator.lt: column < seconds,
                CompareOperator.le: column <= seconds}[op]


def condition(expression: str | None):
    """The SQL condition of a filter (``true()`` without one), or InvalidFilterException."""
    if expression is None:
        return true()
    if not expression.strip():
        raise InvalidFilterException(detail="the filter is empty")
    if len(expression) > LONGEST_FILTER:
        raise InvalidFilterException(detail=f"a filter is at most {LONGEST_FILTER} characters")
    try:
        # Syntax only: values are checked here, per attribute. Bound to the User model,
        # scim2-models would also refuse a stored address email-validator dislikes.
        parsed = ScimFilter(expression)
    except (ValueError, TypeError, RecursionError) as error:
        raise InvalidFilterException(detail=f"invalid filter: {error}") from None
    return _ToSql().visit(parsed.ast)

