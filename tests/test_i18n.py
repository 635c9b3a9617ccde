"""English and Norwegian bokmål: the language a request is answered in (the person's preference, else the
browser's Accept-Language, else the site's LOCALE), and values formatted in it. English stays the default."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from email.header import decode_header, make_header
from zoneinfo import ZoneInfo

import pytest

from som_flow.extensions import db
from som_flow.services import users
from som_flow.services.reminders import fire_due_reminders
from som_flow.web import formatting
from tests.helpers import Api, login, make_customer, make_user, token_headers

NBSP = "\u00a0"


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


@pytest.fixture
def rep(app):
    return make_user("rep@x.test", "rep")


def test_pages_are_english_when_nothing_asks_for_norwegian(client, rep):
    login(client, rep)
    assert _lang(client.get("/tasks").get_data(as_text=True)) == "en"
    assert _lang(client.get("/tasks", headers={"Accept-Language": "en-GB,en;q=0.9"}).get_data(as_text=True)) == "en"
    assert _lang(client.get("/tasks", headers={"Accept-Language": "de-DE,fr"}).get_data(as_text=True)) == "en"


@pytest.mark.parametrize("header", ["nb-NO,nb;q=0.9,en;q=0.5", "nb", "no", "nn-NO", "de;q=0.9,nb-NO;q=0.8"])
def test_a_browser_asking_for_norwegian_gets_norwegian_pages(client, rep, header):
    login(client, rep)
    assert _lang(client.get("/tasks", headers={"Accept-Language": header}).get_data(as_text=True)) == "nb"


def test_the_browsers_order_of_preference_counts(client, rep):
    login(client, rep)
    html = client.get("/tasks", headers={"Accept-Language": "en;q=0.9,nb;q=0.4"}).get_data(as_text=True)
    assert _lang(html) == "en"


def test_the_persons_preference_overrides_the_browser(client, rep):
    rep.locale = "nb"
    db.session.commit()
    login(client, rep)
    assert _lang(client.get("/tasks", headers={"Accept-Language": "en-US"}).get_data(as_text=True)) == "nb"
    rep.locale = "en"
    db.session.commit()
    assert _lang(client.get("/tasks", headers={"Accept-Language": "nb-NO"}).get_data(as_text=True)) == "en"


def test_the_site_locale_is_the_fallback(app, client, rep):
    app.config["LOCALE"] = "nb_NO"
    login(client, rep)
    assert _lang(client.get("/tasks").get_data(as_text=True)) == "nb"
    assert _lang(client.get("/tasks", headers={"Accept-Language": "en"}).get_data(as_text=True)) == "en"


def test_money_and_statuses_in_norwegian(app):
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "nb-NO"}):
        assert formatting.money(Decimal("58663.00"), "NOK") == f"58{NBSP}663,00{NBSP}kr"
        assert formatting.label("status", "in_progress") == "pågår"
        assert formatting.label("status", "won") == "vunnet"
    with app.app_context(), app.test_request_context("/"):
        assert formatting.money(Decimal("58663.00"), "NOK") == f"NOK{NBSP}58,663.00"
        assert formatting.label("status", "in_progress") == "in progress"


def test_money_written_for_a_recipient_inside_a_page_is_in_the_recipients_language(app):
    """A page works out its language once, but an e-mail written during it in its recipient's language formats in
    that language, and the page's own values after it are in the page's again."""
    from som_flow.i18n import in_language

    with app.app_context(), app.test_request_context("/"):
        assert formatting.money(Decimal("58663.00"), "NOK") == f"NOK{NBSP}58,663.00"
        with in_language("nb"):
            assert formatting.money(Decimal("58663.00"), "NOK") == f"58{NBSP}663,00{NBSP}kr"
            assert formatting.label("status", "won") == "vunnet"
        assert formatting.money(Decimal("58663.00"), "NOK") == f"NOK{NBSP}58,663.00"


def _api(client, email: str, method: str, path: str, language: str | None = None, **kw):
    headers = {**token_headers(email), **({"Accept-Language": language} if language else {})}
    return client.open(f"/api/v1{path}", method=method, headers=headers, **kw)


def _text(html: str) -> str:
    return re.sub(r"[ \t\r\n]+", " ", re.sub(r"<[^>]+>", " ", html))  # no-break spaces kept: money has them


# -- the API's problem texts ---------------------------------------------------------------------------------
def test_a_problem_is_told_in_norwegian_when_the_client_asks_for_it(client, rep):
    english = _api(client, rep.email, "GET", "/opportunities/999999")
    assert english.status_code == 404
    assert (english.json["title"], english.json["detail"]) == ("Not found", "No opportunity 999999")
    norsk = _api(client, rep.email, "GET", "/opportunities/999999", "nb-NO,nb;q=0.9")
    assert norsk.status_code == 404 and norsk.mimetype == "application/problem+json"
    assert (norsk.json["title"], norsk.json["detail"]) == ("Ikke funnet", "Ingen salgsmulighet 999999")


def test_refused_fields_are_named_and_told_in_norwegian(client, rep):
    r = _api(client, rep.email, "POST", "/opportunities", "nb", json={"title": "Varmepumpe"})
    assert r.status_code == 422
    assert r.json["title"] == "Kan ikke behandles"
    assert r.json["detail"].startswith("Ugyldige felt: ") and "customer_id" in r.json["detail"]
    assert r.json["errors"]["customer_id"] == ["Obligatorisk felt mangler."]  # the field's key stays the key


def test_an_unknown_address_and_a_wrong_token_in_norwegian(client, rep):
    r = client.get("/api/v1/no-such-thing", headers={**token_headers(rep.email), "Accept-Language": "nb"})
    assert r.status_code == 404 and r.json["title"] == "Ikke funnet"
    assert r.json["detail"] == "Det finnes ingenting på denne adressen."
    r = client.get("/api/v1/users/me", headers={"Authorization": "Bearer nope", "Accept-Language": "nb"})
    assert r.status_code == 401 and r.json["title"] == "Ikke innlogget"
    assert r.json["detail"] == "Bearer-tokenet er ikke gyldig."


# -- the preference: API and page ------------------------------------------------------------------------
def test_a_person_sets_their_language_through_the_api(client, rep):
    assert _api(client, rep.email, "GET", "/users/me").json["locale"] is None
    r = _api(client, rep.email, "PATCH", "/users/me", json={"locale": "nb"})
    assert r.status_code == 200 and r.json["locale"] == "nb"
    # from now on their problems are Norwegian, whatever the client asks for
    r = _api(client, rep.email, "GET", "/opportunities/999999", "en-US")
    assert r.json["detail"] == "Ingen salgsmulighet 999999"
    r = _api(client, rep.email, "PATCH", "/users/me", json={"locale": None})
    assert r.status_code == 200 and r.json["locale"] is None
    assert _api(client, rep.email, "GET", "/opportunities/999999").json["detail"] == "No opportunity 999999"


@pytest.mark.parametrize("body", [{"locale": "de"}, {"locale": 7}, {}])
def test_a_language_we_do_not_speak_is_refused_naming_the_field(client, rep, body):
    r = _api(client, rep.email, "PATCH", "/users/me", json=body)
    assert r.status_code == 422 and "locale" in r.json["errors"]
    assert db.session.get(type(rep), rep.id).locale is None


def test_the_settings_page_switches_the_language_and_says_so_in_the_new_one(client, rep):
    login(client, rep)
    page = client.get("/settings").get_data(as_text=True)
    assert 'href="/settings"' in page  # the header's link
    assert 'name="locale" value="" checked' in page and "Norsk bokmål" in page
    r = client.post("/settings/language", data={"locale": "nb"}, follow_redirects=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and _lang(html) == "nb"
    assert "Lagret: sidene dine er nå på Norsk bokmål." in _text(html)
    assert 'value="nb" lang="nb" checked' in html
    assert _lang(client.get("/tasks", headers={"Accept-Language": "en"}).get_data(as_text=True)) == "nb"
    client.post("/settings/language", data={"locale": ""})
    assert _lang(client.get("/tasks", headers={"Accept-Language": "en"}).get_data(as_text=True)) == "en"


def test_a_tampered_language_is_refused_beside_the_field(client, rep):
    login(client, rep)
    r = client.post("/settings/language", data={"locale": "klingon"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert 'id="locale-error"' in html and "Choose one of the listed values." in html
    assert db.session.get(type(rep), rep.id).locale is None


def test_a_flash_message_is_in_the_pages_language(client, rep):
    r = client.post("/login", data={"email": rep.email, "password": "wrong-password"},
                    headers={"Accept-Language": "nb-NO"})
    assert r.status_code == 401 and "Feil e-post eller passord." in r.get_data(as_text=True)


# -- mail and reminders: in the recipient's language ------------------------------------------------------


def test_a_reminder_and_its_email_are_in_the_recipients_language(app, client, clock, smtp_server):
    inbox, port = smtp_server
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="som@x.test")
    make_user("manager@x.test", "manager", password=None)
    kari = make_user("kari@x.test", "rep", timezone="Europe/Oslo", password=None)
    users.update_user(kari.id, email_notifications=True, locale="nb")
    customer = make_customer("Fjordkraft AS")
    # the manager's English request schedules the reminder; it is Kari's, so it is written in her language
    r = _api(client, "manager@x.test", "POST", "/opportunities", "en", json={
        "title": "Varmepumpe", "customer_id": customer.id, "kind": "service-contract", "amount": "58663.00",
        "currency": "NOK", "sales_rep": kari.id, "follow_up_date": "2026-03-04"})
    assert r.status_code == 201, r.json
    when = datetime(2026, 3, 4, 8, tzinfo=ZoneInfo("Europe/Oslo"))
    clock.set(when)
    assert fire_due_reminders(at=when) == 1
    assert [(m["To"], str(make_header(decode_header(m["Subject"])))) for m in inbox.messages] == [
        ("kari@x.test", "Følg opp: Varmepumpe")]
    assert "Fjordkraft AS" in inbox.messages[0].get_payload()
    bell = Api(client, "kari@x.test").get("/notifications?unread=true").json["items"]
    assert [n["title"] for n in bell] == ["Følg opp: Varmepumpe"]


# -- catalogs in both languages ---------------------------------------------------------------------------
def test_the_shipped_catalogs_carry_both_names_and_pages_show_the_viewers(client, rep):
    make_user("admin@x.test", "admin", password=None)
    reasons = {e["key"]: e for e in Api(client, rep.email).get("/catalogs/lost_reasons").json}
    assert (reasons["no_budget"]["name"], reasons["no_budget"]["name_nb"]) == ("No budget", "Mangler budsjett")
    stages = {s["key"]: s for s in Api(client, rep.email).get("/stages").json}
    assert (stages["qualification"]["name"], stages["qualification"]["name_nb"]) == ("Qualification", "Kvalifisering")
    with client.application.app_context(), client.application.test_request_context(
            "/", headers={"Accept-Language": "nb"}):
        assert formatting.label("lost_reason", "no_budget") == "Mangler budsjett"
        assert formatting.label("stage", "qualification") == "Kvalifisering"
        assert formatting.label("priority", "high") == "Høy"
    with client.application.app_context(), client.application.test_request_context("/"):
        assert formatting.label("lost_reason", "no_budget") == "No budget"


def test_the_deal_list_shows_catalog_and_stage_names_in_norwegian(client, rep):
    make_user("manager@x.test", "manager", password=None)
    customer = make_customer("Fjordkraft AS")
    api = Api(client, "manager@x.test")
    deal = api.post("/opportunities", {"title": "Varmepumpe", "customer_id": customer.id, "kind": "standard-sale",
                                       "amount": "58663.00", "currency": "NOK", "sales_rep": rep.id}).json
    assert api.post(f"/opportunities/{deal['id']}/lose", {"reason": "no_budget"}).status_code == 200
    login(client, rep)
    html = client.get("/opportunities?all=1", headers={"Accept-Language": "nb"}).get_data(as_text=True)
    text = _text(html)
    assert f"58{NBSP}663,00{NBSP}kr" in text and " tapt " in text
    page = client.get(f"/opportunities/{deal['id']}", headers={"Accept-Language": "nb"}).get_data(as_text=True)
    assert "Mangler budsjett" in _text(page) and "No budget" not in _text(page)


def test_an_admin_names_a_catalog_entry_and_a_stage_in_both_languages(client):
    admin = make_user("admin@x.test", "admin")
    login(client, admin)
    r = client.post("/admin/catalogs/lost_reasons", data={"key": "moved", "name": "Moved away",
                                                            "name_nb": "Flyttet"})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    entry = {e["key"]: e for e in Api(client, admin.email).get("/catalogs/lost_reasons").json}["moved"]
    assert (entry["name"], entry["name_nb"]) == ("Moved away", "Flyttet")
    r = client.post("/admin/stages/proposal", data={"name": "Proposal", "name_nb": "Tilbud", "details": "",
                                                    "default_probability": "50", "sla_days": "14"})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    stages = {s["key"]: s for s in Api(client, admin.email).get("/stages").json}
    assert stages["proposal"]["name_nb"] == "Tilbud"
    html = client.get("/admin/stages", headers={"Accept-Language": "nb"}).get_data(as_text=True)
    assert '<td lang="nb">Tilbud</td>' in html
    # a blank Norwegian name is none: the English name shows in every language
    client.post("/admin/stages/proposal", data={"name": "Proposal", "name_nb": "", "default_probability": "50"})
    assert {s["key"]: s for s in Api(client, admin.email).get("/stages").json}["proposal"]["name_nb"] is None


def test_a_database_from_before_the_two_languages_gets_the_norwegian_names_on_init(app):
    from som_flow.models import CatalogEntry, Stage
    from som_flow.services.catalogs import seed_defaults

    stage = db.session.scalar(db.select(Stage).where(Stage.key == "lead"))
    high = db.session.scalar(db.select(CatalogEntry).where(CatalogEntry.key == "high"))
    stage.name_nb = high.name_nb = None
    renamed = db.session.scalar(db.select(CatalogEntry).where(CatalogEntry.key == "low"))
    renamed.name, renamed.name_nb = "Whenever", None  # an admin's own name is left alone
    db.session.commit()
    seed_defaults()
    assert (stage.name_nb, high.name_nb, renamed.name_nb) == ("Lead", "Høy", None)


def test_durations_and_dates_in_norwegian_words(app):
    with app.app_context(), app.test_request_context("/", headers={"Accept-Language": "nb"}):
        assert formatting.duration("P14D") == "14 dager"
        assert formatting.duration("P1DT4H") == "1 dag 4 timer"
        assert formatting.duration("PT5M") == "5 minutter"
        assert formatting.moment(datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("UTC")),
                                 ZoneInfo("Europe/Oslo")) == "man. 2. mars 10:00"
    with app.app_context(), app.test_request_context("/"):
        assert formatting.duration("P14D") == "14 days" and formatting.duration("P1DT4H") == "1 day 4 hours"
        assert formatting.moment(datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("UTC"))) == "Mon 02 Mar 09:00"
