"""Texts in the reader's language (English and Norwegian bokmål): the markers services, errors and e-mails use.

Flask-Babel's functions, named once here so every layer marks texts the same way and `pybabel extract` finds
them (babel.cfg). Outside a request or an app context they give the English text, so the CLI, the scheduler and
tests that call services directly need no locale. A text built at import time (a class attribute, a module
constant) is marked with `lazy_gettext`: it is translated when it is written into a response, in that response's
language. Mail to a person is written inside `in_language(user.locale)`, the recipient's language, not the one
of the request that happened to cause it.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache

from flask import current_app, g, has_app_context
from flask_babel import force_locale, get_locale, gettext, lazy_gettext, lazy_ngettext, ngettext

__all__ = ["LANGUAGES", "LANGUAGE_NAMES", "N_", "forget_page_language", "gettext", "in_language", "language_of",
           "lazy_gettext", "lazy_ngettext", "ngettext", "reader_language", "site_language"]

# the languages som_flow speaks; the first is the fallback
LANGUAGES = ("en", "nb")
# each language named in itself (a language list is read by someone who may not read the current one)
LANGUAGE_NAMES = {"en": "English", "nb": "Norsk bokmål"}
# browser tags that mean Norwegian: "no" (Norwegian) and "nn" (nynorsk) readers read bokmål before English
_NORWEGIAN = ("nb", "no", "nn")


def N_(text: str) -> str:  # gettext's conventional name: "extract now, translate where shown"
    """Marks a text for extraction only; the caller translates it with gettext(text) where it is shown."""
    return text


@lru_cache(maxsize=256)
def language_of(tag: str | None) -> str | None:
    """The language of ours a locale tag means: "nb-NO", "no", "nn", "nb_NO" -> "nb"; "en-GB" -> "en"; else None."""
    if not tag:
        return None
    primary = str(tag).strip().replace("_", "-").split("-")[0].lower()
    if primary in _NORWEGIAN:
        return "nb"
    return primary if primary in LANGUAGES else None


def site_language() -> str:
    """The site's language (its LOCALE setting, SOM_FLOW_LOCALE), "en" outside an app or for one we do not speak."""
    configured = current_app.config.get("LOCALE") if has_app_context() else None
    return language_of(configured) or LANGUAGES[0]


def reader_language() -> str:
    """The language texts are being written in now ("en" or "nb"): the request's (web/i18n.py chooses it), the
    recipient's inside `in_language`, else the site's."""
    locale = get_locale() if has_app_context() else None
    return (_language_of_locale(locale) if locale is not None else None) or site_language()


@lru_cache(maxsize=64)
def _language_of_locale(locale) -> str | None:
    """language_of a Babel Locale, worked out once per locale: a page asks for every value it formats."""
    return language_of(str(locale))


# what a request works out once for the language it is answered in (web/i18n.py: its catalog, its language),
# forgotten whenever that language may change: a new request, texts written in another language, a choice saved
_PAGE_LANGUAGE_KEYS = ("som_page_catalog", "som_page_language")


def forget_page_language() -> None:
    """The request's catalog and language are worked out again on their next use."""
    if has_app_context():
        for key in _PAGE_LANGUAGE_KEYS:
            g.pop(key, None)


@contextmanager
def in_language(language: str | None):
    """Texts written inside are in `language` (a person's preference; None: the site's language)."""
    forget_page_language()
    try:
        with force_locale(language_of(language) or site_language()):
            yield
    finally:
        forget_page_language()
