"""The pipeline board's cards, written in Python: a board draws up to 50 cards a stage, and a Jinja macro spent
~0.2 ms on each (a dozen context lookups, attribute getters and escapes per value); this writes the same HTML in
a few string joins. Every value from the database is escaped (the standard library's escape: markupsafe's made a Markup
of each of ~3,000 values a board); the words are translated once for the page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape as text

from markupsafe import Markup

from som_flow.i18n import gettext
from som_flow.services.board import Card
from som_flow.services.next_activity import NextActivity
from som_flow.web.formatting import money, percent


def _words() -> dict[str, Markup]:
    return {key: Markup(text) for key, text in {  # noqa: S704 - our own catalog's words, as a template's _() gives them
        "unassigned": gettext("unassigned"), "closes": gettext("closes %(date)s", date="{date}"),
        "signals": gettext("Signals"), "move_open": gettext("Move to…"), "task": gettext("Task"),
        "appointment": gettext("Appointment"), "overdue": gettext("(overdue)"), "none": gettext("None planned"),
    }.items()}


def card_writer(*, deal_path: str, movable: set[int], move_next_arg: str, signal_names: dict,
                upcoming: dict[int, NextActivity], local: Callable, at: datetime, locale) -> Callable[[Card], Markup]:
    """The function that writes one card: `deal_path` the deal page's address without its id, `movable` the ids
    the viewer may move, `move_next_arg` the board's own address for the deal page's "Move to" to come back to,
    `signal_names` {signal: (name, meaning)}, `upcoming` the deals' next activities, `local` a time in the viewer's
    timezone, `at` now, `locale` the formatting locale."""
    t = _words()
    # each signal's item, the "closes" words around the date and the deal's address, written once for the page
    items = {key: f'<li class="signal signal-{key.replace("_", "-")}">{text(str(name))}</li>'
             for key, (name, _) in signal_names.items()}
    signals_open = f'<ul class="signals" aria-label="{t["signals"]}">'
    closes_before, closes_after = t["closes"].split("{date}", 1)
    deal_path, back = text(deal_path), text(move_next_arg)

    def next_activity(a: NextActivity | None) -> str:
        # templates/_next_activity.html's line, as the list and the deal page write it
        if a is None:
            return f'<span class="next-activity none">{t["none"]}</span>'
        overdue = a.overdue(at)
        what = t["task"] if a.type == "task" else t["appointment"]
        when = f" · {text(local(a.at, '%Y-%m-%d %H:%M'))}" if a.at else ""
        late = f' <strong>{t["overdue"]}</strong>' if overdue else ""
        return (f'<span class="next-activity{" overdue" if overdue else ""}">{what}: {text(a.title)}{when}'
                f'{late}</span>')

    def write(card: Card) -> Markup:
        o = card.opportunity
        can_move = o.id in movable and card.move_to
        href = f"{deal_path}{o.id}"
        title, number = text(o.title), text(o.number)
        signals = f' data-signals="{" ".join(card.signals)}"' if card.signals else ""
        drag = ' draggable="true"' if can_move else ""
        moves = f' data-moves="{text(" ".join(card.move_to))}"' if can_move else ""
        rep = text(o.sales_rep_name) if o.sales_rep_name is not None else t["unassigned"]
        closes = f" · {closes_before}{o.anticipated_close_date}{closes_after}" if o.anticipated_close_date else ""
        flags = signals_open + "".join(items[s] for s in card.signals) + "</ul>" if card.signals else ""
        move = (f'<a class="move-open" href="{href}?next={back}#stage-move">{t["move_open"]}'
                f'<span class="sr-only"> {number} {title}</span></a>') if can_move else ""
        return Markup(  # noqa: S704 - every value from the database above is escaped; the words are ours
            f'\n    <article class="card-item"{signals}{drag} data-id="{o.id}" data-version="{o.version}"'
            f' data-name="{number} {title}"{moves}>\n'
            f'      <a href="{href}">{title}</a> <small class="number">{number}</small>\n'
            f"      <div>{text(o.customer_name)}</div>\n"
            f"      <div>{text(money(o.amount, o.currency, locale=locale))} · "
            f"{text(percent(o.probability, locale=locale))}</div>\n"
            f"      <div>{rep}{closes}</div>\n"
            f"      <div>{next_activity(upcoming.get(o.id))}</div>\n"
            + (f"      {flags}\n" if flags else "") + (f"      {move}\n" if move else "")
            + "    </article>\n")

    return write
