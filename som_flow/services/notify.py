"""Outbound notices: e-mail over SMTP for users who want it, and an optional signed webhook.

In-app notifications are rows written with the delivery; these channels come after it and may fail alone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import urllib.parse
import urllib.request
from datetime import timedelta
from email.message import EmailMessage
from functools import cache

from flask import current_app
from sqlalchemy import Integer, bindparam, func, or_, select, update

from som_flow.errors import NotFound
from som_flow.extensions import db
from som_flow.i18n import gettext
from som_flow.models import Delivery, Notification, User
from som_flow.services.unit_of_work import now, transaction

log = logging.getLogger(__name__)
MAX_EMAIL_ATTEMPTS = 5
SMTP_TIMEOUT_SECONDS = 10
EMAIL_LEASE_SECONDS = 300  # well beyond a batch of 100 at the SMTP timeout's pace
WEBHOOK_TIMEOUT_SECONDS = 5


def list_notifications(user: User, *, unread: bool = False, page: int = 1,
                       per_page: int = 50) -> tuple[list[Notification], int]:
    """A user's notifications, newest first, and how many there are (the bell: unread=True, a few)."""
    page_of, count = _notification_statements(unread)
    items = list(db.session.scalars(page_of, {"user_id": user.id, "limit": per_page, "offset": (page - 1) * per_page}))
    if len(items) < per_page and (items or page == 1):  # the last page: what is on it says how many (the bell on
        return items, (page - 1) * per_page + len(items)  # every page, for a user with a few unread, one statement)
    return items, db.session.scalar(count, {"user_id": user.id}) or 0


@cache
def _notification_statements(unread: bool):
    """list_notifications' page and count statements, built once: the bell reads its page on every page shown."""
    query = select(Notification).where(Notification.user_id == bindparam("user_id", type_=Integer))
    if unread:
        query = query.where(Notification.read_at.is_(None))
    page_of = (query.order_by(Notification.created_at.desc(), Notification.id.desc())
               .limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer)))
    return page_of, select(func.count()).select_from(query.subquery())


def mark_read(user: User, notification_id: int | None = None) -> Notification | None:
    """Mark one of the user's notifications read (None: all of them); someone else's is not found."""
    with transaction() as session:
        if notification_id is None:
            session.execute(update(Notification).where(Notification.user_id == user.id,
                                                        Notification.read_at.is_(None)).values(read_at=now()))
            return None
        row = session.get(Notification, notification_id)
        if row is None or row.user_id != user.id:
            raise NotFound(gettext("No notification %(notification_id)s", notification_id=notification_id))
        row.read_at = row.read_at or now()
    return row


def send_pending_email() -> int:
    """Send e-mail for notifications not yet mailed; returns how many went out.

    Three steps so no transaction waits on the SMTP server: claim a batch (a lease, so another mailer skips it),
    send with no transaction open, then record what went out. A mailer that dies mid-batch leaves its rows to be
    claimed again when the lease ends; at worst such a row is mailed twice, never lost.
    """
    host = current_app.config.get("SMTP_HOST")
    if not host:
        return 0
    messages = _claim_email()
    if not messages:
        return 0
    sent: list[int] = []
    try:
        with smtplib.SMTP(host, current_app.config["SMTP_PORT"], timeout=SMTP_TIMEOUT_SECONDS) as smtp:
            for notification_id, msg in messages:
                smtp.send_message(msg)
                sent.append(notification_id)
    except OSError as exc:
        log.warning("SMTP delivery failed: %s", exc)
    with transaction() as session:
        at = now()
        if sent:
            session.execute(update(Notification).where(Notification.id.in_(sent))
                            .values(email_sent_at=at, email_claimed_until=None))
        unsent = [notification_id for notification_id, _ in messages if notification_id not in set(sent)]
        if unsent:
            session.execute(update(Notification).where(Notification.id.in_(unsent))
                            .values(email_claimed_until=None))
    return len(sent)


def _claim_email() -> list[tuple[int, EmailMessage]]:
    """Claim up to 100 notifications to mail (one transaction) and build their messages."""
    with transaction() as session:
        at = now()
        query = (select(Notification, User.email).join(User, Notification.user_id == User.id).where(
            Notification.email_sent_at.is_(None), User.email_notifications.is_(True),
            Notification.email_attempts < MAX_EMAIL_ATTEMPTS,
            or_(Notification.email_claimed_until.is_(None), Notification.email_claimed_until < at),
        ).order_by(Notification.id).limit(100))
        if session.get_bind().dialect.name == "postgresql":
            # two mailers claiming at once must not take the same rows (SQLite: BEGIN IMMEDIATE serializes)
            query = query.with_for_update(skip_locked=True, of=Notification)
        messages = []
        for row, email in session.execute(query):
            row.email_attempts += 1
            row.email_claimed_until = at + timedelta(seconds=EMAIL_LEASE_SECONDS)
            msg = EmailMessage()
            msg["From"] = current_app.config["MAIL_FROM"]
            msg["To"] = email
            msg["Subject"] = row.title
            msg.set_content(f"{row.title}\n\n{row.body}\n")
            messages.append((row.id, msg))
        return messages


def sign(body: bytes, secret: str) -> str:
    """The `X-SomFlow-Signature` value: `sha256=` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_webhook(payload: dict) -> bool:
    """POST one delivered reminder to WEBHOOK_URL, signed; True when the receiver answered 2xx.

    `X-SomFlow-Delivery` carries the idempotency key so a receiver can drop a repeat. A failure is logged
    and not retried: the reminder is already delivered in-app. A success is noted in the delivery log.
    """
    url = current_app.config.get("WEBHOOK_URL")
    if not url:
        return False
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        # urllib would also open file: and ftp: URLs; a webhook is an HTTP receiver and nothing else
        log.warning("webhook not sent: WEBHOOK_URL must be an http(s) URL, not %r", url)
        return False
    body = json.dumps(payload, sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "som-flow",
               "X-SomFlow-Delivery": payload["idempotency_key"]}
    secret = current_app.config.get("WEBHOOK_SECRET")
    if secret:
        headers["X-SomFlow-Signature"] = sign(body, secret)
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only, above
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310 - as above
            ok = 200 <= response.status < 300
    except (OSError, ValueError) as exc:  # URLError/HTTPError are OSErrors; ValueError: a malformed URL
        log.warning("webhook delivery of %s failed: %s", payload["idempotency_key"], exc)
        return False
    if ok:
        with transaction() as session:
            row = session.scalar(select(Delivery).where(Delivery.idempotency_key == payload["idempotency_key"]))
            if row is not None:
                row.channels = [*row.channels, "webhook"]
    return ok
