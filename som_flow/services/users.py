"""Users, passwords, page sessions and API tokens (only hashes are stored)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app
from sqlalchemy import bindparam, delete, func, select
from werkzeug.security import check_password_hash, generate_password_hash

from som_flow.errors import NotFound, ValidationFailed
from som_flow.extensions import db
from som_flow.i18n import LANGUAGE_NAMES, LANGUAGES, gettext
from som_flow.models import ROLES, ApiToken, Opportunity, User, UserSession
from som_flow.services.reminder_schedule import sync_reminders
from som_flow.services.unit_of_work import now, service

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 200


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    """The form every lookup (and the login throttle) uses: surrounding spaces dropped, lower case."""
    return email.strip().lower()


def check_password(password: str, email: str) -> str:
    """The password policy, for every path that sets one. Raises ValidationFailed naming `password`."""
    problem = None
    if not password.strip():
        problem = "A password cannot be only spaces."
    elif len(password.strip()) < MIN_PASSWORD_LENGTH:
        problem = f"Use at least {MIN_PASSWORD_LENGTH} characters."
    elif len(password) > MAX_PASSWORD_LENGTH:
        problem = f"Use at most {MAX_PASSWORD_LENGTH} characters."
    elif normalise_email(password) == normalise_email(email):
        problem = "A password cannot be the e-mail address."
    if problem:
        raise ValidationFailed(gettext("The password is too weak: %(problem)s", problem=problem),
                               {"password": [problem]})
    return password


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(gettext("Unknown timezone %(name)s", name=repr(name)),
                               {"timezone": [gettext("Unknown timezone.")]})
    return name


def _hashed(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


@service
def create_user(
    email: str, name: str, roles: list[str], *, password: str | None = None, timezone: str = "UTC",
    manager_id: int | None = None,
) -> User:
    """Make a user (reporting to `manager_id`, if given). Raises ValidationFailed for a bad role/timezone/duplicate
    e-mail/unknown manager."""
    email = normalise_email(email)
    bad = [r for r in roles if r not in ROLES]
    if bad or not roles:
        raise ValidationFailed(gettext("Unknown or missing role"), {"roles": [gettext("Choose from %(items)s.",
                                                                                      items=', '.join(ROLES))]})
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise ValidationFailed(gettext("A user with e-mail %(email)s exists", email=email),
                               {"email": [gettext("Already taken.")]})
    user = User(email=email, name=name or email, timezone=check_timezone(timezone),
                manager_id=check_manager(manager_id))
    user.roles = roles
    if password is not None:  # None: no password (API tokens only); anything given must pass the policy
        user.password_hash = _hashed(check_password(password, email))
    db.session.add(user)
    db.session.flush()
    return user


def check_manager(manager_id: int | None, user_id: int | None = None) -> int | None:
    """`manager_id` when it names another user (a team on the board is who reports to whom); ValidationFailed
    naming `manager_id` otherwise."""
    if manager_id is None:
        return None
    manager = db.session.get(User, manager_id)
    if manager_id == user_id or manager is None:
        raise ValidationFailed(gettext("Unknown manager"),
                               {"manager_id": [gettext("Choose another user this one reports to.")]})
    # up the chain from the new manager: meeting this user there would make a circle, where a team has no head
    above, seen = manager, set()
    while user_id is not None and above is not None and above.id not in seen:
        if above.manager_id == user_id:
            raise ValidationFailed(
                gettext("%(name)s already reports to this user, directly or through others.", name=manager.name),
                {"manager_id": [gettext("Choose another user this one reports to.")]})
        seen.add(above.id)
        above = db.session.get(User, above.manager_id) if above.manager_id is not None else None
    return manager_id


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(gettext("No user %(user_id)s", user_id=user_id))
    return user


def find_user_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))
    if user is None:
        raise NotFound(gettext("No user with e-mail %(email)s", email=email))
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.name)))


def list_active_users() -> list[User]:
    """People who can sign in, by name (pickers: attendees, a contact's owner)."""
    return list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.name)))


def list_reps() -> list[User]:
    """Active people a deal can be assigned to: reps and managers, by name."""
    return [u for u in list_active_users() if u.has_role("rep", "manager")]


def user_name(user_id: int | None) -> str | None:
    """The name of user `user_id`, None for none or an unknown id."""
    user = db.session.get(User, user_id) if user_id else None
    return user.name if user else None


@service
def create_token(email: str, name: str = "cli") -> str:
    """Return a new API token for the user; only its hash is stored."""
    user = find_user_by_email(email)
    token = secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_hash=_token_hash(token), name=name, created_at=now()))
    return token


@cache
def _user_for_token_statement():
    # built once a process, as its compiled form and SQLAlchemy's key for it are kept with it
    return select(User).join(ApiToken, ApiToken.user_id == User.id).where(ApiToken.token_hash == bindparam("hash"))


def user_for_token(token: str) -> User | None:
    # the user read with its token in one statement: every API request asks this first
    user = db.session.scalar(_user_for_token_statement(), {"hash": _token_hash(token)})
    return user if user is not None and user.active else None


def user_for_password(email: str, password: str) -> User | None:
    user = db.session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))
    if user is None or not user.active or not user.password_hash:
        return None
    return user if check_password_hash(user.password_hash, password) else None


@service
def set_password(user_id: int, password: str) -> None:
    """Change a password and end every page session of the user. Raises ValidationFailed, NotFound."""
    user = get_user(user_id)
    user.password_hash = _hashed(check_password(password, user.email))
    _end_sessions_of(user.id)


# page sessions -------------------------------------------------------------------------------------
# The Flask session cookie is signed, not revocable: it carries a secret whose hash must still be a row
# here, so logout, a password change or deactivation ends it even if someone kept a copy of the cookie.
def _session_lifetime() -> timedelta:
    return current_app.config["PERMANENT_SESSION_LIFETIME"]


@service
def start_session(user: User, *, replacing: str | None = None) -> str:
    """Record a new page session for `user` and return its secret (for the session cookie only); the
    browser's previous session (`replacing`) and sessions past their lifetime end."""
    at = now()
    db.session.execute(delete(UserSession).where(UserSession.created_at < at - _session_lifetime()))
    end_session(replacing)
    secret = secrets.token_urlsafe(32)
    db.session.add(UserSession(user_id=user.id, token_hash=_token_hash(secret), created_at=at))
    return secret


def user_for_session(user_id: int, secret: str | None) -> User | None:
    """The active user whose session `secret` still has an unexpired row, else None."""
    if not secret:
        return None
    # the user read with its session row in one statement: every page request asks this first
    user = db.session.scalar(_user_for_session_statement(), {"hash": _token_hash(secret), "user_id": user_id,
                                                             "since": now() - _session_lifetime()})
    return user if user is not None and user.active else None


@cache
def _user_for_session_statement():
    return (select(User).join(UserSession, UserSession.user_id == User.id)
            .where(UserSession.token_hash == bindparam("hash"), UserSession.user_id == bindparam("user_id"),
                   UserSession.created_at >= bindparam("since")))


@service
def end_session(secret: str | None) -> None:
    """Log out: the session's row goes, so a copy of its cookie no longer signs anyone in."""
    if secret:
        db.session.execute(delete(UserSession).where(UserSession.token_hash == _token_hash(secret)))


def _end_sessions_of(user_id: int) -> None:
    db.session.execute(delete(UserSession).where(UserSession.user_id == user_id))


def _resync_reminders_of(user: User) -> None:
    """Follow-up and close-date reminders fire at a local hour: move them with the rep's new timezone."""
    for opp in db.session.scalars(select(Opportunity).where(Opportunity.sales_rep_id == user.id,
                                                            Opportunity.closed.is_(False))):
        sync_reminders(opp)


@service
def set_language(user_id: int, language: str | None) -> User:
    """A person's own language for pages, flash messages and the mail they get ("en", "nb"; None: as their
    browser asks, else the site's). Raises ValidationFailed naming `locale`, NotFound."""
    if language is not None and language not in LANGUAGES:
        choices = ", ".join(f"{key} ({name})" for key, name in LANGUAGE_NAMES.items())
        raise ValidationFailed(gettext("Choose a language som_flow speaks: %(choices)s.", choices=choices),
                               {"locale": [gettext("Choose one of: %(choices)s.", choices=choices)]})
    user = get_user(user_id)
    user.locale = language
    return user


@service
def update_user(user_id: int, **fields) -> User:
    """Change a user's fields; a new `password` or `active=False` ends their page sessions.
    Raises ValidationFailed (policy, timezone), NotFound."""
    user = get_user(user_id)
    if "password" in fields:
        user.password_hash = _hashed(check_password(fields.pop("password"), user.email))
        _end_sessions_of(user.id)
    if fields.get("active") is False:
        _end_sessions_of(user.id)
    if "timezone" in fields:
        old_timezone, user.timezone = user.timezone, check_timezone(fields.pop("timezone"))
        if user.timezone != old_timezone:
            _resync_reminders_of(user)
    if "roles" in fields:
        user.roles = fields.pop("roles")
    if "manager_id" in fields:
        user.manager_id = check_manager(fields.pop("manager_id"), user.id)
    for key, value in fields.items():
        setattr(user, key, value)
    return user
