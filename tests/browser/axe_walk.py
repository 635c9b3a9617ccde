"""The walk the axe tests share: every page each role reaches, at one size and in one language, with axe-core
(tests/browser/vendor/axe/, from npm; `make assets` fetches it when missing) run on each. A page fails on an axe
violation of impact serious or critical, on a wrong `<html lang>`, and at phone width on a sideways scroll; each page's
screenshot goes to test-artifacts/screenshots/<lang>-<size>-<page>.png (gitignored) for people to look at."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.browser.conftest import PASSWORD, TIMEOUT_MS
from tests.browser.test_phone_width import ADMIN_PAGES, MEASURE, sample_records

AXE = Path(__file__).parent / "vendor" / "axe" / "axe.min.js"
SCREENSHOTS = Path(__file__).parents[2] / "test-artifacts" / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 850}
LOCALES = {"en": "en-US", "nb": "nb-NO"}
FAILING = ("serious", "critical")
# the deal page's tabs (templates/opportunity.html); each is looked at on its own, as the other panels are hidden
DEAL_TABS = ["info", "profile", "opportunity", "tasks", "appointments", "estimates", "parties", "history", "custom"]
RUN_AXE = """async () => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'best-practice']},
                                          resultTypes: ['violations']});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                        targets: v.nodes.slice(0, 5).map((n) => n.target.join(' '))}));
}"""


def pages_by_role(live_server) -> dict[str, list[str]]:
    """The pages each role opens, with a real deal, customer, appointment and notification to show. A "#tab" ending
    means the deal page with that tab chosen."""
    opp_id, customer_id, appt_id = sample_records(live_server)
    deal = f"/opportunities/{opp_id}"
    # every role: the main menu's pages and a deal; the rep (the deal's owner) also each tab of the deal and the
    # pages behind it; the admin also the admin pages, the API docs and an error page. Each template is walked at
    # least once; the roles' main pages show each role's own controls and data.
    main = ["/", "/pipeline", "/tasks", "/schedule", "/customers", deal, "/notifications"]
    behind = ["/opportunities/new", *(f"{deal}#{tab}" for tab in DEAL_TABS[1:]), f"{deal}/activities",
              f"/schedule/appointments/{appt_id}", f"/customers/{customer_id}", f"/customers/{customer_id}/activities"]
    admin = [*ADMIN_PAGES, "/admin/stages/lead", "/admin/kinds/new-model", "/admin/kinds/standard-sale/model",
             "/api/docs", "/no-such-page"]
    return {"csr": main, "rep": [*main, "/forecast", *behind], "manager": [*main, "/forecast"],
            "admin": [*main, "/forecast", *admin]}


def _slug(role: str, path: str) -> str:
    return f"{role}-" + (re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home")


def log_in(page, email: str) -> None:
    """Log in by the form's field names, not its labels, so it works in every language."""
    page.goto("/login")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(lambda url: "/login" not in url)


def _open(page, path: str) -> int:
    """Go to a page (a "#tab" ending chooses that tab of the deal page); the response's status."""
    base, _, tab = path.partition("#")
    status = page.goto(base).status
    if tab:
        page.locator(f"#tab-{tab}").click()
        page.locator(f"#panel-{tab}").wait_for(state="visible")
    return status


def axe_problems(page, name: str, report: dict | None = None) -> list[str]:
    """axe's serious and critical violations on the page as it is now (menus and dialogs open included); every
    violation, of any impact, goes into `report` too."""
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate(RUN_AXE)
    if report is not None and violations:
        report[name] = violations
    return [f"{name}: {v['impact']} {v['id']} ({v['help']}) at {v['targets']}"
            for v in violations if v["impact"] in FAILING]


def check_page(page, name: str, lang: str, size: dict, report: dict) -> list[str]:
    """axe, `<html lang>` and (on a phone) the width of the page now showing; the problems found, in words."""
    problems = axe_problems(page, name, report)
    html_lang = page.evaluate("document.documentElement.lang") or ""
    if lang == "en" and not html_lang.startswith("en"):
        problems.append(f"{name}: <html lang={html_lang!r}> for an English browser")
    if lang == "nb" and not html_lang.startswith("nb"):
        problems.append(f"{name}: <html lang={html_lang!r}> for a browser asking for Norwegian (nb-NO)")
    if size == PHONE:
        measured = page.evaluate(MEASURE)
        if measured["scroll"] > PHONE["width"]:
            problems.append(f"{name}: scrolls sideways at 390 px ({measured['scroll']} px wide: {measured['wide']})")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # a whole long page on a busy machine takes more than the usual wait
    page.screenshot(path=SCREENSHOTS / f"{lang}-{size['width']}x{size['height']}-{name}.png", full_page=True,
                    timeout=60_000)
    return problems


def new_context(browser, base_url: str, lang: str, size: dict):
    """A browser context asking for the language (Accept-Language) at the size, that lets axe in."""
    # the pages' Content-Security-Policy (script-src 'self') would refuse axe's injected <script>
    context = browser.new_context(base_url=base_url, locale=LOCALES[lang], viewport=size, bypass_csp=True)
    context.set_default_timeout(TIMEOUT_MS)
    # a walk loads ~70 pages while other suites share the cores: one slow load must not sink the whole walk
    context.set_default_navigation_timeout(3 * TIMEOUT_MS)
    return context


def walk(browser, live_server, lang: str, size: dict, roles=("csr", "rep", "manager", "admin")) -> None:
    """Every page of every role in one browser context (one language, one size); fails naming every problem."""
    _, base_url, _ = live_server
    pages = pages_by_role(live_server)
    context = new_context(browser, base_url, lang, size)
    problems: list[str] = []
    report: dict[str, list] = {}  # every violation, also the moderate and minor ones, for people to read
    try:
        page = context.new_page()
        page.goto("/login")
        problems += check_page(page, "login", lang, size, report)
        for role in roles:
            context.clear_cookies()
            log_in(page, f"{role}@x.test")
            for path in pages[role]:
                status = _open(page, path)
                expected = 404 if path == "/no-such-page" else 200
                if status != expected:
                    problems.append(f"{role} {path}: answered {status}, not {expected}")
                    continue
                problems += check_page(page, _slug(role, path), lang, size, report)
    finally:
        context.close()
        SCREENSHOTS.parent.mkdir(parents=True, exist_ok=True)
        written = SCREENSHOTS.parent / f"axe-{lang}-{size['width']}x{size['height']}.json"
        written.write_text(json.dumps(report, indent=1))
    assert not problems, f"{len(problems)} problems ({lang}, {size['width']} px):\n" + json.dumps(problems, indent=1)
