"""Catalogs: stages, choice lists, exchange rates, custom fields and questions — with the seeds' defaults."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from som_flow.errors import NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import CATALOGS, CatalogEntry, CustomField, ExchangeRate, Question, Stage
from som_flow.services.reference import kept
from som_flow.services.unit_of_work import service

# seed 004: six default stages with typical probabilities; Closed-Won/Lost are outcomes here. Each carries its
# Norwegian name (the seed's own words) beside the English one.
DEFAULT_STAGES = [
    ("lead", "Lead", 10, "A new contact that may become a customer.", None, "Lead"),
    ("qualification", "Qualification", 20, "Budget, authority, need and timing are being checked.", None,
     "Kvalifisering"),
    ("proposal", "Proposal", 50, "A proposal or estimate has been sent.", 14, "Forslag"),
    ("negotiation", "Negotiation", 80, "Terms and price are being agreed.", None, "Forhandling"),
]

# (key, English name, Norwegian name, then a percent, price or extra dict where the catalog has one)
DEFAULT_CATALOGS: dict[str, list[tuple]] = {
    # seed 000
    "financing_activities": [
        ("bank_approved", "Financing Offered and Bank Approved", "Finansiering tilbudt og innvilget av banken"),
        ("bank_declined_paid_cash", "Financing Offered. Bank Declined. Paid Cash",
         "Finansiering tilbudt. Banken avslo. Betalte kontant"),
        ("bank_declined_sale_lost", "Financing Offered. Bank Declined. Sale Lost",
         "Finansiering tilbudt. Banken avslo. Salget tapt"),
        ("client_declined", "Client Declined Financing (Paid Cash)",
         "Kunden takket nei til finansiering (betalte kontant)"),
        ("none_offered", "No Financing Was Offered", "Ingen finansiering tilbudt"),
    ],
    "timeframes": [
        ("1_2_weeks", "1-2 Weeks", "1–2 uker"),
        ("3_4_weeks", "3-4 Weeks", "3–4 uker"),
        ("1_3_months", "1-3 Months", "1–3 måneder"),
        ("3_6_months", "3-6 Months", "3–6 måneder"),
        ("6_plus_months", "6+ Months", "Over 6 måneder"),
    ],
    "priorities": [("low", "Low", "Lav"), ("medium", "Medium", "Middels"), ("high", "High", "Høy")],
    # seed 004 use case 3
    "lost_reasons": [
        ("price", "Price", "Pris"),
        ("competitor", "Chose a competitor", "Valgte en konkurrent"),
        ("no_budget", "No budget", "Mangler budsjett"),
        ("timing", "Bad timing", "Dårlig timing"),
        ("no_decision", "No decision", "Ingen beslutning"),
        ("financing_declined", "Financing declined", "Finansiering avslått"),
    ],
    "won_reasons": [
        ("price", "Best price", "Beste pris"),
        ("relationship", "Relationship", "Kunderelasjon"),
        ("quality", "Product quality", "Produktkvalitet"),
        ("service", "Service and support", "Service og støtte"),
    ],
    # seed 002: advertising channels with an impact type
    "marketing_channels": [
        ("web", "Website", "Nettside", {"impact": "inbound"}),
        ("phone", "Phone call", "Telefonsamtale", {"impact": "inbound"}),
        ("referral", "Referral", "Anbefaling", {"impact": "word of mouth"}),
        ("trade_show", "Trade show", "Messe", {"impact": "event"}),
        ("advertising", "Advertising", "Annonsering", {"impact": "paid"}),
    ],
    "marketing_sources": [
        ("google", "Google", "Google"),
        ("newspaper", "Newspaper ad", "Avisannonse"),
        ("customer_referral", "Existing customer", "Eksisterende kunde"),
        ("yard_sign", "Yard sign", "Skilt i hagen"),
        ("partner", "Partner", "Partner"),
    ],
    "departments": [("sales", "Sales", "Salg"), ("service", "Service", "Service"),
                    ("installation", "Installation", "Installasjon")],
    "probability_levels": [
        ("cold", "Cold", "Kald", 10), ("warm", "Warm", "Lunken", 30), ("likely", "Likely", "Sannsynlig", 60),
        ("hot", "Hot", "Varm", 80), ("certain", "Certain", "Sikker", 100),
    ],
    "currencies": [("USD", "US dollar", "Amerikanske dollar"), ("EUR", "Euro", "Euro"),
                   ("NOK", "Norwegian krone", "Norske kroner"), ("GBP", "Pound sterling", "Britiske pund")],
    "products": [
        ("hvac_install", "HVAC system installation", "Installasjon av ventilasjon og varmepumpe", Decimal("8500.00")),
        ("furnace", "High-efficiency furnace", "Høyeffektiv fyrkjel", Decimal("4200.00")),
        ("maintenance", "Annual maintenance contract", "Årlig serviceavtale", Decimal("350.00")),
        ("crm_license", "CRM software license (annual)", "CRM-lisens (årlig)", Decimal("50000.00")),
        ("consulting", "Consulting day", "Konsulentdag", Decimal("1200.00")),
    ],
}


@service
def seed_defaults() -> None:
    """Create the default stages and catalogs that are missing (idempotent)."""
    have = {stage.key: stage for stage in db.session.scalars(select(Stage))}
    for position, (key, name, probability, details, sla_days, name_nb) in enumerate(DEFAULT_STAGES):
        if key not in have:
            db.session.add(Stage(key=key, name=name, name_nb=name_nb, default_probability=probability,
                                 details=details, position=position, sla_days=sla_days))
        else:
            _add_norwegian_name(have[key], name, name_nb)
    existing = {(row.catalog, row.key): row for row in db.session.scalars(select(CatalogEntry))}
    for catalog, entries in DEFAULT_CATALOGS.items():
        for position, entry in enumerate(entries):
            key, name, name_nb, *rest = entry
            if (catalog, key) in existing:
                _add_norwegian_name(existing[catalog, key], name, name_nb)
                continue
            row = CatalogEntry(catalog=catalog, key=key, name=name, name_nb=name_nb, position=position, extra={})
            for value in rest:
                if isinstance(value, Decimal):
                    row.price = value
                elif isinstance(value, int):
                    row.percent = value
                elif isinstance(value, dict):
                    row.extra = value
            db.session.add(row)


def _add_norwegian_name(row: Stage | CatalogEntry, name: str, name_nb: str) -> None:
    """A database made before the catalogs had two languages gets the shipped Norwegian name (init runs this
    again), unless an admin renamed the entry or already gave it a Norwegian name of their own."""
    if row.name_nb is None and row.name == name:
        row.name_nb = name_nb


def list_stages() -> list[Stage]:
    return list(db.session.scalars(select(Stage).order_by(Stage.position, Stage.id)))


def stage_by_key(key: str) -> Stage | None:
    return db.session.scalar(select(Stage).where(Stage.key == key))


@service
def create_stage(key: str, name: str, default_probability: int, details: str = "",
                 sla_days: int | None = None, name_nb: str | None = None) -> Stage:
    if stage_by_key(key):
        raise ValidationFailed(gettext("Stage %(key)s exists", key=key), {"key": [gettext("Already taken.")]})
    position = len(list_stages())
    stage = Stage(key=key, name=name, name_nb=name_nb or None, default_probability=default_probability,
                  details=details, position=position, sla_days=sla_days)
    db.session.add(stage)
    db.session.flush()
    return stage


def check_catalog(name: str) -> str:
    if name not in CATALOGS:
        raise NotFound(gettext("No catalog %(name)s; catalogs are %(items)s", name=repr(name),
                               items=', '.join(CATALOGS)))
    return name


def list_entries(catalog: str, active_only: bool = False) -> list[CatalogEntry]:
    query = select(CatalogEntry).where(CatalogEntry.catalog == check_catalog(catalog))
    if active_only:
        query = query.where(CatalogEntry.active.is_(True))
    return list(db.session.scalars(query.order_by(CatalogEntry.position, CatalogEntry.id)))


def all_entries() -> list[CatalogEntry]:
    """Every catalog's entries, each catalog in its order (list_entries' order)."""
    return list(db.session.scalars(select(CatalogEntry).order_by(CatalogEntry.catalog, CatalogEntry.position,
                                                                 CatalogEntry.id)))


# what pages read of the stages and catalogs, kept between requests (services/reference.py): copies of the rows'
# columns, as ORM rows belong to one session. Their fields are the tables' columns (tests/test_reference.py).
@dataclass(frozen=True, slots=True)
class StageRow:
    id: int
    key: str
    name: str
    name_nb: str | None
    details: str
    default_probability: int
    position: int
    sla_days: int | None
    created_at: datetime
    updated_at: datetime
    name_in = Stage.name_in


@dataclass(frozen=True, slots=True)
class EntryRow:
    id: int
    catalog: str
    key: str
    name: str
    name_nb: str | None
    position: int
    active: bool
    percent: int | None
    price: Decimal | None
    extra: dict
    created_at: datetime
    updated_at: datetime
    name_in = CatalogEntry.name_in


def _copies(row_type: type, rows) -> tuple:
    names = [f.name for f in fields(row_type)]
    return tuple(row_type(*(getattr(row, name) for name in names)) for row in rows)


def stage_rows() -> tuple[StageRow, ...]:
    """list_stages() as kept copies: what pages name and list."""
    return kept("stages", lambda: _copies(StageRow, list_stages()))


def entry_rows() -> tuple[EntryRow, ...]:
    """all_entries() as kept copies: what pages name and offer."""
    return kept("entries", lambda: _copies(EntryRow, all_entries()))


def entry(catalog: str, key: str) -> CatalogEntry | None:
    return db.session.scalar(
        select(CatalogEntry).where(CatalogEntry.catalog == catalog, CatalogEntry.key == key)
    )


def require_entry(catalog: str, key: str | None, field: str) -> None:
    """Raise ValidationFailed naming `field` when `key` is not in the catalog."""
    if key is not None and entry(catalog, key) is None:
        keys = ", ".join(e.key for e in list_entries(catalog, active_only=True))
        raise ValidationFailed(gettext("%(key)s is not in %(catalog)s", key=repr(key), catalog=catalog),
                               {field: [gettext("Unknown value; choose from %(keys)s.", keys=keys)]})


@service
def create_entry(catalog: str, key: str, name: str, percent: int | None = None,
                 price: Decimal | None = None, extra: dict | None = None, name_nb: str | None = None) -> CatalogEntry:
    check_catalog(catalog)
    if entry(catalog, key):
        raise ValidationFailed(gettext("%(key)s exists in %(catalog)s", key=key, catalog=catalog),
                               {"key": [gettext("Already taken.")]})
    row = CatalogEntry(catalog=catalog, key=key, name=name, name_nb=name_nb or None, percent=percent, price=price,
                       extra=extra or {}, position=len(list_entries(catalog)))
    db.session.add(row)
    db.session.flush()
    return row


@service
def set_exchange_rate(currency: str, base: str, rate: Decimal, valid_from: date) -> ExchangeRate:
    if rate <= 0:
        raise ValidationFailed(gettext("A rate must be positive"), {"rate": [gettext("Must be greater than 0.")]})
    row = db.session.scalar(select(ExchangeRate).where(
        ExchangeRate.currency == currency, ExchangeRate.base == base, ExchangeRate.valid_from == valid_from))
    if row is None:
        row = ExchangeRate(currency=currency, base=base, valid_from=valid_from, rate=rate)
        db.session.add(row)
    row.rate = rate
    db.session.flush()
    return row


@service
def update_stage(key: str, data: dict) -> Stage:
    """Change a catalog stage's name, details, default probability or SLA days."""
    stage = stage_by_key(key)
    if stage is None:
        raise NotFound(gettext("No stage %(key)s", key=repr(key)))
    for name in ("name", "name_nb", "details", "default_probability", "sla_days"):
        if name in data:
            setattr(stage, name, data[name] or None if name == "name_nb" else data[name])
    return stage


@service
def set_entry_active(catalog: str, key: str, active: bool) -> CatalogEntry:
    """Deactivate (hide from new choices, keep on old records) or reactivate a catalog entry."""
    row = entry(check_catalog(catalog), key)
    if row is None:
        raise NotFound(gettext("No %(key)s in %(catalog)s", key=repr(key), catalog=catalog))
    row.active = active
    return row


def list_exchange_rates() -> list[ExchangeRate]:
    return list(db.session.scalars(select(ExchangeRate).order_by(
        ExchangeRate.currency, ExchangeRate.base, ExchangeRate.valid_from.desc())))


def list_custom_fields() -> list[CustomField]:
    return list(db.session.scalars(select(CustomField).order_by(CustomField.position, CustomField.id)))


@service
def create_custom_field(key: str, label: str, type: str, choices: list | None = None,
                        required: bool = False) -> CustomField:
    if db.session.scalar(select(CustomField.id).where(CustomField.key == key)):
        raise ValidationFailed(gettext("Field %(key)s exists", key=key), {"key": [gettext("Already taken.")]})
    if type == "choice" and not choices:
        raise ValidationFailed(gettext("A choice field needs choices"),
                               {"choices": [gettext("Give at least one choice.")]})
    row = CustomField(key=key, label=label, type=type, choices=choices or [], required=required,
                      position=len(list_custom_fields()))
    db.session.add(row)
    db.session.flush()
    return row


def entry_names(language: str | None = None) -> dict[tuple[str, str], str]:
    """(catalog, key) -> name in `language` (the English name where an entry has none in it), so pages show
    names rather than catalog keys."""
    return {(e.catalog, e.key): e.name_in(language) for e in entry_rows()}


def list_all_questions() -> list[Question]:
    """Every question, whichever kind it belongs to (list_questions filters by kind)."""
    return list(db.session.scalars(select(Question).order_by(Question.section, Question.position, Question.id)))


def list_questions(kind_key: str | None = None) -> list[Question]:
    query = select(Question).order_by(Question.section, Question.position, Question.id)
    rows = list(db.session.scalars(query))
    return [q for q in rows if q.kind_key in (None, kind_key)]


@service
def create_question(key: str, section: str, text: str, answer_type: str = "bool", required: bool = False,
                    kind_key: str | None = None, choices: list | None = None) -> Question:
    if section not in ("profile", "qualification"):
        raise ValidationFailed(gettext("Unknown section"), {"section": [gettext("Choose profile or qualification.")]})
    row = Question(key=key, section=section, text=text, answer_type=answer_type, required=required,
                   kind_key=kind_key, choices=choices or [], position=len(list_questions()))
    db.session.add(row)
    db.session.flush()
    return row
