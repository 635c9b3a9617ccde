"""Users, passwords and API tokens (only hashes are stored)."""

from __future__ import annotations

import hashlib
import secrets
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from som_flow.errors import NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.models import ROLES, ApiToken, Opportunity, User
from som_flow.services.unit_of_work import now, service


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"Unknown timezone {name!r}", {"timezone": ["Unknown timezone."]})
    return name


@service
def create_user(
    email: str, name: str, roles: list[str], *, password: str | None = None, timezone: str = "UTC"
) -> User:
    """Make a user. Raises ValidationFailed for a bad role/timezone/duplicate e-mail."""
    email = email.strip().lower()
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise ValidationFailed("Unknown or missing role", {"roles": [f"Choose from {', '.join(ROLES)}."]})
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise ValidationFailed(f"A user with e-mail {email} exists", {"email": ["Already taken."]})
    user = User(email=email, name=name or email, timezone=check_timezone(timezone))
    user.roles = roles
    if password:
        user.password_hash = generate_password_hash(password)
    db.session.add(user)
    db.session.flush()
    return user


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}")
    return user


def find_user_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise NotFound(f"No user with e-mail {email}")
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.name)))


@service
def create_token(email: str, name: str = "cli") -> str:
    """Return a new API token for the user; only its hash is stored."""
    user = find_user_by_email(email)
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), name=name, created_at=now()))
    return token


def user_for_token(token: str) -> User | None:
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(token)))
    if row is None or not row.user.active:
        return None
    return row.user


def user_for_password(email: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
    if user is None or not user.active or not user.password_hash:
        return None
    return user if check_password_hash(user.password_hash, password) else None


@service
def set_password(user_id: int, password: str) -> None:
    get_user(user_id).password_hash = generate_password_hash(password)


def _resync_reminders_of(user: User) -> None:
    """Follow-up and close-date reminders fire at a local hour: move them with the rep's new timezone."""
    from som_flow.services.reminders import sync_reminders

    for opp in db.session.scalars(select(Opportunity).where(Opportunity.sales_rep_id == user.id,
                                                            Opportunity.closed.is_(False))):
        sync_reminders(opp)


@service
def update_user(user_id: int, **fields) -> User:
    user = get_user(user_id)
    if "timezone" in fields:
        old_timezone, user.timezone = user.timezone, check_timezone(fields.pop("timezone"))
        if user.timezone != old_timezone:
            _resync_reminders_of(user)
    if "roles" in fields:
        user.roles = fields.pop("roles")
    for key, value in fields.items():
        setattr(user, key, value)
    return user
