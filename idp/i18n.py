"""The language of the parent's pages: Dutch by default, English on request (Flask-Babel).

The language is set by the ``ui_locales`` of the authorization request that brings the parent to
sign in, and by the parent's own choice in the language switch on every page; whichever came
last holds, kept in the (server-side) browser session. Otherwise Dutch. The browser's
Accept-Language is deliberately ignored: the handbook and the staff speak Dutch, and many
parents' phones are set to English.

Dutch is the source language: the msgids are the Dutch texts, so Dutch needs no catalogue.
"""

import re
from urllib.parse import quote, urlencode

from flask import current_app, g, has_request_context, redirect, request, session
from flask_babel import Babel, Domain

from idp.paths import is_api_path

DEFAULT = "nl"
SUPPORTED = ("nl", "en")
#: Each language's name in itself, so a parent finds their own in the switch.
NAMES = {"nl": "Nederlands", "en": "English"}
SESSION_KEY = "language"
#: The query parameter of the language switch.
SWITCH_PARAM = "lang"

#: OIDC Core 3.1.2.1 ``ui_locales``: longer values are not a list of preferences; ignored.
MAX_UI_LOCALES = 200
#: A BCP 47 language tag, loosely: a primary language subtag, then subtags of up to 8.
_TAG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")
#: Pages that stay Dutch whatever was chosen: the demo relying party is another "website".
DUTCH_ONLY_BLUEPRINTS = {"demo"}


def supported_language(tag: str | None) -> str | None:
    """``en``, ``en-GB``, ``EN`` -> ``en``; unknown or malformed tags -> None."""
    if not tag or not _TAG.fullmatch(tag):
        return None
    primary = tag.split("-", 1)[0].lower()
    return primary if primary in SUPPORTED else None


def first_supported(ui_locales: str | None) -> str | None:
    """The first supported language of a space-separated list in preference order."""
    if not ui_locales or len(ui_locales) > MAX_UI_LOCALES:
        return None
    for tag in ui_locales.split():
        language = supported_language(tag)
        if language:
            return language
    return None


def use_ui_locales(ui_locales: str | None) -> None:
    """OIDC Core 3.1.2.1: ``ui_locales`` chooses the language where supported. Called for the
    authorization request that sends the parent to sign in; kept for the pages after it."""
    language = first_supported(ui_locales)
    if language:
        session[SESSION_KEY] = language


def current_language() -> str:
    """The locale selector: the language of this request's page."""
    if not has_request_context() or request.blueprint in DUTCH_ONLY_BLUEPRINTS:
        return DEFAULT
    chosen = session.get(SESSION_KEY)
    return chosen if chosen in SUPPORTED else DEFAULT


def _has_language_switch() -> bool:
    return (
        has_request_context()
        and request.blueprint not in DUTCH_ONLY_BLUEPRINTS
        and not is_api_path(request.path)  # programs, not people
    )


def _query_without_switch() -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.args.items(multi=True) if k != SWITCH_PARAM]


def switch_links(link_to=None) -> list[dict]:
    """The language switch: for each language its name, and a link to this same page (with
    its query, e.g. the sign-in page's ``flow``) in that language, or None for the current.
    ``link_to(code)``: the link for a language, where this page's own address is not it."""
    if not _has_language_switch():
        return []
    if link_to is None:
        query = _query_without_switch()

        def link_to(code):
            return "?" + urlencode(query + [(SWITCH_PARAM, code)])

    current = current_language()
    return [
        {"code": code, "name": NAMES[code], "href": None if code == current else link_to(code)}
        for code in SUPPORTED
    ]


class _PageSwitch:
    """``switch_links()`` for base.html, made when the page first shows it: a page that brings
    its own switch (the sign-in page at /authorize) does not pay for this one."""

    __slots__ = ("_links",)

    def __init__(self):
        self._links = None

    def _made(self) -> list[dict]:
        if self._links is None:
            self._links = switch_links()
        return self._links

    def __bool__(self):
        return bool(self._made())

    def __iter__(self):
        return iter(self._made())

    def __len__(self):
        return len(self._made())


def switch_language():
    """``GET <page>?lang=en``: remember the choice, then show the same page without ``lang``.
    A before-request check, run by idp.web's one hook (after the Host check and limits).

    An unknown value changes nothing. The redirect goes to the issuer's own host, never to a
    path the request could turn into another site (``//elsewhere``)."""
    if request.method not in ("GET", "HEAD") or SWITCH_PARAM not in request.args:
        return None
    if not _has_language_switch():
        return None
    language = supported_language(request.args.get(SWITCH_PARAM))
    if language:
        session[SESSION_KEY] = language
    query = _query_without_switch()
    target = current_app.config["IDP_ISSUER"] + quote(request.path)
    return redirect(target + ("?" + urlencode(query) if query else ""))


class _RequestDomain(Domain):
    """Flask-Babel's domain, with the catalogue of the request's language looked up once per
    request (kept in ``g``): Flask-Babel looks up the locale and the catalogue again for every
    text, and a page has a dozen or more. The same catalogue and locale as Flask-Babel's."""

    def get_translations(self):
        try:
            catalogue = g.get("idp_catalogue")
        except RuntimeError:  # no app context: Flask-Babel's answer for that (no translation)
            return super().get_translations()
        if catalogue is None:
            catalogue = g.idp_catalogue = super().get_translations()
        return catalogue


def init_i18n(app) -> None:
    babel = Babel(app, default_locale=DEFAULT, locale_selector=current_language)
    # gettext, lazy_gettext, ... of Flask-Babel use this domain (its own by default).
    domain = babel.domain_instance = _RequestDomain(domain=app.extensions["babel"].default_domain)
    # The templates' _(), {% trans %} and friends, as Flask-Babel installs them, but straight to
    # the domain (Flask-Babel's look up the request's domain first, for every text).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: domain.get_translations().ugettext(s),
        ngettext=lambda s, p, n: domain.get_translations().ungettext(s, p, n),
        newstyle=True,
        pgettext=lambda c, s: domain.get_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: domain.get_translations().unpgettext(c, s, p, n),
    )
    # Our forms carry their own messages. With Flask-Babel present, Flask-WTF would translate
    # WTForms' few built-in defaults too, and so change what Dutch pages say today.
    app.config.setdefault("WTF_I18N_ENABLED", False)

    @app.context_processor
    def language_context():
        return {"page_language": current_language(), "language_switch": _PageSwitch()}
