"""The per-row formatting of the board and the list, made cheaper (issue #17 item 3), writes what Babel writes:
money through a pattern read once per currency and locale, percentages kept once formatted."""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel import Locale
from babel.numbers import format_currency, format_percent

from som_flow.web.formatting import _money_shape, _percent, _shaped

AMOUNTS = ["0", "-0.00", "0.01", "0.005", "0.015", "2.345", "2.355", "-45.5", "1", "999.999", "1000", "-1000.5",
           "57706", "1234567.891", "-98765432.10", "100000000000.00", "0.5", "7.125"]
CURRENCIES = ["USD", "EUR", "GBP", "NOK", "SEK", "JPY", "BHD", "CHF", "INR", "XYZ"]


@pytest.mark.parametrize("locale", ["en", "en_GB", "en_US", "nb_NO", "de_CH", "fr_FR", "en_IN", "ar_EG"])
def test_money_is_written_as_babel_writes_it(locale):
    parsed = Locale.parse(locale)
    for code in CURRENCIES:
        shape = _money_shape(code, parsed)
        for amount in AMOUNTS:
            value = Decimal(amount)
            expected = format_currency(value, code, locale=parsed)
            # a pattern the plain writing does not cover (en_IN's lakh grouping, de_CH's ' mark) is left to Babel
            assert shape is None or _shaped(value, *shape) == expected, (locale, code, amount)
    if locale in ("en", "en_GB", "nb_NO"):  # the plain writing covers the languages the product speaks
        assert _money_shape("USD", parsed) is not None


def test_a_percentage_is_written_as_babel_writes_it():
    for locale in (Locale.parse("en"), Locale.parse("nb_NO")):
        for value in ("0", "0.1", "0.40", "0.4", "1", "0.333", "0.005"):
            assert _percent(Decimal(value), locale) == format_percent(Decimal(value), locale=locale)
