"""The customer/job picker of the deal forms: a text input with suggestions (GET /lookup/customers, read by
static/picker.js) that the server reads back as a customer — by the "· #id" the suggestions end with, else by
name — so it works without JS and never offers a 50-entry dropdown."""

from __future__ import annotations

import re

from som_flow.errors import ValidationFailed
from som_flow.i18n import gettext
from som_flow.services import customers as customer_service

_PICKED = re.compile(r"#(\d{1,9})\s*$")


def picker_label(customer) -> str:
    """How the picker shows a customer or job, and reads it back: its name, a credit hold, its number."""
    hold = " (credit hold)" if customer.credit_hold else ""
    return f"{customer.full_name}{hold} · #{customer.id}"


def pick(text: str, field: str, among=None):
    """The customer (or job, `among` the customer's jobs) typed into the picker: its "#id", else the one whose
    name matches. Raises ValidationFailed naming `field` when none or several match."""
    found = _PICKED.search(text)
    if found:
        chosen = customer_service.find_customer(int(found.group(1)))
        candidates = [chosen] if chosen is not None else []
    elif among is not None:
        candidates = [c for c in among if text.lower() in (c.name.lower(), c.full_name.lower())]
    else:
        items, _ = customer_service.search_customers(q=text, per_page=20)
        exact = [c for c in items if text.lower() in (c.name.lower(), c.full_name.lower())]
        candidates = exact or items
    if among is not None:
        candidates = [c for c in candidates if c in among]
    if len(candidates) != 1:
        what = "a job of the customer" if among is not None else "a customer"
        matches = "none match" if not candidates else "several match"
        raise ValidationFailed(gettext("Check the highlighted fields."),
                               {field: [gettext("Choose %(what)s from the list (%(matches)s “%(text)s”).", what=what,
                                                matches=matches, text=text)]})
    return candidates[0]


def suggestions(q: str = "", parent: str = "") -> list[dict]:
    """Customers whose name has `q`, or the jobs of customer `parent`, as the picker lists them."""
    if parent.isdigit():
        customer = customer_service.find_customer(int(parent))
        rows = list(customer.jobs) if customer else []
    else:
        rows, _ = customer_service.search_customers(q=q[:200], per_page=20)
    return [{"id": c.id, "label": picker_label(c)} for c in rows]
