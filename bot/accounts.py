"""Accounts on a new installation, and adding people from the command line.

A fresh database has nobody who could sign in, so the launcher creates one administrator with
a random password and writes it to `<var>/first-admin.txt` (readable by the owner only). The
administrator adds everyone else: `python -m bot users add`, or the HR roster import.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot import db
from bot.db import account_store, audit
from bot.private_files import private_dir
from bot.passwords import generate_password

FIRST_ADMIN_EMAIL = "admin@coach.local"
FIRST_ADMIN_FILE = "first-admin.txt"


def new_password() -> str:
    # Never token_urlsafe: one in 64 of those starts with "-", which a spreadsheet reads as a
    # formula (issue 16, finding 7). bot.passwords uses letters and digits only.
    return generate_password()


def ensure_first_admin(engine: Engine, var_dir: Path) -> Optional[Path]:
    """Make sure someone can administer: create the first administrator when there is no active one.

    Asks for an active administrator, not for any user at all: people added from the shell while
    the launcher starts (issue 16, finding 8) must not leave an installation nobody can run.
    Returns the file with the first administrator's password, when there is one.
    """
    path = var_dir / FIRST_ADMIN_FILE
    with db.session_scope(engine) as session:
        admins = session.execute(
            select(func.count()).select_from(db.User).where(db.User.role == "admin", db.User.active.is_(True))
        ).scalar_one()
        if admins:
            return path if path.exists() else None
        password = new_password()
        user = db.get_user_by_email(session=session, email=FIRST_ADMIN_EMAIL)
        if user is None:
            user = db.create_user(
                session=session, email=FIRST_ADMIN_EMAIL, name="Administrator", password=password, role="admin"
            )
        else:  # the address exists without the role (or deactivated): make it the administrator again
            account_store.set_roles(session=session, user_id=user.id, roles=["admin"])
            account_store.set_active(session=session, user_id=user.id, active=True)
            account_store.change_password(session=session, user_id=user.id, password=password)
        audit.record(session=session, action="user_added", subject=("user", user.id),
                     after={"email": FIRST_ADMIN_EMAIL, "roles": ["admin"], "by": "launcher"})
        private_dir(var_dir)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(
                f"e-mail:   {FIRST_ADMIN_EMAIL}\npassword: {password}\n"
                "Sign in with these, then add people (python -m bot users add, or the HR roster import).\n"
            )
        os.chmod(path, 0o600)
    return path


def add_user(
    engine: Engine,
    *,
    email: str,
    name: str,
    role: str,
    team: Optional[str] = None,
    password: Optional[str] = None,
    roles: Optional[List[str]] = None,
) -> str:
    """Create a user (with `roles` when several); return the password (the one given, or a new one)."""
    password = password or new_password()
    with db.session_scope(engine) as session:
        user = db.create_user(session=session, email=email, name=name, password=password, role=role, team=team)
        if roles:
            account_store.set_roles(session=session, user_id=user.id, roles=roles)
        audit.record(session=session, action="user_added", subject=("user", user.id),
                     after={"email": user.email, "roles": sorted(user.roles), "by": "command line"})
    return password
