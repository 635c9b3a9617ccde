"""Values as people read them: money, numbers and durations by the viewer's locale (Babel), and labels
instead of internal keys. Registered on the app as Jinja filters and globals, so every page formats the
same value the same way; the JSON API keeps the raw values (clients format for their own readers)."""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation

import isodate
from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import (
    format_currency,
    format_decimal,
    format_percent,
    get_currency_precision,
    get_currency_symbol,
    get_decimal_symbol,
    get_group_symbol,
)
from flask import Flask, current_app, has_request_context, request

from som_flow.i18n import N_, gettext, language_of, ngettext
from som_flow.services import catalogs
from som_flow.web.i18n import current_language

# the words for the fixed enums; the catalogs and the stage list give the names of what an admin can edit
STATUS_LABELS = {
    "open": N_("open"),
    "in_progress": N_("in progress"),
    "on_hold": N_("on hold"),
    "won": N_("won"),
    "lost": N_("lost"),
    "active": N_("active"),
    "inactive": N_("inactive"),
    "draft": N_("draft"),
    "sent": N_("sent"),
    "accepted": N_("accepted"),
    "rejected": N_("rejected"),
    "done": N_("done"),
    "cancelled": N_("cancelled"),
}
# the roles people hold (the role keys of models.ROLES)
ROLE_LABELS = {
    "admin": N_("Administrator"),
    "manager": N_("Sales manager"),
    "csr": N_("Office (CSR)"),
    "rep": N_("Sales rep"),
    "scheduler": N_("Scheduler"),
}
# label('priority', 'high') reads the catalog 'priorities': the singular names a template says naturally
CATALOG_OF = {
    "priority": "priorities",
    "product": "products",
    "lost_reason": "lost_reasons",
    "won_reason": "won_reasons",
    "currency": "currencies",
    "channel": "marketing_channels",
    "timeframe": "timeframes",
}
# how each language of ours writes money, numbers and dates when the site's LOCALE is not of that language
_FORMATTING = {"en": "en", "nb": "nb_NO"}
# a weekday, date and time as each language writes them in a sentence
_MOMENT = {"en": "EEE dd MMM HH:mm", "nb": "EEE d. MMM HH:mm"}
# the units a duration is told in, largest first (months and years come only from ISO Y/M parts)
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
# each unit in words, the form chosen by the number (written out so `make i18n` extracts both forms)
_UNIT_WORDS = {
    "year": lambda n, count: ngettext("%(count)s year", "%(count)s years", n, count=count),
    "month": lambda n, count: ngettext("%(count)s month", "%(count)s months", n, count=count),
    "day": lambda n, count: ngettext("%(count)s day", "%(count)s days", n, count=count),
    "hour": lambda n, count: ngettext("%(count)s hour", "%(count)s hours", n, count=count),
    "minute": lambda n, count: ngettext("%(count)s minute", "%(count)s minutes", n, count=count),
    "second": lambda n, count: ngettext("%(count)s second", "%(count)s seconds", n, count=count),
}


def viewer_locale() -> Locale:
    """The formatting locale of the language this response is written in (web/i18n.py chooses it: the user's
    preference, the browser's, the site's): Norwegian formats as nb_NO, English as the site's LOCALE when that
    is an English one (en_GB...), else en. An e-mail written in its recipient's language formats in it too."""
    return _formatting_locale(current_app.config.get("LOCALE"), current_language())


@functools.lru_cache(maxsize=32)
def _formatting_locale(configured: str | None, language: str) -> Locale:
    site = str(configured or "en").replace("-", "_")
    wanted = site if language_of(site) == language else _FORMATTING.get(language, "en")
    return _locale(wanted, _FORMATTING.get(language, "en"))


@functools.lru_cache(maxsize=32)
def _locale(wanted: str, fallback: str) -> Locale:
    """Babel's Locale for `wanted` (else `fallback`), parsed once: a page formats hundreds of values."""
    try:
        return Locale.parse(wanted)
    except (UnknownLocaleError, ValueError):
        return Locale.parse(fallback)


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def money(amount, currency: str | None = None, *, blank: str = "—", locale: Locale | None = None) -> str:
    """57706 USD -> "$57,706.00" (en) or "USD 57 706,00" (nb): the currency always shown, never a raw decimal.
    `locale`: viewer_locale() worked out once by a page of many amounts (the board's 200 cards)."""
    value = _decimal(amount)
    if value is None:
        return blank
    locale = locale or viewer_locale()
    if not currency:
        return format_decimal(value, format="#,##0.00", locale=locale)
    code = currency.upper()
    shape = _money_shape(code, locale) if value.is_finite() else None
    if shape is not None:
        text = _shaped(value, *shape)
    else:
        try:
            text = format_currency(value, code, locale=locale)
        except (ValueError, KeyError):  # an unknown code in a catalog: the number still formatted, the code beside it
            return f"{format_decimal(value, format='#,##0.00', locale=locale)} {currency}"
    # English writes a code with no symbol glued to the digits ("NOK58,663.00"): a no-break space between
    if text.startswith(code) and text[len(code):][:1].isdigit():
        text = f"{code}\u00a0{text[len(code):]}"
    return text


@functools.lru_cache(maxsize=256)
def _money_shape(code: str, locale: Locale) -> tuple | None:
    """How Babel writes an amount in `code` for `locale`, read once from its pattern: the currency's digits, the
    group and decimal marks and the text before and after the number (positive, negative). None when the pattern
    is one the plain writing in _shaped does not cover (other groupings, scaled, significant digits, a currency's
    name, a quote for a mark): Babel writes those. A board or list formats hundreds of amounts; Babel re-reads its
    locale data for each (tests/test_row_formatting.py checks both write the same)."""
    try:
        pattern = locale.currency_formats["standard"]
        affixes = (*pattern.prefix, *pattern.suffix)
        if (pattern.grouping != (3, 3) or pattern.scale or pattern.exp_prec or "@" in pattern.pattern
                or pattern.int_prec[0] != 1 or pattern.number_pattern == "" or any("¤¤¤" in a for a in affixes)):
            return None
        symbol = get_currency_symbol(code, locale)

        def written(affix: str) -> str:  # as Babel's apply fills in the currency and drops the quoting
            affix = affix.replace("¤¤", code).replace("¤", symbol)
            return re.sub(r"'([^']*)'", lambda m: m.group(1) or "'", affix)

        group, decimal = get_group_symbol(locale), get_decimal_symbol(locale)
        if "'" in group + decimal:  # Babel's unquoting then eats the marks (de_CH): it writes those itself
            return None
        return (get_currency_precision(code), group, decimal,
                tuple(written(a) for a in pattern.prefix), tuple(written(a) for a in pattern.suffix))
    except (ValueError, KeyError):
        return None


def _shaped(value: Decimal, digits: int, group: str, decimal: str, prefix: tuple, suffix: tuple) -> str:
    negative = int(value.is_signed())
    plain = f"{abs(value):,.{digits}f}"  # rounds half to even, as Babel's quantize does
    return prefix[negative] + plain.replace(",", "\0").replace(".", decimal).replace("\0", group) + suffix[negative]


def number(value, *, digits: int | None = None, blank: str = "—") -> str:
    """A count or measure with the locale's grouping and decimal mark (digits: fixed decimals)."""
    parsed = _decimal(value)
    if parsed is None:
        return blank
    pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(parsed, format=pattern, locale=viewer_locale())


def percent(value, *, fraction: bool = False, blank: str = "—", locale: Locale | None = None) -> str:
    """A whole percentage (40 -> "40%"); fraction=True reads 0.4 as 40%. `locale`: as money's."""
    parsed = _decimal(value)
    if parsed is None:
        return blank
    return _percent(parsed if fraction else parsed / 100, locale or viewer_locale())


@functools.lru_cache(maxsize=1024)
def _percent(value: Decimal, locale: Locale) -> str:
    """Babel's percentage, kept: a board or list shows the same few probabilities on every row."""
    return format_percent(value, locale=locale)


def duration(value, *, blank: str = "") -> str:
    """An ISO 8601 duration or a timedelta in words: P14D -> "14 days", PT5M -> "5 minutes",
    P1DT4H -> "1 day 4 hours". A value that is not a duration is shown as it came."""
    if value is None or value == "":
        return blank
    if isinstance(value, (int, float, Decimal)):  # a number of days (an SLA, an average cycle): whole days,
        days = float(value)                          # or whole hours under a day
        value = timedelta(days=round(days)) if days >= 1 else timedelta(hours=round(days * 24))
    parts: list[tuple[str, int]] = []
    if isinstance(value, str):
        try:
            value = isodate.parse_duration(value.strip())
        except (isodate.ISO8601Error, ValueError):
            return value
    if isinstance(value, isodate.Duration):  # years and months have no fixed length: told as written
        parts += [("year", int(value.years)), ("month", int(value.months))]
        value = value.tdelta
    seconds = int(value.total_seconds())
    for unit, size in _UNITS:
        parts.append((unit, seconds // size))
        seconds %= size
    locale = viewer_locale()
    words = [_in_words(unit, n, locale) for unit, n in parts if n]
    return " ".join(words) or _in_words("day", 0, locale)


def _in_words(unit: str, n: int, locale: Locale) -> str:
    """ "14 days", "1 hour"; in bokmål "14 dager" (CLDR's Norwegian "døgn" is not what a CRM says)."""
    return _UNIT_WORDS[unit](n, format_decimal(n, locale=locale))


def moment(value: datetime | None, zone: tzinfo | None = None, pattern: str | None = None, *,
           blank: str = "") -> str:
    """An instant as a reader says it, in `zone` (the viewer's) and the page's language: "Mon 02 Mar 09:00",
    "man. 2. mars 09:00". `pattern` (a CLDR date pattern) overrides the language's own."""
    if value is None:
        return blank
    locale = viewer_locale()
    pattern = pattern or _MOMENT.get(locale.language, _MOMENT["en"])
    return format_datetime(value.astimezone(zone) if zone else value, pattern, locale=locale)


# strftime's directives as CLDR date patterns (what Babel formats by locale); the names (%a, %b) are the reason
_CLDR = {"a": "EEE", "A": "EEEE", "b": "MMM", "B": "MMMM", "d": "dd", "-d": "d", "e": "d", "H": "HH", "M": "mm",
         "S": "ss", "Y": "yyyy", "y": "yy", "m": "MM", "Z": "zzz", "%": "%"}


def strftime_local(value: datetime, fmt: str) -> str:
    """`value.strftime(fmt)` with weekday and month names in the page's language ("%a %d %b" -> "Mon 02 Mar",
    "man. 02 mars"); a format with no names is strftime's own."""
    if not any(f"%{d}" in fmt for d in "aAbB"):
        return value.strftime(fmt)
    pattern, i = [], 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            key = fmt[i + 1:i + 3] if fmt[i + 1] == "-" else fmt[i + 1]
            if key in _CLDR:
                pattern.append(_CLDR[key])
                i += 1 + len(key)
                continue
        literal = fmt[i]
        pattern.append("''" if literal == "'" else (f"'{literal}'" if literal.isalpha() else literal))
        i += 1
    return format_datetime(value, "".join(pattern), locale=viewer_locale())


def page_stages() -> tuple:
    """The stages, as pages list and name them (kept between requests: services/reference.py)."""
    return catalogs.stage_rows()


def _all_entries() -> tuple:
    """Every catalog's entries, each catalog in its order (kept as page_stages)."""
    return catalogs.entry_rows()


def page_entries(catalog: str) -> list:
    """catalogs.list_entries(catalog), from the request's one read of every catalog."""
    return [e for e in _all_entries() if e.catalog == catalog]


def page_entry_names() -> dict[tuple[str, str], str]:
    """catalogs.entry_names in the page's language, from the request's one read of every catalog."""
    language = current_language()
    return {(e.catalog, e.key): e.name_in(language) for e in _all_entries()}


def _names() -> dict:
    """The stage and catalog names in the page's language, worked out once per request (a page formats many rows)."""
    language = current_language()
    cached = request.environ.get(f"som_flow.value_names.{language}")
    if cached is None:
        cached = {("stage", s.key): s.name_in(language) for s in page_stages()}
        cached.update(page_entry_names())
        request.environ[f"som_flow.value_names.{language}"] = cached
    return cached


def label(kind: str, key, *, blank: str = "—") -> str:
    """The name people know for an internal key: label('status', 'in_progress') -> "in progress",
    label('stage', 'qualify') -> the stage's name, label('priority', 'high') -> the catalog entry's name.
    A key with no name is shown with its underscores as spaces rather than not at all."""
    if key is None or key == "":
        return blank
    key = str(key)
    if not has_request_context():
        return _label(kind, key, {})
    names = _names()  # a page names the same few statuses and stages on every row: each is worked out once
    found = names.get((kind, key))
    if found is None:
        found = names[(kind, key)] = _label(kind, key, names)
    return found


def _label(kind: str, key: str, names: dict) -> str:
    if kind == "status":
        return gettext(STATUS_LABELS[key]) if key in STATUS_LABELS else key.replace("_", " ")
    if kind == "role":
        return gettext(ROLE_LABELS[key]) if key in ROLE_LABELS else key
    return names.get((CATALOG_OF.get(kind, kind), key)) or key.replace("_", " ")


def register_formatting(app: Flask) -> None:
    """money, number, percent and duration as filters ({{ o.amount|money(o.currency) }}); label as a global."""
    for func in (money, number, percent, duration, moment):
        app.add_template_filter(func)
    app.add_template_global(label)
    app.add_template_global(money)
