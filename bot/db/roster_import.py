"""Importing HR's roster: people from a CSV (name, email, team, start date), created or updated.

Every bad row is reported by its line and the good ones import; a new person becomes a trainee
with a generated password shown once, and the roster entry keeps their start date.
"""
from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass, field
from datetime import date
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import EMAIL_MAX, RosterEntry, User, utcnow
from bot.db.training import TrainingError, parse_date
from bot.db.users import create_user, normalise_email

ROSTER_COLUMNS = ("name", "email", "team", "start date")
# A roster is a team list, not a data dump: this bounds the time spent hashing passwords.
MAX_ROSTER_ROWS = 2000
MAX_NAME = 200
MAX_TEAM = 100
# No 0/O or 1/l/I: people copy these from a screen or a printout.
PASSWORD_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
PASSWORD_LENGTH = 14


def generate_password() -> str:
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


@dataclass(frozen=True)
class RowProblem:
    line: int
    reason: str


@dataclass(frozen=True)
class NewAccount:
    line: int
    user_id: int
    name: str
    email: str
    team: Optional[str]
    # Only in memory, for the page that shows it once; the database keeps the hash.
    password: str


@dataclass(frozen=True)
class UpdatedAccount:
    line: int
    user_id: int
    name: str
    email: str
    team: Optional[str]


@dataclass
class RosterImport:
    created: List[NewAccount] = field(default_factory=list)
    updated: List[UpdatedAccount] = field(default_factory=list)
    problems: List[RowProblem] = field(default_factory=list)


def _header_key(text: str) -> str:
    return " ".join(text.replace("_", " ").replace("-", " ").strip().lower().split())


def _looks_like_email(email: str) -> bool:
    local, at, domain = email.partition("@")
    return bool(at and local and "." in domain and " " not in email and not domain.startswith("."))


def import_roster(*, session: Session, data: bytes) -> RosterImport:
    """Create or update people from a CSV roster (columns: name, email, team, start date).

    A file that cannot be read as a roster (not UTF-8, not CSV, columns missing) raises
    TrainingError and imports nothing. Otherwise every bad row is reported by its line number
    (the header is line 1) with the reason, and every good row is imported: a new e-mail
    address becomes a trainee with a generated password, a known one gets the new name, team
    and start date (its role and password stay as they were).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrainingError(
            f"The file is not UTF-8 text (byte {exc.start + 1} cannot be read). "
            "Save the roster as 'CSV UTF-8' and upload it again."
        ) from None
    if not text.strip():
        raise TrainingError("The file is empty. Upload a CSV with the columns: name, email, team, start date.")
    if "\x00" in text:
        raise TrainingError("The file is not a CSV text file. Upload a CSV with the columns: name, email, team, start date.")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise TrainingError(f"The file is not valid CSV (line {reader.line_num}: {exc}). Nothing was imported.") from None
    keys = [_header_key(cell) for cell in header]
    missing = [name for name in ROSTER_COLUMNS if name not in keys]
    if missing:
        found = ", ".join(cell.strip() for cell in header if cell.strip()) or "none"
        raise TrainingError(
            f"The first line must name the columns name, email, team, start date; missing: "
            f"{', '.join(missing)} (found: {found}). Nothing was imported."
        )
    if len(rows) > MAX_ROSTER_ROWS:
        raise TrainingError(f"The file has {len(rows)} rows; import at most {MAX_ROSTER_ROWS} at a time. Nothing was imported.")
    where = {name: keys.index(name) for name in ROSTER_COLUMNS}
    result = RosterImport()
    seen: Dict[str, int] = {}
    for line, row in rows:
        if not any(cell.strip() for cell in row):
            continue  # blank lines are layout, not people
        try:
            entry = _roster_row(row, where, seen, line)
        except TrainingError as exc:
            result.problems.append(RowProblem(line=line, reason=str(exc)))
            continue
        name, email, team, start = entry
        seen[email] = line
        user = session.execute(select(User).where(User.email == email)).scalar_one_or_none()
        if user is None:
            password = generate_password()
            user = create_user(session=session, email=email, name=name, password=password, role="trainee", team=team)
            result.created.append(NewAccount(line, user.id, user.name, user.email, user.team, password))
        else:
            user.name = name
            user.team = team
            result.updated.append(UpdatedAccount(line, user.id, user.name, user.email, user.team))
        profile = session.get(RosterEntry, user.id)
        if profile is None:
            session.add(RosterEntry(user_id=user.id, start_date=start))
        else:
            profile.start_date = start
            profile.imported_at = utcnow()
        session.flush()
    return result


def _roster_row(
    row: Sequence[str], where: Mapping[str, int], seen: Mapping[str, int], line: int
) -> Tuple[str, str, Optional[str], Optional[date]]:
    width = max(where.values()) + 1
    if len(row) < width:
        raise TrainingError(f"has {len(row)} cells, expected {width} (name, email, team, start date)")
    name = " ".join(row[where["name"]].split())
    email = normalise_email(row[where["email"]])
    team = " ".join(row[where["team"]].split()) or None
    if not name:
        raise TrainingError("the name is empty")
    if len(name) > MAX_NAME:
        raise TrainingError(f"the name is longer than {MAX_NAME} characters")
    if not email:
        raise TrainingError("the e-mail address is empty")
    if not _looks_like_email(email) or len(email) > EMAIL_MAX:
        raise TrainingError(f"{email!r} is not an e-mail address")
    if email in seen:
        raise TrainingError(f"{email} is already on line {seen[email]} of this file")
    if team is not None and len(team) > MAX_TEAM:
        raise TrainingError(f"the team is longer than {MAX_TEAM} characters")
    start = parse_date(row[where["start date"]], what="the start date")
    if start is None:
        raise TrainingError("the start date is empty: write it as YYYY-MM-DD")
    return name, email, team, start


def roster_entry(*, session: Session, user_id: int) -> Optional[RosterEntry]:
    return session.get(RosterEntry, user_id)
