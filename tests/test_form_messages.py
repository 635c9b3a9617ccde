"""A refused page form names each field by the label the form shows (not the API's key), in the page's language
(marshmallow's words too), and comes back with what was typed."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import func, select

from som_flow.extensions import db
from som_flow.models import Appointment, Opportunity, Task
from tests.helpers import Api, login, make_customer, make_user

NB = {"Accept-Language": "nb-NO,nb;q=0.9"}
EN = {"Accept-Language": "en"}
KEYS = ("opportunity_id", "opportunity id", "customer_id", "customer id", "ids", "title:", "follow_up_at",
        "due_at", "rrule", "RRULE")
MARSHMALLOW_ENGLISH = ("Missing data", "Length must be", "Not a valid", "Field may not be null", "Shorter than")


@pytest.fixture(autouse=True)
def many_logins(app):
    app.config["LOGIN_ATTEMPTS_PER_MINUTE"] = 1000


@pytest.fixture
def people(app):
    return {"manager": make_user("manager@x.test", "manager"), "rep": make_user("rep@x.test", "rep"),
            "scheduler": make_user("scheduler@x.test", "scheduler"),
            "customer": make_customer("Northwind Traders")}


@pytest.fixture
def deal(client, people) -> dict:
    r = Api(client, "manager@x.test").post("/opportunities", {
        "title": "CRM licenses", "customer_id": people["customer"].id, "kind": "standard-sale",
        "amount": "5000.00", "sales_rep": people["rep"].id})
    assert r.status_code == 201, r.json
    return r.json


def told(page: str) -> str:
    """What the page tells about the refusal: its flashed messages, form summaries and messages by the fields."""
    found = re.findall(r'<(?:p|span|ul) class="(?:flash [^"]*|field-error|form-errors)"[^>]*>(.*?)</(?:p|span|ul)>',
                       page, re.S)
    return html.unescape(" | ".join(re.sub(r"<[^>]+>", " ", f) for f in found))


def assert_no_keys_or_english(words: str) -> None:
    for key in KEYS:
        assert key not in words, (key, words)
    for english in MARSHMALLOW_ENGLISH:
        assert english not in words, (english, words)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# -- 1. the task list's bulk bar -------------------------------------------------------------------------------
@pytest.mark.parametrize(("headers", "expected"), [(EN, "Tick at least one task."),
                                                   (NB, "Kryss av minst én oppgave.")])
def test_applying_the_task_bulk_bar_with_nothing_ticked_says_to_tick_a_task(client, people, deal, headers, expected):
    login(client, "manager@x.test")
    r = client.post("/tasks/bulk", data={"action": "snooze", "follow_up_at": "2026-05-04T09:00"}, headers=headers)
    assert r.status_code == 422
    words = told(r.text)
    assert expected in words
    assert_no_keys_or_english(words)
    assert "Check" not in words and "Sjekk" not in words
    # the bar keeps what was chosen and typed
    assert '<option value="snooze" selected>' in r.text and 'value="2026-05-04T09:00"' in r.text


def test_a_bad_snooze_time_on_the_bulk_bar_is_named_by_its_label(client, people, deal):
    login(client, "manager@x.test")
    task = db.session.scalars(select(Task).where(Task.opportunity_id == deal["id"])).first()
    r = client.post("/tasks/bulk", data={"ids": [task.id], "action": "snooze", "follow_up_at": "next week"},
                    headers=NB)
    assert r.status_code == 422
    words = told(r.text)
    assert "Sjekk Utsett til: Bruk ÅÅÅÅ-MM-DD TT:MM." in words or "Sjekk Utsett til:" in words, words
    assert_no_keys_or_english(words)
    assert 'value="next week"' in r.text


# -- 2. the task list's "Add a task" ---------------------------------------------------------------------------
def test_an_empty_add_a_task_form_names_deal_and_title_by_their_labels(client, people, deal):
    login(client, "manager@x.test")
    before = count(Task)
    r = client.post("/tasks/new", data={"title": "", "opportunity_id": "", "instructions": "Ask for the budget",
                                        "due_at": "2026-05-04T09:00"}, headers=EN)
    assert r.status_code == 422
    words = told(r.text)
    assert "Check Title: Required.; Deal: Required." in words, words
    assert_no_keys_or_english(words)
    assert 'value="Ask for the budget"' in r.text and 'value="2026-05-04T09:00"' in r.text
    assert count(Task) == before

    r = client.post("/tasks/new", data={"title": "", "opportunity_id": "", "instructions": "Ask for the budget"},
                    headers=NB)
    assert r.status_code == 422
    words = told(r.text)
    assert "Sjekk Tittel: Må fylles ut.; Salgsmulighet: Må fylles ut." in words, words
    assert_no_keys_or_english(words)
    assert 'value="Ask for the budget"' in r.text
    assert count(Task) == before


def test_a_title_too_long_and_a_bad_due_time_are_named_in_norwegian(client, people, deal):
    login(client, "manager@x.test")
    r = client.post("/tasks/new", data={"title": "x" * 201, "opportunity_id": str(deal["id"]),
                                        "due_at": "tomorrow"}, headers=NB)
    assert r.status_code == 422
    words = told(r.text)
    assert "Sjekk Tittel: Skriv 1 til 200 tegn.; Frist: Bruk ÅÅÅÅ-MM-DD TT:MM." in words, words
    assert_no_keys_or_english(words)
    assert 'value="tomorrow"' in r.text


# -- 3. the new opportunity form -------------------------------------------------------------------------------
@pytest.mark.parametrize(("headers", "expected"), [
    (EN, "Check Title: Required.; Customer: Required."),
    (NB, "Sjekk Tittel: Må fylles ut.; Kunde: Må fylles ut."),
])
def test_an_empty_new_opportunity_form_names_title_and_customer_by_their_labels(client, people, headers, expected):
    login(client, "manager@x.test")
    before = count(Opportunity)
    r = client.post("/opportunities/new", data={"title": "", "customer": "", "kind": "standard-sale",
                                                "amount": "1200.50"}, headers=headers)
    assert r.status_code == 422
    words = told(r.text)
    assert expected in words, words
    assert_no_keys_or_english(words)
    assert 'value="1200.50"' in r.text
    assert count(Opportunity) == before


def test_a_non_numeric_amount_on_the_new_opportunity_form_is_named_in_norwegian(client, people):
    login(client, "manager@x.test")
    r = client.post("/opportunities/new", data={"title": "Heat pump", "customer": "Northwind Traders",
                                                "kind": "standard-sale", "amount": "a lot"}, headers=NB)
    assert r.status_code == 422
    words = told(r.text)
    assert "Sjekk Beløp:" in words, words
    assert_no_keys_or_english(words)
    assert 'value="Heat pump"' in r.text and 'value="a lot"' in r.text


# -- 4. the appointment form -----------------------------------------------------------------------------------
def test_an_appointment_without_a_title_is_named_by_its_label(client, people, deal):
    login(client, "scheduler@x.test")
    typed = {"title": " ", "opportunity_id": str(deal["id"]), "attendees": [str(people["rep"].id)],
             "start": "2026-03-03T10:00", "end": "2026-03-03T11:00", "location": "Site office"}
    r = client.post("/schedule/appointments", data=typed, headers=EN)
    assert r.status_code == 422
    words = told(r.text)
    assert "Check Title: Give the appointment a title." in words, words
    assert_no_keys_or_english(words)

    r = client.post("/schedule/appointments", data=typed, headers=NB)
    assert r.status_code == 422
    words = told(r.text)
    assert "Sjekk Tittel: Gi avtalen en tittel." in words, words
    assert "Give the appointment" not in words
    assert_no_keys_or_english(words)
    assert 'value="Site office"' in r.text and 'value="2026-03-03T10:00"' in r.text
    assert count(Appointment) == 0


def test_a_repeat_that_never_repeats_is_named_as_the_forms_repeat_in_norwegian(client, people, deal):
    login(client, "scheduler@x.test")
    # every day until a day before the first: the rule gives no occurrence
    typed = {"title": "Daily stand-up", "opportunity_id": str(deal["id"]), "attendees": [str(people["rep"].id)],
             "start": "2026-03-03T10:00", "end": "2026-03-03T10:30", "repeat": "daily", "until": "2026-03-01"}
    r = client.post("/schedule/appointments", data=typed, headers=NB)
    assert r.status_code == 422
    words = told(r.text)
    assert "Sjekk Gjenta: Regelen gjentar aldri avtalen." in words, words
    assert "Not a valid" not in words
    assert_no_keys_or_english(words)
    assert 'value="Daily stand-up"' in r.text and 'value="2026-03-01"' in r.text
    assert count(Appointment) == 0

    r = client.post("/schedule/appointments", data=typed, headers=EN)
    assert "Check Repeat: The rule never repeats the appointment." in told(r.text)


# -- 5. the "Log activity" form --------------------------------------------------------------------------------
@pytest.mark.parametrize(("headers", "expected", "english"), [
    (EN, "Check Text: Say what was talked about.", None),
    (NB, "Sjekk Tekst: Skriv hva som ble snakket om.", "The activity is incomplete"),
])
def test_an_empty_note_is_named_by_its_label(client, people, deal, headers, expected, english):
    login(client, "rep@x.test")
    r = client.post(f"/opportunities/{deal['id']}/activities",
                    data={"type": "note", "text": " ", "outcome": "Wants a quote"}, headers=headers)
    assert r.status_code == 422
    words = told(r.text)
    assert expected in words, words
    assert english is None or english not in words
    assert_no_keys_or_english(words)
    assert 'value="Wants a quote"' in r.text
    assert Api(client, "rep@x.test").get(f"/opportunities/{deal['id']}/activities").json["total"] == 0


def test_a_next_task_without_a_title_is_named_in_norwegian(client, people, deal):
    login(client, "rep@x.test")
    r = client.post(f"/opportunities/{deal['id']}/activities",
                    data={"type": "call", "text": "Talked budgets", "next_task_due": "2026-05-04T09:00"}, headers=NB)
    assert r.status_code == 422
    words = told(r.text)
    assert "Sjekk Neste oppgave: Skriv hva neste oppgave er, eller la fristen stå tom." in words, words
    assert "Check the activity" not in words
    assert_no_keys_or_english(words)
    assert "Talked budgets</textarea>" in r.text


def test_an_empty_note_on_the_customer_page_is_named_in_norwegian(client, people):
    login(client, "manager@x.test")
    r = client.post(f"/customers/{people['customer'].id}/activities", data={"type": "note", "text": ""}, headers=NB)
    assert r.status_code == 422
    words = told(r.text)
    assert "Sjekk Tekst: Skriv hva som ble snakket om." in words, words
    assert_no_keys_or_english(words)


# -- 6. the opportunity list's sort options --------------------------------------------------------------------
def test_the_sort_options_are_in_the_pages_language(client, people, deal):
    login(client, "manager@x.test")
    page = client.get("/opportunities", headers=NB).text
    sort = re.search(r'<select name="sort">(.*?)</select>', page, re.S).group(1)
    options = re.findall(r">([^<]+)</option>", sort)
    assert options == ["Nyeste", "Forventet lukkedato", "Beløp (størst)", "Beløp (minst)", "Sannsynlighet",
                       "Tittel"]
    page = client.get("/opportunities", headers=EN).text
    sort = re.search(r'<select name="sort">(.*?)</select>', page, re.S).group(1)
    assert re.findall(r">([^<]+)</option>", sort) == ["Newest", "Close date", "Amount (largest)",
                                                       "Amount (smallest)", "Probability", "Title"]


# -- the customer forms' plain words, and a date out of range --------------------------------------------------
def test_an_empty_customer_name_is_told_in_norwegian_beside_the_field(client, people):
    login(client, "manager@x.test")
    r = client.post("/customers", data={"name": "", "kind": "organization"}, headers=NB)
    assert r.status_code == 422
    assert '<span class="field-error" id="err-name">Fyll ut dette.</span>' in r.text
    assert_no_keys_or_english(told(r.text))
    assert "Fill this in" not in r.text


def test_an_appointment_out_of_the_calendars_range_is_named_by_its_labels_in_norwegian(client, people):
    login(client, "scheduler@x.test")
    r = client.post("/schedule/appointments", data={"title": "Site visit", "start": "9999-12-31T23:30",
                                                    "end": "9999-12-31T23:45"}, headers=NB)
    assert r.status_code == 422
    words = told(r.text)
    assert ("Sjekk Start: Bruk en dato mellom 1900-01-01 og 2200-12-31.; "
            "Slutt: Bruk en dato mellom 1900-01-01 og 2200-12-31.") in words, words
    assert_no_keys_or_english(words)
    assert 'value="9999-12-31T23:30"' in r.text and 'value="Site visit"' in r.text


def test_ticking_more_tasks_than_a_bulk_action_takes_says_how_many_it_takes(client, people, deal):
    login(client, "manager@x.test")
    r = client.post("/tasks/bulk", data={"ids": [f"task-{i}" for i in range(201)], "action": "complete"},
                    headers=NB)
    assert r.status_code == 422
    words = told(r.text)
    assert "Sjekk Avkryssede oppgaver: Kryss av høyst 200 oppgaver." in words, words
    assert_no_keys_or_english(words)


def test_the_deal_pages_add_task_form_names_the_title_in_norwegian(client, people, deal):
    login(client, "manager@x.test")
    r = client.post(f"/opportunities/{deal['id']}/tasks", data={"title": "", "instructions": "Ring Kari"},
                    headers=NB)
    assert r.status_code == 422
    words = told(r.text)
    assert "Sjekk Tittel: Må fylles ut." in words, words
    assert_no_keys_or_english(words)
    assert 'value="Ring Kari"' in r.text


def test_emptying_an_activitys_text_is_refused_naming_the_field_in_norwegian(client, people, deal):
    login(client, "rep@x.test")
    logged = Api(client, "rep@x.test").post(f"/opportunities/{deal['id']}/activities",
                                            {"type": "note", "text": "Met at the site"})
    assert logged.status_code == 201, logged.json
    r = client.post(f"/activities/{logged.json['id']}/edit", data={"type": "note", "text": " ", "outcome": ""},
                    headers=NB, follow_redirects=True)
    words = told(r.text)
    assert "Sjekk Tekst: Skriv hva som ble snakket om." in words, words
    assert "The activity is incomplete" not in words
    assert_no_keys_or_english(words)
