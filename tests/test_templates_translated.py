"""Every text a template shows is translatable, every message has its Norwegian bokmål translation, and a page
asked for in Norwegian (Accept-Language) answers in Norwegian while English stays the default."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest

TEMPLATES = Path(__file__).resolve().parents[1] / "som_flow" / "web" / "templates"

# Templates whose owners (the design system, board and charts branches) wrap their own text; the integrator
# empties this set as those branches merge.
NOT_YET: set[str] = set()  # templates not translated yet: none
# Brand and format tokens that read the same in every language.
ALLOWED_WORDS = {"som_flow", "CSV", "BPMN", "API", "SLA", "OK", "UTC"}
RAW = {"script", "style", "code"}
VISIBLE_ATTRIBUTES = {"placeholder", "title", "aria-label", "alt"}
MARK = " "  # stands in for a Jinja tag or a translated block, so the HTML around it still parses


def _html_with_marks(source: str) -> str:
    """The template with every Jinja tag, expression and {% trans %} block replaced by MARK (newlines kept, so
    line numbers still match the source): what is left is the markup and the text nobody translates."""
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"], autoescape=True)  # only lexed, never rendered
    out: list[str] = []
    in_trans = False
    expect_name = False
    for _line, kind, value in env.lex(source):
        if kind == "block_begin":
            expect_name = True
        elif kind == "name" and expect_name:
            in_trans = value == "trans" or (in_trans and value != "endtrans")
            expect_name = False
        if kind == "data" and not in_trans:
            out.append(value)
        else:
            out.append(MARK + "\n" * value.count("\n"))
    return "".join(out)


def _offending_text(text: str) -> str | None:
    # a macro that writes attributes (aria-invalid="true" …) holds markup, not text
    words = re.sub(r'[\w-]+="[^"]*"', " ", text).split()
    left = " ".join(w for w in words if w.strip(".,:;()") not in ALLOWED_WORDS)
    return left if re.search(r"[^\W\d_]", left) else None


class _TextFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self._raw = 0  # inside <script> or <style> (code), or <code> (literal names and commands)

    def handle_starttag(self, tag, attrs):
        if tag in RAW:
            self._raw += 1
        attrs = dict(attrs)
        for name, value in attrs.items():
            shown = name in VISIBLE_ATTRIBUTES or (
                name == "value" and (tag == "button" or (attrs.get("type") or "") in ("submit", "button", "reset")))
            if shown and value and (text := _offending_text(value)):
                self.found.append((self.getpos()[0], f'{name}="{text}"'))

    def handle_endtag(self, tag):
        if tag in RAW:
            self._raw = max(0, self._raw - 1)

    def handle_data(self, data):
        if not self._raw and (text := _offending_text(data)):
            self.found.append((self.getpos()[0] + data[: len(data) - len(data.lstrip())].count("\n"), text))


def untranslated(name: str) -> list[str]:
    finder = _TextFinder()
    finder.feed(_html_with_marks((TEMPLATES / name).read_text()))
    finder.close()
    return [f"{name}:{line}: {text}" for line, text in finder.found]


def test_templates_hold_no_untranslated_text():
    names = sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html"))
    offences = [o for n in names if n not in NOT_YET for o in untranslated(n)]
    assert not offences, "text outside _() / {% trans %}:\n" + "\n".join(offences)


def test_the_checker_finds_text_and_attributes():
    sample = TEMPLATES / "_checker_sample.html"
    sample.write_text('<p>{{ _("Fine") }}</p>\n<p>Plain words</p>\n<input title="Shown">'
                      '<button value="Go" type="submit">{% trans %}Fine{% endtrans %}</button>'
                      "<script>var x = 'code';</script><b>som_flow</b> — 12")
    try:
        found = untranslated("_checker_sample.html")
    finally:
        sample.unlink()
    assert found == ["_checker_sample.html:2: Plain words", '_checker_sample.html:3: title="Shown"',
                     '_checker_sample.html:3: value="Go"']


def _extracted_messages() -> set:
    """Every text marked for translation in the code and the templates, read the way `make i18n` reads it
    (babel.cfg, and the Makefile's extra keywords)."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    root = TEMPLATES.parents[1]
    with open(root.parent / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "lazy_ngettext": (1, 2), "N_": None}
    return {message for _file, _line, message, _comments, _context
            in extract_from_dir(str(root), method_map, options_map, keywords=keywords)}


def test_every_message_has_a_norwegian_translation():
    from babel.messages.pofile import read_po

    with open(TEMPLATES.parents[1] / "translations" / "nb" / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po)
    missing = []
    for message in sorted(_extracted_messages(), key=str):
        key = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(key)
        strings = entry.string if entry is not None and isinstance(entry.string, tuple) else (
            (entry.string,) if entry is not None else ("",))
        if entry is None or entry.fuzzy or not all(strings):
            missing.append(key)
    assert not missing, f"{len(missing)} texts without a (non-fuzzy) nb translation; run `make i18n` and translate:\n" \
        + "\n".join(missing)


@pytest.fixture
def deal(client):
    from som_flow.services import opportunities as opps
    from tests.helpers import make_customer, make_user

    make_user("admin@x.test", "admin")
    rep = make_user("rep@x.test", "rep")
    customer = make_customer("Northwind Traders")
    opp = opps.create_opportunity(rep, {"title": "New boiler", "customer_id": customer.id, "kind": "standard-sale",
                                        "sales_rep": rep.id, "amount": "1000"})
    return opp.id


def _page_text(client, path: str, language: str | None) -> str:
    headers = {"Accept-Language": language} if language else {}
    response = client.get(path, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


# what a person looks for on each page, in English and in Norwegian bokmål (texts of the page itself, not of the
# menu around it)
PAGES = [
    ("rep@x.test", "/opportunities/{deal}", ["Estimates", "Log activity", "Move to", "Time in stage"],
     ["Tilbud", "Logg aktivitet", "Flytt til", "Tid i fasen"]),
    ("rep@x.test", "/tasks", ["Add a task", "With the ticked tasks", "Pool for my roles"],
     ["Legg til en oppgave", "Med de avkryssede oppgavene", "Kø for mine roller"]),
    ("admin@x.test", "/admin/stages", ["Stage catalog", "Add a stage", "Default probability (%)"],
     ["Fasekatalog", "Legg til en fase", "Standard sannsynlighet (%)"]),
]


@pytest.mark.parametrize("who, path, english, norwegian", PAGES, ids=["deal", "tasks", "admin-stages"])
def test_pages_speak_norwegian_when_the_browser_asks(client, deal, who, path, english, norwegian):
    from tests.helpers import login

    login(client, who)
    path = path.format(deal=deal)
    shown = _page_text(client, path, "nb-NO,nb;q=0.9,en;q=0.5")
    assert all(text in shown for text in norwegian), [t for t in norwegian if t not in shown]
    assert not [t for t in english if t in shown]
    shown = _page_text(client, path, None)  # no preference: English, the default
    assert all(text in shown for text in english), [t for t in english if t not in shown]
    assert not [t for t in norwegian if t in shown]
