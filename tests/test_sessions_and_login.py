"""Page sessions end at logout and when a password changes; the secret key, HTTPS headers, the password policy,
redirect targets and login throttling (issue #15, items 3-6)."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from som_flow import create_app
from som_flow.config import instance_secret_key
from som_flow.extensions import db
from som_flow.models import Opportunity, User, UserSession
from som_flow.services import users
from som_flow.services.demo import DEMO_PASSWORD
from som_flow.web.redirects import safe_next
from tests.conftest import _config
from tests.helpers import Api, login, make_customer, make_user

PASSWORD = "secret-password"
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def signed_in(client) -> bool:
    """What a user sees: the list page, or a bounce to the login form."""
    r = client.get("/opportunities")
    assert r.status_code in (200, 302)
    return r.status_code == 200


def copy_of(client, app):
    """Another browser holding a copy of `client`'s session cookie (as a thief would)."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def session_rows() -> int:
    return db.session.scalar(select(func.count()).select_from(UserSession))


# -- sessions ---------------------------------------------------------------------------------------
def test_a_cookie_kept_from_before_logout_no_longer_reads_pages_or_runs_bulk_actions(app, client):
    rep = make_user("rep@x.test", "rep")
    make_user("csr@x.test", "csr")
    deal = Api(client, "csr@x.test").post("/opportunities", {
        "title": "Boat sensors", "customer_id": make_customer().id, "kind": "standard-sale", "sales_rep": rep.id}).json
    login(client, rep)
    thief = copy_of(client, app)
    assert signed_in(thief)

    assert client.post("/logout").status_code == 302
    assert session_rows() == 0
    assert not signed_in(client) and not signed_in(thief)
    r = thief.post("/opportunities", data={"ids": [str(deal["id"])], "action": "hold"})
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert db.session.get(Opportunity, deal["id"]).status != "on_hold"
    assert thief.get("/api/v1/users/me").status_code == 401


def test_a_password_change_ends_every_session_of_that_user_and_no_one_elses(app, client, runner):
    rep, csr = make_user("rep@x.test", "rep"), make_user("csr@x.test", "csr")
    laptop, phone, office = login(client, rep), login(app.test_client(), rep), login(
        app.test_client(), csr)
    assert signed_in(laptop) and signed_in(phone)

    users.set_password(rep.id, "a-new-secret-password")
    assert not signed_in(laptop) and not signed_in(phone)
    assert signed_in(office)

    # the same through the CLI and update_user: every path that sets a password
    laptop = login(laptop, rep, "a-new-secret-password")
    result = runner.invoke(args=["users", "password", "rep@x.test", "--password", "third-secret-password"])
    assert result.exit_code == 0, result.output
    assert not signed_in(laptop)
    laptop = login(laptop, rep, "third-secret-password")
    users.update_user(rep.id, password="fourth-secret-password")
    assert not signed_in(laptop)
    assert signed_in(office)


def test_deactivating_a_user_ends_their_sessions(app, client):
    rep = make_user("rep@x.test", "rep")
    login(client, rep)
    users.update_user(rep.id, active=False)
    assert session_rows() == 0 and not signed_in(client)


@SQLITE_ONLY
def test_a_session_made_up_without_logging_in_is_refused(app, client):
    rep = make_user("rep@x.test", "rep")
    with client.session_transaction() as session:  # what anyone holding the secret key could sign
        session["_user_id"] = str(rep.id)
        session["_fresh"] = True
    assert not signed_in(client)


@SQLITE_ONLY
def test_sessions_end_after_their_lifetime_and_old_rows_go_at_the_next_login(app, client, clock):
    rep, csr = make_user("rep@x.test", "rep"), make_user("csr@x.test", "csr")
    login(client, rep)
    login(client, rep)  # logging in again from the same browser replaces its session
    assert session_rows() == 1
    clock.advance(days=app.config["PERMANENT_SESSION_LIFETIME"].days, seconds=1)
    assert not signed_in(client)
    login(app.test_client(), csr)
    assert db.session.scalars(select(UserSession.user_id)).all() == [csr.id]


# -- the secret key ------------------------------------------------------------------------------------
@SQLITE_ONLY
def test_without_a_configured_key_restarts_and_other_processes_share_the_one_in_the_instance_folder(db_url, tmp_path,
                                                                                                  clock):
    config = {**_config(db_url, tmp_path), "SECRET_KEY": None}
    first = create_app(config, clock=clock)
    key_file = Path(first.instance_path) / "secret_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with first.app_context():
        login_client = first.test_client()
        login(login_client, make_user("rep@x.test", "rep"))
        cookie = login_client.get_cookie("session").value
        db.session.remove()
    second = create_app(config, clock=clock)  # a restart, or a second web process
    assert second.config["SECRET_KEY"] == first.config["SECRET_KEY"] == key_file.read_text().strip()
    with second.app_context():
        browser = second.test_client()
        browser.set_cookie("session", cookie)
        assert signed_in(browser)
        db.session.remove()
        db.engine.dispose()


def test_processes_starting_together_make_one_key(tmp_path):
    barrier, keys = threading.Barrier(8), []

    def start() -> None:
        barrier.wait()
        keys.append(instance_secret_key(tmp_path))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(keys)) == 1 and len(keys[0]) == 64
    assert os.listdir(tmp_path) == ["secret_key"]  # no half-written temporary files left behind


# -- HTTPS ---------------------------------------------------------------------------------------------
@SQLITE_ONLY
@pytest.mark.parametrize("https", [True, False])
def test_behind_https_the_site_sends_hsts_and_secure_cookies(db_url, tmp_path, clock, https):
    app = create_app({**_config(db_url, tmp_path), "HTTPS": https, "PROXY_HOPS": 1}, clock=clock)
    with app.app_context():
        make_user("rep@x.test", "rep")
        client = app.test_client()
        proxied = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
        r = client.get("/login", headers=proxied)
        assert r.status_code == 200  # no redirect of its own: the proxy in front owns http -> https
        assert ("Strict-Transport-Security" in r.headers) is https
        r = client.post("/login", data={"email": "rep@x.test", "password": PASSWORD}, headers=proxied)
        cookie = next(c for c in r.headers.getlist("Set-Cookie") if c.startswith("session="))
        assert ("; Secure" in cookie) is https and "HttpOnly" in cookie
        # a CSP that our pages live with: scripts from our own files only, no inline script
        csp = client.get("/opportunities", headers=proxied).headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp + ";" and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert r.headers["X-Frame-Options"] == "DENY"
        db.session.remove()
        db.engine.dispose()


# -- passwords -----------------------------------------------------------------------------------------
WEAK = ["password", " " * 10, "password" + " " * 10, "short-1", "x" * 201, "Rep@x.test", "  rep@x.test  "]


@SQLITE_ONLY
@pytest.mark.parametrize("weak", WEAK)
def test_the_api_refuses_a_weak_password_naming_the_field(app, client, weak):
    make_user("admin@x.test", "admin")
    r = Api(client, "admin@x.test").post("/users", {"email": "rep@x.test", "name": "Rep", "roles": ["rep"],
                                                    "password": weak})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert list(r.json["errors"]) == ["password"]
    assert db.session.scalar(select(User.id).where(User.email == "rep@x.test")) is None


@SQLITE_ONLY
def test_the_cli_refuses_a_one_character_password(app, runner):
    result = runner.invoke(args=["users", "create", "rep@x.test", "--role", "rep", "--password", "x"])
    assert result.exit_code == 1 and "password: Use at least 12 characters." in result.output
    assert db.session.scalar(select(User.id).where(User.email == "rep@x.test")) is None
    result = runner.invoke(args=["users", "create", "rep@x.test", "--role", "rep", "--password", "a-long-passphrase"])
    assert result.exit_code == 0, result.output


@SQLITE_ONLY
def test_a_weak_new_password_changes_nothing(app, client):
    rep = make_user("rep@x.test", "rep")
    login(client, rep)
    with pytest.raises(users.ValidationFailed) as refused:
        users.set_password(rep.id, "rep@x.test")
    assert list(refused.value.errors) == ["password"]
    assert users.user_for_password("rep@x.test", PASSWORD) == rep and signed_in(client)


def test_the_demo_and_test_passwords_pass_the_policy():
    assert users.check_password(DEMO_PASSWORD, "csr@example.com") and users.check_password(PASSWORD, "rep@x.test")


# -- redirects -----------------------------------------------------------------------------------------
ELSEWHERE = ["/%09/evil.example", "/\t/evil.example", "/\\evil", "/%5Cevil", "https://evil", "//evil", "/%2F%2Fevil",
             "javascript:alert(1)", "evil", "/\n/evil", " /evil", "///evil"]


@pytest.mark.parametrize("target", ELSEWHERE)
def test_redirect_targets_outside_this_site_fall_back(target):
    assert safe_next(target, "/home") == "/home"


def test_paths_on_this_site_survive():
    for target in ("/opportunities?q=acme&sort=-amount", "/opportunities/5#tasks", "/schedule?date=2026-03-02"):
        assert safe_next(target, "/home") == target


@SQLITE_ONLY
def test_login_and_mark_read_only_go_back_to_pages_of_this_site(app, client):
    make_user("rep@x.test", "rep")
    for target in ("/%09/evil.example", "/%5Cevil", "https://evil", "//evil", "/%2F%2Fevil", "javascript:alert(1)"):
        r = client.post(f"/login?next={target}", data={"email": "rep@x.test", "password": PASSWORD})
        assert r.status_code == 302 and r.headers["Location"] == "/", target
    r = client.post("/login?next=/tasks", data={"email": "rep@x.test", "password": PASSWORD})
    assert r.headers["Location"] == "/tasks"

    for target in ("/\t/evil.example", "/\\evil", "//evil", "https://evil"):
        r = client.post("/notifications/read", data={"next": target})
        assert r.headers["Location"] == "/notifications", target
    assert client.post("/notifications/read", data={"next": "/tasks?x=1"}).headers["Location"] == "/tasks?x=1"


@SQLITE_ONLY
def test_the_referer_never_decides_where_a_form_goes_back_to(app, client):
    login(client, make_user("manager@x.test", "manager"))
    r = Api(client, "manager@x.test").post("/opportunities", {
        "title": "Boat sensors", "customer_id": make_customer().id, "kind": "standard-sale", "amount": "1000.00",
        "anticipated_close_date": "2026-05-01"})
    assert r.status_code == 201, r.json
    evil = {"Referer": "https://evil.example/phish"}
    r = client.post("/tasks/nope/complete", data={}, headers=evil)
    assert r.headers["Location"] == "/tasks"
    r = client.post("/tasks/nope/complete", data={"next": "/opportunities?q=x"}, headers=evil)
    assert r.headers["Location"] == "/opportunities?q=x"
    # a refusal that reaches the edge handler (no USD->NOK rate): back to the form's page, never to the Referer
    r = client.post("/forecast/snapshot", data={"currency": "NOK", "next": "/forecast"}, headers=evil)
    assert r.status_code == 302 and r.headers["Location"] == "/forecast"
    r = client.post("/forecast/snapshot", data={"currency": "NOK"}, headers=evil)
    assert r.status_code == 302 and r.headers["Location"] == "/"


# -- login throttling ------------------------------------------------------------------------------------
def attempt(client, email: str, password: str = "wrong-password", address: str = "192.0.2.1"):
    return client.post("/login", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": address})


@SQLITE_ONLY
def test_padding_the_email_does_not_buy_more_guesses_but_the_address_is_not_locked(app, client):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 3
    make_user("rep@x.test", "rep"), make_user("csr@x.test", "csr")
    for email in ("rep@x.test", "  REP@x.test", "rep@x.test          "):
        assert attempt(client, email).status_code == 401
    r = attempt(client, "\trep@X.test ", PASSWORD)
    assert r.status_code == 429 and "Too many failed log-ins" in r.get_data(as_text=True)
    # the same address may still log in as someone else: the guessing is counted per e-mail
    assert attempt(app.test_client(), "csr@x.test", PASSWORD).status_code == 302


@SQLITE_ONLY
def test_an_attacker_elsewhere_does_not_lock_the_owner_out(app, client):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 3
    make_user("rep@x.test", "rep")
    statuses = [attempt(client, "rep@x.test", address="198.51.100.66").status_code for _ in range(10)]
    assert statuses == [401] * 3 + [429] * 7
    assert attempt(app.test_client(), "rep@x.test", PASSWORD, address="192.0.2.10").status_code == 302


@SQLITE_ONLY
def test_only_failed_logins_count(app, client):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 2
    make_user("rep@x.test", "rep")
    for _ in range(6):
        assert attempt(app.test_client(), "rep@x.test", PASSWORD).status_code == 302


@SQLITE_ONLY
def test_one_address_trying_many_emails_is_slowed_too(app, client):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 2
    statuses = [attempt(client, f"user{i}@x.test").status_code for i in range(11)]
    assert statuses == [401] * 10 + [429]


@SQLITE_ONLY
def test_a_huge_bogus_email_costs_a_fixed_size_key(app, client):
    huge = "a" * 10_000 + "@x.test"
    assert attempt(client, huge).status_code == 401
    (limiter,) = app.extensions["limiter"]
    keys = list(limiter.storage.events) + list(limiter.storage.storage)
    assert keys and all(len(key) < 200 for key in keys) and not any("aaaa" in key for key in keys)
