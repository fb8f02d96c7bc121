"""Accounts: creating people, finding them by id or e-mail, checking a password, setting a role.

Addresses are stored trimmed and lower-cased (`normalise_email`), so looking one up ignores
case. What changes an account over time (several roles, password changes that end sessions,
deactivation) is in `bot/db/account_store.py`.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.db.errors import get_or_raise
from bot.db.models import ROLES, User
from bot.errors import CoachError

# werkzeug's default: memory-hard and slow on purpose (a quarter of a second on a laptop).
PASSWORD_HASH_METHOD = "scrypt"


class DuplicateEmail(CoachError):
    code = "duplicate_email"


def normalise_email(email: str) -> str:
    """E-mail addresses are stored and looked up trimmed and lower-cased."""
    return email.strip().lower()


def _require_role(role: str) -> str:
    if role not in ROLES:
        raise CoachError(f"Unknown role {role!r}: choose one of {', '.join(ROLES)}.")
    return role


def create_user(
    *,
    session: Session,
    email: str,
    name: str,
    password: str,
    role: str = "trainee",
    team: Optional[str] = None,
    active: bool = True,
) -> User:
    email = normalise_email(email)
    if "@" not in email:
        raise CoachError(f"{email!r} is not an e-mail address.")
    if not password:
        raise CoachError("A password is required.")
    if get_user_by_email(session=session, email=email) is not None:
        raise DuplicateEmail(f"A user with the e-mail address {email} already exists.")
    user = User(
        email=email,
        name=name.strip(),
        team=team,
        role=_require_role(role),
        password_hash=generate_password_hash(password, method=PASSWORD_HASH_METHOD),
        active=active,
    )
    session.add(user)
    session.flush()
    return user


def get_user(*, session: Session, user_id: int) -> Optional[User]:
    return session.get(User, user_id)


def get_user_by_email(*, session: Session, email: str) -> Optional[User]:
    return session.execute(select(User).where(User.email == normalise_email(email))).scalar_one_or_none()


@lru_cache(maxsize=None)
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not anyone's password", method=method)


def authenticate(*, session: Session, email: str, password: str) -> Optional[User]:
    """The active user with this e-mail and password, else None.

    An unknown address costs the same hash check as a wrong password, so response times do
    not tell which addresses exist.
    """
    user = get_user_by_email(session=session, email=email)
    if user is None:
        check_password_hash(_dummy_hash(PASSWORD_HASH_METHOD), password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    return user


def set_password(*, session: Session, user_id: int, password: str) -> User:
    if not password:
        raise CoachError("A password is required.")
    user = get_or_raise(session, User, user_id, "user")
    user.password_hash = generate_password_hash(password, method=PASSWORD_HASH_METHOD)
    session.flush()
    return user


def set_role(*, session: Session, user_id: int, role: str) -> User:
    user = get_or_raise(session, User, user_id, "user")
    user.role = _require_role(role)
    session.flush()
    return user
