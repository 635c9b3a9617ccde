"""Outbound notices: e-mail over SMTP for users who want it (in-app notifications are rows)."""

from __future__ import annotations

import logging
import smtplib
from email.message import EmailMessage

from flask import current_app
from sqlalchemy import select

from som_flow.extensions import db
from som_flow.models import Notification, User
from som_flow.services.unit_of_work import now, transaction

log = logging.getLogger(__name__)
MAX_EMAIL_ATTEMPTS = 5


def send_pending_email() -> int:
    """Send e-mail for notifications not yet mailed; returns how many went out."""
    host = current_app.config.get("SMTP_HOST")
    if not host:
        return 0
    sent = 0
    with transaction() as session:
        query = (select(Notification).join(User, Notification.user_id == User.id).where(
            Notification.email_sent_at.is_(None), User.email_notifications.is_(True),
            Notification.email_attempts < MAX_EMAIL_ATTEMPTS).order_by(Notification.id).limit(100))
        if session.get_bind().dialect.name == "postgresql":
            # two schedulers mailing at once must not pick the same rows (SQLite: BEGIN IMMEDIATE serializes)
            query = query.with_for_update(skip_locked=True, of=Notification)
        rows = list(session.scalars(query))
        if not rows:
            return 0
        try:
            with smtplib.SMTP(host, current_app.config["SMTP_PORT"], timeout=10) as smtp:
                for row in rows:
                    row.email_attempts += 1
                    user = db.session.get(User, row.user_id)
                    msg = EmailMessage()
                    msg["From"] = current_app.config["MAIL_FROM"]
                    msg["To"] = user.email
                    msg["Subject"] = row.title
                    msg.set_content(f"{row.title}\n\n{row.body}\n")
                    smtp.send_message(msg)
                    row.email_sent_at = now()
                    sent += 1
        except OSError as exc:
            log.warning("SMTP delivery failed: %s", exc)
    return sent
