"""A real server (waitress on a fresh SQLite file, CSRF on) and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest

from som_flow import create_app
from som_flow.config import TestConfig
from som_flow.extensions import db

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PASSWORD = "secret-password"  # noqa: S105 - test users only
# Each test gets its own waits, short enough that a broken page fails fast instead of hanging the run, long enough
# for a deal page on a 2-core machine that runs the suite on both cores (a 5 s wait timed out there under load).
TIMEOUT_MS = 10_000


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    if os.environ.get("SOM_FLOW_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{CHROMIUM} is required (SOM_FLOW_REQUIRE_BROWSER=1) but missing")
    pytest.skip(f"{CHROMIUM} is not installed")


@pytest.fixture(scope="session")
def browser():
    _require_chromium()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(tmp_path):
    """som_flow served over HTTP with CSRF really on; yields (base_url, people) where people are ids by role."""
    from werkzeug.serving import make_server

    from som_flow.services import customers, users
    from som_flow.services.catalogs import seed_defaults
    from som_flow.services.kinds import install_shipped_kinds

    config = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    config.update(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'som.sqlite'}", WTF_CSRF_ENABLED=True,
                  LOGIN_ATTEMPTS_PER_MINUTE=1000)
    app = create_app(config)
    with app.app_context():
        db.create_all()
        seed_defaults()
        install_shipped_kinds()
        people = {}
        for email, role in [("csr@x.test", "csr"), ("rep@x.test", "rep"), ("manager@x.test", "manager"),
                            ("admin@x.test", "admin")]:
            people[role] = users.create_user(email, email.split("@")[0].title(), [role], password=PASSWORD).id
        customers.create_customer(None, {"kind": "organization", "name": "Northwind Traders"})
        db.session.remove()

    # werkzeug's threaded server stops cleanly from another thread (shutdown() waits for serve_forever to
    # return); closing waitress's asyncore loop from outside raced with its select() and failed teardown.
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="som-flow-live-server", daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}", people
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


class Session:
    """One person's browser context and page, with the console errors it saw."""

    def __init__(self, browser, base_url: str, *, scripts: bool = True):
        self.context = browser.new_context(base_url=base_url, java_script_enabled=scripts)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"pageerror: {exc}"))

    def _console(self, msg) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text} at {msg.location.get('url')}")

    def assert_no_console_errors(self, *expected: str) -> None:
        """No console errors or uncaught exceptions, except those matching an `expected` regex."""
        unexpected = [e for e in self.errors if not any(re.search(pattern, e) for pattern in expected)]
        assert unexpected == [], unexpected

    def login(self, email: str, password: str = PASSWORD):
        page = self.page
        page.goto("/login")
        page.get_by_label("E-mail").fill(email)
        page.get_by_label("Password").fill(password)
        # wait for the page the form leads to (the next page, or the form again when refused): a step taken before it
        # would act on the login page
        with page.expect_navigation():
            page.get_by_role("button", name="Log in").click()
        return page


@pytest.fixture
def sessions(browser, live_server):
    """Open browser sessions for the test; `sessions.new()` gives another person their own context."""
    _, base_url, _ = live_server

    class Sessions(list):
        def new(self, *, scripts: bool = True) -> Session:
            """A person's own context; `scripts=False`: a browser with JavaScript turned off."""
            session = Session(browser, base_url, scripts=scripts)
            self.append(session)
            return session

    opened = Sessions()
    yield opened
    for session in opened:
        session.context.close()


def open_menu(page) -> None:
    """On a phone the header's links fold behind the menu button: open it (found by its class, since its label is
    in the page's language)."""
    from playwright.sync_api import expect

    page.wait_for_load_state("domcontentloaded")
    toggle = page.locator("button.menu-toggle")
    if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
        expect(toggle).to_have_attribute("aria-expanded", "true")


def follow_menu_link(page, name: str) -> None:
    """Follow a link of the header's main menu as a person would: on a phone, open the folded "Menu" first."""
    open_menu(page)
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()
