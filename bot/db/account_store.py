"""Accounts over time: roles, passwords, deactivation and the session version that ends sessions.

Every signed-in cookie carries the user's `session_version` from when it was issued; the web app
compares it on every request. Signing out, changing or resetting the password and deactivating
the account bump it, so copies of old cookies stop working everywhere at once.
"""
from __future__ import annotations

from typing import Iterable, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from bot.db.errors import NotFound
from bot.db.models import ROLES, PracticeSession, User, utcnow
from bot.db.users import PASSWORD_HASH_METHOD
from bot.errors import CoachError

# Which of several roles decides where someone lands after signing in (`User.role`).
PRIMARY_ORDER = ("admin", "trainer", "hr", "trainee")


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id!r}.")
    return user


def bump_session_version(*, session: Session, user_id: int) -> int:
    """End every session of this user; return the new version."""
    user = _user(session, user_id)
    user.session_version = (user.session_version or 0) + 1
    session.flush()
    return user.session_version


def change_password(*, session: Session, user_id: int, password: str) -> User:
    """Set a new password (the caller checked bot.passwords) and end the user's other sessions."""
    if not password:
        raise CoachError("A password is required.")
    user = _user(session, user_id)
    user.password_hash = generate_password_hash(password, method=PASSWORD_HASH_METHOD)
    user.password_changed_at = utcnow()
    user.session_version = (user.session_version or 0) + 1
    session.flush()
    return user


def normalise_roles(roles: Iterable[str]) -> List[str]:
    """The roles as a sorted list of known ones; CoachError for an unknown one or none at all."""
    chosen = {r.strip() for r in roles if r and r.strip()}
    unknown = sorted(chosen - set(ROLES))
    if unknown:
        raise CoachError(f"Unknown role(s): {', '.join(unknown)}. Roles are {', '.join(ROLES)}.")
    if not chosen:
        raise CoachError("Choose at least one role.")
    if "admin" in chosen:
        chosen = {"admin"}  # admins pass every role check; more would only confuse the list
    elif len(chosen) > 1:
        chosen.discard("trainee")  # everyone signed in may practise
    return sorted(chosen, key=PRIMARY_ORDER.index)


def set_roles(*, session: Session, user_id: int, roles: Iterable[str]) -> User:
    """Give the user exactly these roles; `role` becomes the first in PRIMARY_ORDER."""
    chosen = normalise_roles(roles)
    user = _user(session, user_id)
    user.role, user.extra_roles = chosen[0], " ".join(chosen[1:])
    session.flush()
    return user


def set_active(*, session: Session, user_id: int, active: bool) -> User:
    user = _user(session, user_id)
    if user.active and not active:
        user.session_version = (user.session_version or 0) + 1
    user.active = active
    session.flush()
    return user


def list_users(*, session: Session) -> List[User]:
    return list(session.execute(select(User).order_by(User.active.desc(), User.email)).scalars())


def running_conversation(*, session: Session, user_id: int) -> Optional[str]:
    """The Rasa sender id of the user's newest practice session that has not ended, if any."""
    return session.execute(
        select(PracticeSession.sender_id)
        .where(PracticeSession.user_id == user_id, PracticeSession.ended_at.is_(None))
        .order_by(PracticeSession.started_at.desc())
        .limit(1)
    ).scalar_one_or_none()
