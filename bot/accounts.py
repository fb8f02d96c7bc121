"""Accounts on a new installation, and adding people from the command line.

A fresh database has nobody who could sign in, so the launcher creates one administrator with
a random password and writes it to `<var>/first-admin.txt` (readable by the owner only). The
administrator adds everyone else: `python -m bot users add`, or the HR roster import.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Optional

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot import db

FIRST_ADMIN_EMAIL = "admin@coach.local"
FIRST_ADMIN_FILE = "first-admin.txt"


def new_password() -> str:
    return secrets.token_urlsafe(12)


def ensure_first_admin(engine: Engine, var_dir: Path) -> Optional[Path]:
    """Create the first administrator if the database has no users; return the file with its password."""
    with db.session_scope(engine) as session:
        if session.execute(select(func.count()).select_from(db.User)).scalar_one():
            path = var_dir / FIRST_ADMIN_FILE
            return path if path.exists() else None
        password = new_password()
        db.create_user(
            session=session, email=FIRST_ADMIN_EMAIL, name="Administrator", password=password, role="admin"
        )
        var_dir.mkdir(parents=True, exist_ok=True)
        path = var_dir / FIRST_ADMIN_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(
                f"e-mail:   {FIRST_ADMIN_EMAIL}\npassword: {password}\n"
                "Sign in with these, then add people (python -m bot users add, or the HR roster import).\n"
            )
    return path


def add_user(
    engine: Engine, *, email: str, name: str, role: str, team: Optional[str] = None, password: Optional[str] = None
) -> str:
    """Create a user; return the password (the one given, or a new random one)."""
    password = password or new_password()
    with db.session_scope(engine) as session:
        db.create_user(session=session, email=email, name=name, password=password, role=role, team=team)
    return password
