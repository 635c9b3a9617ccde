"""Which language a request is answered in (Flask-Babel's locale selector) and `<html lang>`.

The signed-in person's preference, else the browser's Accept-Language (best match among the languages we speak),
else the site's LOCALE, else English. Pages, flash messages and the API's problem texts all follow it.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, has_request_context, request, session
from flask_babel import Babel, get_translations, refresh
from flask_login import current_user

from som_flow.i18n import LANGUAGES, forget_page_language, language_of, reader_language, site_language

TRANSLATIONS = Path(__file__).resolve().parent.parent / "translations"


def preferred_language(user) -> str | None:
    """The person's own choice (None: "as my browser")."""
    return language_of(getattr(user, "locale", None)) if user is not None else None


def browser_language() -> str | None:
    """The best of our languages in Accept-Language, honouring its q-values ("nb-NO", "no" and "nn" mean nb)."""
    for tag, _quality in request.accept_languages:  # werkzeug sorts them by quality, best first
        if tag == "*":
            return None
        language = language_of(tag)
        if language:
            return language
    return None


def select_language() -> str:
    if not has_request_context():
        return site_language()
    # the API caller once known (a bearer token), else the page session's user
    user = request.environ.get("som.user")
    # only a signed-in session asks Flask-Login: loading the anonymous user marks a session that holds just a CSRF
    # token as changed (its session protection), and the probes would set a cookie
    if user is None and "_user_id" in session and getattr(current_user, "is_authenticated", False):
        user = current_user
    return preferred_language(user) or browser_language() or site_language()


def current_language() -> str:
    """The language this response is written in ("en" or "nb"): `<html lang>` and the formatting locale. Worked out
    once per request (a page asks for every value it formats; Flask-Babel answers through several context locals)
    and again after anything that may change it (som_flow.i18n.forget_page_language)."""
    if not has_request_context():
        return reader_language()
    language = g.get(_PAGE_LANGUAGE)
    if language is None:
        language = reader_language()
        setattr(g, _PAGE_LANGUAGE, language)
    return language


_PAGE_LANGUAGE = "som_page_language"


_PAGE_CATALOG = "som_page_catalog"


def page_catalog():
    """The catalog of the language this request is answered in, looked up once per request."""
    catalog = g.get(_PAGE_CATALOG)
    if catalog is None:
        catalog = get_translations()
        setattr(g, _PAGE_CATALOG, catalog)
    return catalog


def register_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    Babel(app, locale_selector=select_language, default_locale=LANGUAGES[0])

    @app.before_request
    def _choose_afresh():
        # Flask-Babel keeps the chosen locale on `g`, which outlives a request when one app context spans
        # several (tests, embedded use): each request chooses its own language
        refresh()
        forget_page_language()

    # Flask-Babel's template gettext finds the catalog through several context locals on every call (400 calls
    # on the deal list, a fifth of its render time): a page looks it up once
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: page_catalog().ugettext(s),
        ngettext=lambda s, p, n: page_catalog().ungettext(s, p, n),
        pgettext=lambda c, s: page_catalog().upgettext(c, s),
        npgettext=lambda c, s, p, n: page_catalog().unpgettext(c, s, p, n),
        newstyle=True,
    )

    app.add_template_global(current_language)


class InLanguage:
    """A stage or catalog entry whose `name` reads in the page's language (its other attributes as they are):
    what the views hand templates, so `{{ e.name }}` needs no change."""

    def __init__(self, row, language: str | None = None):
        self._row = row
        self.name = row.name_in(language or current_language())

    def __getattr__(self, attribute: str):
        return getattr(self._row, attribute)


def localized(rows) -> list[InLanguage]:
    """Stages or catalog entries named in the page's language."""
    language = current_language()
    return [InLanguage(row, language) for row in rows]
