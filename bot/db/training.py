"""Training completion: curricula of required scenarios, who they are assigned to, sign-offs.

A curriculum is a named list of required scenarios (scenario, persona, mode, pass mark, due
date). It is assigned to a trainee directly or to a team (users.team); a trainee's
requirements are those of every curriculum assigned to them either way.

Status of one trainee and one requirement (see `requirement_status`):
- An *attempt* is an ended practice session of that trainee with the requirement's scenario,
  persona and mode, started on or after the day the curriculum was assigned to them. Its score
  is the session's current scorecard's score (trainer-adjusted where a trainer overruled).
- ``passed``: the best attempt score is at least the requirement's pass mark (the curriculum's,
  not the rubric's). Passed stays passed, even when the pass came after the due date.
- ``overdue``: not passed and the due date is in the past (today is after the due date); it
  replaces the three statuses below, whatever the attempts were.
- ``did_not_pass``: at least one attempt, none reaching the pass mark (an ended session that
  was never scored counts as an attempt without a score).
- ``in_progress``: no ended attempt yet, but a session of that trainee with that scenario,
  persona and mode has been started and is still running.
- ``not_started``: none of the above.

A pass is *certified* only once a trainer (or admin) has signed off one of the passing
attempts (`SignOff`): a person decides, not the score alone.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.db.attempt_rules import since_assignment
from bot.db.errors import NotAllowed, NotFound
from bot.db.models import (
    DEFAULT_MODE,
    EMAIL_MAX,
    MODES,
    REVIEWER_ROLES,
    Curriculum,
    CurriculumAssignment,
    CurriculumItem,
    PracticeSession,
    RosterEntry,
    Scorecard,
    SignOff,
    User,
    utcnow,
)
from bot.db.users import create_user, normalise_email
from bot.errors import CoachError

STATUSES = ("not_started", "in_progress", "overdue", "did_not_pass", "passed")
STATUS_LABELS = {
    "not_started": "Not started",
    "in_progress": "In progress",
    "overdue": "Overdue",
    "did_not_pass": "Did not pass",
    "passed": "Passed",
}


class TrainingError(CoachError):
    code = "bad_training_input"


# --- what a trainee has to do ---------------------------------------------------------------


@dataclass(frozen=True)
class AssignedScenario:
    """One required scenario of one trainee, through one curriculum."""

    item_id: int
    curriculum_id: int
    curriculum: str
    scenario: str
    persona: str
    mode: str
    pass_mark: int
    due_date: Optional[date]
    # When the curriculum first reached the trainee (directly or through the team): only
    # attempts started on that day or later count (bot/db/attempt_rules.py).
    assigned_at: Optional[datetime] = None

    @classmethod
    def of(cls, item: "CurriculumItem", curriculum: str, assigned_at: Optional[datetime] = None) -> "AssignedScenario":
        return cls(
            item_id=item.id, curriculum_id=item.curriculum_id, curriculum=curriculum, scenario=item.scenario,
            persona=item.persona, mode=item.mode, pass_mark=item.pass_mark, due_date=item.due_date,
            assigned_at=assigned_at,
        )


def assigned_scenarios(*, session: Session, user_id: int) -> List[AssignedScenario]:
    """The required scenarios assigned to this user directly or through their team.

    Ordered by due date (no deadline last), then curriculum and scenario; a requirement that
    reaches the user both ways is listed once.
    """
    user = session.get(User, user_id)
    if user is None:
        return []
    who = [CurriculumAssignment.user_id == user.id]
    if user.team:
        who.append(CurriculumAssignment.team == user.team)
    curriculum_ids = select(CurriculumAssignment.curriculum_id).where(or_(*who))
    rows = session.execute(
        select(CurriculumItem, Curriculum.name)
        .join(Curriculum, CurriculumItem.curriculum_id == Curriculum.id)
        .where(CurriculumItem.curriculum_id.in_(curriculum_ids))
    ).all()
    result = [
        AssignedScenario.of(item, name)
        for item, name in rows
    ]
    result.sort(key=lambda a: (a.due_date is None, a.due_date or date.min, a.curriculum, a.scenario, a.persona))
    return result


# --- roster import ---------------------------------------------------------------------------

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


def parse_date(text: str, *, what: str = "date") -> Optional[date]:
    """An ISO date (YYYY-MM-DD), None for blank, TrainingError for anything else."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise TrainingError(f"{what} {text!r} is not a date: write it as YYYY-MM-DD, e.g. 2026-12-31.") from None


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


# --- curricula and assignments ---------------------------------------------------------------


@dataclass(frozen=True)
class ItemSpec:
    """A required scenario as a form sends it: text, validated by `create_curriculum`."""

    scenario: str
    persona: str
    mode: str = DEFAULT_MODE
    pass_mark: str = ""
    due_date: str = ""
    # The form row it came from (0-based), so a problem can mark the right field.
    row: Optional[int] = None


class CurriculumInvalid(TrainingError):
    """Every problem with a curriculum at once, so a form can show them all.

    `fields` maps the form field in error ("name", "item-<row>-<key>", row from 0) to its message.
    """

    def __init__(self, problems: List[str], fields: Optional[Dict[str, str]] = None):
        super().__init__(" ".join(problems))
        self.problems = problems
        self.fields = fields or {}


def list_curricula(*, session: Session) -> List[Curriculum]:
    return list(session.execute(select(Curriculum).order_by(Curriculum.name)).scalars())


def get_curriculum(*, session: Session, curriculum_id: int) -> Optional[Curriculum]:
    return session.get(Curriculum, curriculum_id)


def assign_curriculum(
    *,
    session: Session,
    curriculum_id: int,
    user_id: Optional[int] = None,
    team: Optional[str] = None,
    assigned_by_id: Optional[int] = None,
) -> CurriculumAssignment:
    """Assign to one user or to one team (exactly one of them); assigning twice changes nothing."""
    team = " ".join(team.split()) if team else None
    if (user_id is None) == (team is None):
        raise TrainingError("Assign the curriculum to one trainee or to one team.")
    if session.get(Curriculum, curriculum_id) is None:
        raise NotFound(f"No curriculum {curriculum_id!r}.")
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None:
            raise NotFound(f"No user {user_id!r}.")
        where = CurriculumAssignment.user_id == user_id
    else:
        where = CurriculumAssignment.team == team
    existing = session.execute(
        select(CurriculumAssignment).where(CurriculumAssignment.curriculum_id == curriculum_id, where)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    assignment = CurriculumAssignment(
        curriculum_id=curriculum_id, user_id=user_id, team=team, assigned_by_id=assigned_by_id
    )
    session.add(assignment)
    session.flush()
    return assignment


def unassign(*, session: Session, assignment_id: int) -> None:
    assignment = session.get(CurriculumAssignment, assignment_id)
    if assignment is None:
        raise NotFound(f"No assignment {assignment_id!r}.")
    session.delete(assignment)
    session.flush()


def assignments_of(*, session: Session, curriculum_id: int) -> List[CurriculumAssignment]:
    return list(
        session.execute(
            select(CurriculumAssignment)
            .where(CurriculumAssignment.curriculum_id == curriculum_id)
            .order_by(CurriculumAssignment.team, CurriculumAssignment.id)
        ).scalars()
    )


def list_teams(*, session: Session) -> List[str]:
    rows = session.execute(select(User.team).where(User.team.is_not(None)).distinct().order_by(User.team))
    return [team for (team,) in rows]


def list_trainees(*, session: Session, team: Optional[str] = None) -> List[User]:
    """Active trainees, and anyone else a curriculum is assigned to directly, by name."""
    direct = select(CurriculumAssignment.user_id).where(CurriculumAssignment.user_id.is_not(None))
    query = select(User).where(User.active.is_(True), or_(User.role == "trainee", User.id.in_(direct)))
    if team:
        query = query.where(User.team == team)
    return list(session.execute(query.order_by(User.name, User.email)).scalars())


# --- status ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    session_id: str
    started_at: datetime
    ended_at: Optional[datetime]
    # The current scorecard's score; None when the session was never scored.
    score: Optional[int]
    criteria: Mapping[str, Any]
    outcome: Optional[str]
    sign_off: Optional[SignOff]

    @property
    def ended(self) -> bool:
        return self.ended_at is not None


@dataclass(frozen=True)
class RequirementStatus:
    """One trainee's standing on one required scenario (see the module docstring)."""

    user: User
    requirement: AssignedScenario
    status: str
    # Ended sessions only, newest first; `unfinished` holds the sessions still running.
    attempts: List[Attempt]
    unfinished: List[Attempt]
    best_score: Optional[int]
    best_session_id: Optional[str]
    # The sign-off that certifies the pass, if a trainer has given one.
    sign_off: Optional[SignOff]

    @property
    def running(self) -> int:
        return len(self.unfinished)

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def attempt_count(self) -> int:
        return len(self.attempts)

    @property
    def certified(self) -> bool:
        return self.sign_off is not None

    def passes(self, attempt: Attempt) -> bool:
        return attempt.score is not None and attempt.score >= self.requirement.pass_mark

    @property
    def awaiting_sign_off(self) -> bool:
        return self.status == "passed" and self.sign_off is None


def requirement_status(
    requirement: AssignedScenario, attempts: Sequence[Attempt], running: int, today: date
) -> Tuple[str, Optional[Attempt]]:
    """The status and the best attempt; the rules are in the module docstring."""
    scored = [a for a in attempts if a.score is not None]
    best = max(scored, key=lambda a: (a.score, -a.started_at.timestamp())) if scored else None
    if best is not None and best.score >= requirement.pass_mark:
        return "passed", best
    if requirement.due_date is not None and today > requirement.due_date:
        return "overdue", best
    if attempts:
        return "did_not_pass", best
    if running:
        return "in_progress", best
    return "not_started", best


def today_utc() -> date:
    return datetime.now(timezone.utc).date()


def _requirements_for_users(session: Session, users: Sequence[User]) -> Dict[int, List[AssignedScenario]]:
    ids = [u.id for u in users]
    teams = sorted({u.team for u in users if u.team})
    if not ids:
        return {}
    conditions = [CurriculumAssignment.user_id.in_(ids)]
    if teams:
        conditions.append(CurriculumAssignment.team.in_(teams))
    assignments = session.execute(select(CurriculumAssignment).where(or_(*conditions))).scalars().all()
    curriculum_ids = {a.curriculum_id for a in assignments}
    items_by_curriculum: Dict[int, List[AssignedScenario]] = {}
    if curriculum_ids:
        for item, name in session.execute(
            select(CurriculumItem, Curriculum.name)
            .join(Curriculum, CurriculumItem.curriculum_id == Curriculum.id)
            .where(CurriculumItem.curriculum_id.in_(curriculum_ids))
        ):
            items_by_curriculum.setdefault(item.curriculum_id, []).append(AssignedScenario.of(item, name))
    result: Dict[int, List[AssignedScenario]] = {}
    for user in users:
        mine: Dict[int, datetime] = {}
        for a in assignments:
            if a.user_id == user.id or (a.team is not None and a.team == user.team):
                mine[a.curriculum_id] = min(mine.get(a.curriculum_id, a.created_at), a.created_at)
        found = [
            dataclasses.replace(item, assigned_at=mine[cid]) for cid in mine for item in items_by_curriculum.get(cid, [])
        ]
        found.sort(key=lambda a: (a.due_date is None, a.due_date or date.min, a.curriculum, a.scenario, a.persona))
        result[user.id] = found
    return result


def _attempts_for_users(
    session: Session, user_ids: Sequence[int]
) -> Dict[Tuple[int, str, str, str], Tuple[List[Attempt], List[Attempt]]]:
    if not user_ids:
        return {}
    rows = session.execute(
        select(PracticeSession, Scorecard)
        .outerjoin(
            Scorecard,
            (Scorecard.session_id == PracticeSession.id) & Scorecard.is_current.is_(True),
        )
        .where(PracticeSession.user_id.in_(user_ids))
        .order_by(PracticeSession.started_at.desc())
    ).all()
    session_ids = [s.id for s, _ in rows]
    sign_offs = {
        so.session_id: so
        for so in session.execute(select(SignOff).where(SignOff.session_id.in_(session_ids))).scalars()
    } if session_ids else {}
    grouped: Dict[Tuple[int, str, str, str], Tuple[List[Attempt], List[Attempt]]] = {}
    for practice, card in rows:
        key = (practice.user_id, practice.scenario, practice.persona, practice.mode)
        attempts, unfinished = grouped.setdefault(key, ([], []))
        attempt = Attempt(
            session_id=practice.id,
            started_at=practice.started_at,
            ended_at=practice.ended_at,
            score=card.score if card is not None else None,
            criteria=(card.criteria or {}) if card is not None else {},
            outcome=practice.outcome,
            sign_off=sign_offs.get(practice.id),
        )
        (attempts if practice.ended_at is not None else unfinished).append(attempt)
    return grouped


def progress_of(
    *, session: Session, users: Sequence[User], today: Optional[date] = None
) -> Dict[int, List[RequirementStatus]]:
    """Every requirement of every one of `users`, with its status, keyed by user id."""
    today = today or today_utc()
    requirements = _requirements_for_users(session, users)
    attempts = _attempts_for_users(session, [u.id for u in users])
    result: Dict[int, List[RequirementStatus]] = {}
    for user in users:
        rows = []
        for req in requirements.get(user.id, []):
            tried, unfinished = attempts.get((user.id, req.scenario, req.persona, req.mode), ([], []))
            tried, unfinished = since_assignment(req, tried), since_assignment(req, unfinished)
            status, best = requirement_status(req, tried, len(unfinished), today)
            certifying = [a.sign_off for a in tried if a.sign_off is not None and a.score is not None and a.score >= req.pass_mark]
            rows.append(
                RequirementStatus(
                    user=user,
                    requirement=req,
                    status=status,
                    attempts=list(tried),
                    unfinished=list(unfinished),
                    best_score=best.score if best is not None else None,
                    best_session_id=best.session_id if best is not None else None,
                    sign_off=certifying[-1] if certifying else None,
                )
            )
        result[user.id] = rows
    return result


def trainee_progress(*, session: Session, user_id: int, today: Optional[date] = None) -> List[RequirementStatus]:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id!r}.")
    return progress_of(session=session, users=[user], today=today)[user.id]


@dataclass
class Overview:
    team: Optional[str]
    counts: Dict[str, int]
    certified: int
    trainees: List[Tuple[User, Dict[str, int]]]
    # Counts per status for each team (None: people without a team), teams by name.
    teams: List[Tuple[Optional[str], Dict[str, int]]]
    overdue: List[RequirementStatus]
    awaiting_sign_off: List[RequirementStatus]
    rows: List[RequirementStatus]


def overview(*, session: Session, team: Optional[str] = None, today: Optional[date] = None) -> Overview:
    """Counts per status over every trainee's requirements (of one team, or everyone)."""
    users = list_trainees(session=session, team=team)
    progress = progress_of(session=session, users=users, today=today)
    counts = {status: 0 for status in STATUSES}
    trainees = []
    per_team: Dict[Optional[str], Dict[str, int]] = {}
    rows: List[RequirementStatus] = []
    for user in users:
        mine = {status: 0 for status in STATUSES}
        theirs = per_team.setdefault(user.team, {status: 0 for status in STATUSES})
        for row in progress[user.id]:
            counts[row.status] += 1
            mine[row.status] += 1
            theirs[row.status] += 1
            rows.append(row)
        trainees.append((user, mine))
    overdue = sorted(
        (r for r in rows if r.status == "overdue"),
        key=lambda r: (r.requirement.due_date or date.max, r.user.name),
    )
    return Overview(
        team=team,
        counts=counts,
        certified=sum(1 for r in rows if r.certified),
        trainees=trainees,
        teams=sorted(per_team.items(), key=lambda item: (item[0] is None, item[0] or "")),
        overdue=overdue,
        awaiting_sign_off=[r for r in rows if r.awaiting_sign_off],
        rows=rows,
    )


# --- sign-off --------------------------------------------------------------------------------


def sign_off(*, session: Session, session_id: str, signer_id: int, note: Optional[str] = None) -> SignOff:
    """A trainer's (or admin's) sign-off of one passing attempt, which certifies the pass.

    The attempt must be an ended, scored session of a trainee that reaches the pass mark of a
    scenario assigned to them; nobody signs off their own attempt; an attempt is signed once.
    """
    signer = session.get(User, signer_id)
    if signer is None or not signer.roles & set(REVIEWER_ROLES):
        raise NotAllowed("Only trainers and admins sign off a pass.")
    practice = session.get(PracticeSession, session_id)
    if practice is None:
        raise NotFound(f"No practice session {session_id!r}.")
    if practice.user_id is None:
        raise TrainingError("That session belongs to no trainee, so there is nothing to certify.")
    if practice.user_id == signer_id:
        raise NotAllowed("You cannot sign off your own attempt: another trainer has to.")
    existing = session.execute(select(SignOff).where(SignOff.session_id == session_id)).scalar_one_or_none()
    if existing is not None:
        raise TrainingError(
            f"That attempt was already signed off by {existing.signed_by.name} on {existing.created_at:%Y-%m-%d}."
        )
    rows = trainee_progress(session=session, user_id=practice.user_id)
    passing = [
        r for r in rows for a in r.attempts if a.session_id == session_id and r.passes(a)
    ]
    if not passing:
        raise TrainingError("That attempt does not reach the pass mark of a scenario assigned to the trainee.")
    note = (note or "").strip() or None
    signed = SignOff(session_id=session_id, signed_by_id=signer_id, note=note)
    session.add(signed)
    session.flush()
    return signed


def roster_entry(*, session: Session, user_id: int) -> Optional[RosterEntry]:
    return session.get(RosterEntry, user_id)


# Creating (and editing) a curriculum lives in its own module; these names stay here for callers.
from bot.db.curriculum_edits import create_curriculum, validate_curriculum  # noqa: E402,F401
