"""Training records storage (bot/db/: roster_import, assignments, curriculum_edits, progress,
certification) and its xAPI statements, on SQLite and PostgreSQL (the `storage_engine` fixture in
tests/conftest.py)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Dict, Optional

import pytest
from sqlalchemy.exc import IntegrityError

from bot import xapi
from bot.db import (
    NotAllowed,
    add_scorecard,
    authenticate,
    create_user,
    get_user_by_email,
    record_session_end,
    record_session_start,
    session_scope,
)
from bot.db import assignments, certification, curriculum_edits, progress, roster_import, training
from bot.db.curriculum_edits import ItemSpec
from bot.db.models import CurriculumAssignment
from bot.scenarios import PERSONAS, list_scenarios

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)
# Attempts count from the day of the assignment (bot/db/attempt_rules.py): these tests assign first.
ASSIGNED = T0 - timedelta(days=1)
LAPTOP = "laptop_at_home_service"
PARCEL = "parcel_marked_delivered"
SCENARIO_IDS = [s.id for s in list_scenarios()]


@pytest.fixture
def people(storage_engine, monkeypatch) -> Dict[str, int]:
    # scrypt costs a quarter of a second per password; these tests make many.
    monkeypatch.setattr("bot.db.users.PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    with session_scope(storage_engine) as s:
        users = {
            "tina": create_user(session=s, email="tina@example.org", name="Tina", password="pw", team="north"),
            "nick": create_user(session=s, email="nick@example.org", name="Nick", password="pw", team="north"),
            "sam": create_user(session=s, email="sam@example.org", name="Sam", password="pw", team="south"),
            "rita": create_user(session=s, email="rita@example.org", name="Rita", password="pw", role="trainer"),
            "hank": create_user(session=s, email="hank@example.org", name="Hank", password="pw", role="hr"),
        }
        s.flush()
        return {name: u.id for name, u in users.items()}


def make_curriculum(engine, name="Onboarding", items=None, by=None) -> int:
    items = items or [
        ItemSpec(scenario=LAPTOP, persona="angry", mode="assessment", pass_mark="70", due_date="2026-12-10"),
        ItemSpec(scenario=PARCEL, persona="dispassionate", mode="assessment", pass_mark="60", due_date=""),
    ]
    with session_scope(engine) as s:
        c = curriculum_edits.create_curriculum(
            session=s, name=name, items=items, scenario_ids=SCENARIO_IDS, personas=PERSONAS, created_by_id=by
        )
        return c.id


def attempt(engine, sid, user_id, *, score: Optional[int], ended=True, scenario=LAPTOP, persona="angry",
            mode="assessment", at=T0):
    with session_scope(engine) as s:
        record_session_start(session=s, session_id=sid, sender_id=f"sender-{sid}", scenario=scenario,
                             persona=persona, mode=mode, user_id=user_id, started_at=at)
        if ended:
            record_session_end(session=s, session_id=sid, outcome="resolved", ended_at=at + timedelta(minutes=5))
        if score is not None:
            add_scorecard(session=s, session_id=sid, score=score, passed=score >= 70, pass_mark=70,
                          criteria={"apology": {"label": "Genuine apology", "met": True, "weight": 15, "points": 15},
                                    "next_step": {"label": "Next step", "met": False, "weight": 20, "points": 0}},
                          outcome="resolved", rubric_version=1, checks_version="1")


def statuses(engine, user_id, today=date(2026, 12, 1)):
    with session_scope(engine) as s:
        return {
            (r.requirement.scenario, r.requirement.persona): (r.status, r.attempt_count, r.best_score, r.certified)
            for r in progress.trainee_progress(session=s, user_id=user_id, today=today)
        }


# --- assignments -----------------------------------------------------------------------------


def test_assigned_scenarios_directly_and_through_the_team(storage_engine, people):
    onboarding = make_curriculum(storage_engine)
    refresher = make_curriculum(storage_engine, name="Refresher", items=[
        ItemSpec(scenario=LAPTOP, persona="dispassionate", mode="assessment", pass_mark="80", due_date="2026-12-05")])
    with session_scope(storage_engine) as s:
        assignments.assign_curriculum(session=s, curriculum_id=onboarding, team="north")
        assignments.assign_curriculum(session=s, curriculum_id=refresher, user_id=people["tina"])
        # Reaching Tina both directly and through her team lists each requirement once.
        assignments.assign_curriculum(session=s, curriculum_id=onboarding, user_id=people["tina"])
        again = assignments.assign_curriculum(session=s, curriculum_id=onboarding, team=" north ")
        assert again.team == "north"
    with session_scope(storage_engine) as s:
        tina = assignments.assigned_scenarios(session=s, user_id=people["tina"])
        nick = assignments.assigned_scenarios(session=s, user_id=people["nick"])
        sam = assignments.assigned_scenarios(session=s, user_id=people["sam"])
    assert [(a.curriculum, a.scenario, a.persona, a.mode, a.pass_mark, a.due_date) for a in tina] == [
        ("Refresher", LAPTOP, "dispassionate", "assessment", 80, date(2026, 12, 5)),
        ("Onboarding", LAPTOP, "angry", "assessment", 70, date(2026, 12, 10)),
        ("Onboarding", PARCEL, "dispassionate", "assessment", 60, None),
    ]
    assert [(a.scenario, a.persona) for a in nick] == [(LAPTOP, "angry"), (PARCEL, "dispassionate")]
    assert sam == []


def test_an_assignment_is_for_a_user_or_a_team_never_both(storage_engine, people):
    cid = make_curriculum(storage_engine)
    with session_scope(storage_engine) as s:
        with pytest.raises(training.TrainingError):
            assignments.assign_curriculum(session=s, curriculum_id=cid, user_id=people["tina"], team="north")
        with pytest.raises(training.TrainingError):
            assignments.assign_curriculum(session=s, curriculum_id=cid)
    with pytest.raises(IntegrityError):
        with session_scope(storage_engine) as s:
            s.add(CurriculumAssignment(curriculum_id=cid, user_id=people["tina"], team="north"))
            s.flush()


# --- curricula -------------------------------------------------------------------------------


def test_a_curriculum_with_bad_input_lists_every_problem_and_saves_nothing(storage_engine, people):
    make_curriculum(storage_engine)
    with session_scope(storage_engine) as s:
        with pytest.raises(curriculum_edits.CurriculumInvalid) as caught:
            curriculum_edits.create_curriculum(
                session=s, name="Onboarding", scenario_ids=SCENARIO_IDS, personas=PERSONAS,
                items=[
                    ItemSpec(scenario="no_such_scenario", persona="angry", pass_mark="70"),
                    ItemSpec(scenario=LAPTOP, persona="grumpy", pass_mark="70"),
                    ItemSpec(scenario=LAPTOP, persona="angry", pass_mark="seventy"),
                    ItemSpec(scenario=PARCEL, persona="angry", pass_mark="101"),
                    ItemSpec(scenario=PARCEL, persona="dispassionate", pass_mark="60", due_date="31/12/2026"),
                    ItemSpec(scenario=PARCEL, persona="dispassionate", pass_mark="60", mode="exam"),
                ],
            )
    problems = caught.value.problems
    text = "\n".join(problems)
    assert "already exists" in text
    assert "Scenario 1: unknown scenario id 'no_such_scenario'" in text
    assert "Scenario 2: unknown persona 'grumpy'" in text
    assert "Scenario 3: the pass mark 'seventy' is not a whole number" in text
    assert "Scenario 4: the pass mark 101 is not between 0 and 100" in text
    assert "Scenario 5: the due date '31/12/2026' is not a date: write it as YYYY-MM-DD" in text
    assert "Scenario 6: unknown mode 'exam'" in text
    with session_scope(storage_engine) as s:
        assert [c.name for c in assignments.list_curricula(session=s)] == ["Onboarding"]
        with pytest.raises(curriculum_edits.CurriculumInvalid, match="at least one required scenario"):
            curriculum_edits.create_curriculum(session=s, name="Empty", items=[], scenario_ids=SCENARIO_IDS, personas=PERSONAS)


# --- roster ----------------------------------------------------------------------------------


ROSTER = (
    "Name,E-mail,Team,Start date\n"
    "Ada Lovelace,Ada@Example.com,North,2026-11-02\n"
    "No Email,,North,2026-11-02\n"
    "Bad Date,bad@example.com,North,02/11/2026\n"
    "Grace Hopper,grace@example.com,,2026-11-03\n"
    "Ada Again,ada@example.com,South,2026-11-04\n"
    "\n"
    "Tina Updated,tina@example.org,south,2026-10-01\n"
)


def test_roster_import_reports_bad_rows_and_imports_the_good_ones(storage_engine, people):
    # The header names "email" as "E-mail": spelling and case of headers do not matter.
    roster = ROSTER.replace("E-mail", "Email")
    with session_scope(storage_engine) as s:
        result = roster_import.import_roster(session=s, data=roster.encode("utf-8"))
    assert [(p.line, p.reason) for p in result.problems] == [
        (3, "the e-mail address is empty"),
        (4, "the start date '02/11/2026' is not a date: write it as YYYY-MM-DD, e.g. 2026-12-31."),
        (6, "ada@example.com is already on line 2 of this file"),
    ]
    assert [(a.line, a.email, a.team) for a in result.created] == [
        (2, "ada@example.com", "North"), (5, "grace@example.com", None)]
    assert [(a.line, a.email, a.name, a.team) for a in result.updated] == [
        (8, "tina@example.org", "Tina Updated", "south")]
    passwords = {a.email: a.password for a in result.created}
    assert len(set(passwords.values())) == 2 and all(len(p) >= 12 for p in passwords.values())
    with session_scope(storage_engine) as s:
        ada = authenticate(session=s, email="ada@example.com", password=passwords["ada@example.com"])
        assert ada is not None and ada.role == "trainee" and ada.name == "Ada Lovelace"
        assert roster_import.roster_entry(session=s, user_id=ada.id).start_date == date(2026, 11, 2)
        tina = get_user_by_email(session=s, email="tina@example.org")
        # Re-importing a known address updates the name and team; role and password stay.
        assert (tina.name, tina.team, tina.role) == ("Tina Updated", "south", "trainee")
        assert authenticate(session=s, email="tina@example.org", password="pw") is not None
        assert get_user_by_email(session=s, email="bad@example.com") is None

    # The same file again: nobody is created twice, the people already there are updated.
    with session_scope(storage_engine) as s:
        again = roster_import.import_roster(session=s, data=roster.replace("Ada Lovelace", "Ada King").encode())
    assert again.created == [] and [a.email for a in again.updated] == [
        "ada@example.com", "grace@example.com", "tina@example.org"]
    with session_scope(storage_engine) as s:
        assert get_user_by_email(session=s, email="ada@example.com").name == "Ada King"


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The file is empty"),
        (b"name,email,team\nAda,ada@example.com,North\n", "missing: start date (found: name, email, team)"),
        (b"\xff\xfename,email\n", "not UTF-8 text"),
        (b'name,email,team,start date\n"Ada,ada@example.com,North,2026-11-02\n', "not valid CSV"),
        (b"PK\x03\x04\x00\x00binary", "not a CSV text file"),
    ],
)
def test_a_file_that_is_not_a_roster_imports_nothing(storage_engine, people, data, message):
    with session_scope(storage_engine) as s:
        with pytest.raises(training.TrainingError, match=message.replace("(", r"\(").replace(")", r"\)")):
            roster_import.import_roster(session=s, data=data)
    with session_scope(storage_engine) as s:
        assert get_user_by_email(session=s, email="ada@example.com") is None


# --- status ----------------------------------------------------------------------------------


def test_status_per_requirement(storage_engine, people):
    cid = make_curriculum(storage_engine)
    with session_scope(storage_engine) as s:
        assignments.assign_curriculum(session=s, curriculum_id=cid, team="north").created_at = ASSIGNED
    tina, nick = people["tina"], people["nick"]
    assert statuses(storage_engine, tina) == {
        (LAPTOP, "angry"): ("not_started", 0, None, False),
        (PARCEL, "dispassionate"): ("not_started", 0, None, False),
    }
    attempt(storage_engine, "t-run", tina, score=None, ended=False)
    # Other modes and personas are not attempts at this requirement.
    attempt(storage_engine, "t-coach", tina, score=95, mode="coach")
    attempt(storage_engine, "t-other", tina, score=95, persona="dispassionate")
    assert statuses(storage_engine, tina)[(LAPTOP, "angry")] == ("in_progress", 0, None, False)
    attempt(storage_engine, "t-1", tina, score=55)
    attempt(storage_engine, "t-2", tina, score=None)  # ended but never scored: still an attempt
    assert statuses(storage_engine, tina)[(LAPTOP, "angry")] == ("did_not_pass", 2, 55, False)
    attempt(storage_engine, "t-3", tina, score=70)  # exactly the pass mark passes
    attempt(storage_engine, "t-4", tina, score=62)
    assert statuses(storage_engine, tina)[(LAPTOP, "angry")] == ("passed", 4, 70, False)
    # After the due date: not passed is overdue, whatever the attempts; passed stays passed.
    late = date(2026, 12, 11)
    assert statuses(storage_engine, tina, today=late)[(LAPTOP, "angry")] == ("passed", 4, 70, False)
    assert statuses(storage_engine, nick, today=date(2026, 12, 10))[(LAPTOP, "angry")][0] == "not_started"
    assert statuses(storage_engine, nick, today=late)[(LAPTOP, "angry")] == ("overdue", 0, None, False)
    attempt(storage_engine, "n-1", nick, score=40)
    assert statuses(storage_engine, nick, today=late)[(LAPTOP, "angry")] == ("overdue", 1, 40, False)
    # No due date: never overdue.
    assert statuses(storage_engine, nick, today=date(2030, 1, 1))[(PARCEL, "dispassionate")][0] == "not_started"

    with session_scope(storage_engine) as s:
        summary = progress.overview(session=s, team="north", today=late)
        assert summary.counts == {"not_started": 2, "in_progress": 0, "overdue": 1, "did_not_pass": 0, "passed": 1}
        assert [(r.user.name, r.requirement.scenario) for r in summary.overdue] == [("Nick", LAPTOP)]
        assert [(r.user.name, r.best_session_id) for r in summary.awaiting_sign_off] == [("Tina", "t-3")]
        everyone = progress.overview(session=s, today=late)
        assert sum(everyone.counts.values()) == 4  # Sam has nothing assigned
        assert [(team, counts["passed"], counts["overdue"], counts["not_started"]) for team, counts in everyone.teams] == [
            ("north", 1, 1, 2), ("south", 0, 0, 0)]


def test_only_a_trainer_signs_off_a_passing_attempt_and_that_certifies_it(storage_engine, people):
    cid = make_curriculum(storage_engine)
    with session_scope(storage_engine) as s:
        assignments.assign_curriculum(session=s, curriculum_id=cid, user_id=people["tina"]).created_at = ASSIGNED
    attempt(storage_engine, "fail", people["tina"], score=50)
    attempt(storage_engine, "pass", people["tina"], score=85)
    attempt(storage_engine, "stray", people["sam"], score=99)
    with session_scope(storage_engine) as s:
        with pytest.raises(NotAllowed, match="Only trainers"):
            certification.sign_off(session=s, session_id="pass", signer_id=people["hank"])
        with pytest.raises(NotAllowed, match="Only trainers"):
            certification.sign_off(session=s, session_id="pass", signer_id=people["tina"])
        with pytest.raises(training.TrainingError, match="does not reach the pass mark"):
            certification.sign_off(session=s, session_id="fail", signer_id=people["rita"])
        with pytest.raises(training.TrainingError, match="does not reach the pass mark"):
            certification.sign_off(session=s, session_id="stray", signer_id=people["rita"])
    assert statuses(storage_engine, people["tina"])[(LAPTOP, "angry")] == ("passed", 2, 85, False)
    with session_scope(storage_engine) as s:
        signed = certification.sign_off(session=s, session_id="pass", signer_id=people["rita"], note="  Calm and clear. ")
        assert (signed.note, signed.signed_by_id) == ("Calm and clear.", people["rita"])
    assert statuses(storage_engine, people["tina"])[(LAPTOP, "angry")] == ("passed", 2, 85, True)
    with session_scope(storage_engine) as s:
        with pytest.raises(training.TrainingError, match="already signed off by Rita"):
            certification.sign_off(session=s, session_id="pass", signer_id=people["rita"])
        row = progress.trainee_progress(session=s, user_id=people["tina"])[0]
        assert row.sign_off.signed_by.name == "Rita" and row.sign_off.created_at.tzinfo is not None


def test_a_trainer_cannot_sign_off_their_own_attempt(storage_engine, people):
    cid = make_curriculum(storage_engine)
    with session_scope(storage_engine) as s:
        assignments.assign_curriculum(session=s, curriculum_id=cid, user_id=people["rita"]).created_at = ASSIGNED
    attempt(storage_engine, "mine", people["rita"], score=90)
    with session_scope(storage_engine) as s:
        with pytest.raises(NotAllowed, match="your own attempt"):
            certification.sign_off(session=s, session_id="mine", signer_id=people["rita"])


# --- xAPI ------------------------------------------------------------------------------------


def test_xapi_statements_one_per_attempt(storage_engine, people):
    cid = make_curriculum(storage_engine)
    with session_scope(storage_engine) as s:
        assignments.assign_curriculum(session=s, curriculum_id=cid, user_id=people["tina"]).created_at = ASSIGNED
    sid_pass = "0123456789abcdef0123456789abcdef"
    attempt(storage_engine, "fail", people["tina"], score=50, at=T0)
    attempt(storage_engine, sid_pass, people["tina"], score=85, at=T0 + timedelta(hours=1))
    attempt(storage_engine, "unscored", people["tina"], score=None, at=T0 + timedelta(hours=2))
    attempt(storage_engine, "running", people["tina"], score=None, ended=False, at=T0 + timedelta(hours=3))
    attempt(storage_engine, "parcel", people["tina"], score=61, scenario=PARCEL, persona="dispassionate",
            at=T0 + timedelta(hours=4))
    with session_scope(storage_engine) as s:
        certification.sign_off(session=s, session_id=sid_pass, signer_id=people["rita"])
        rows = progress.trainee_progress(session=s, user_id=people["tina"])
        found = xapi.statements(rows, titles={LAPTOP: "Laptop repair"})
    by_session = {st["context"]["extensions"]["urn:support-coach:xapi:session"]: st for st in found}
    assert list(by_session) == ["fail", sid_pass, "unscored", "running", "parcel"]
    verbs = {sid: st["verb"]["id"].rsplit("/", 1)[1] for sid, st in by_session.items()}
    assert verbs == {"fail": "failed", sid_pass: "passed", "unscored": "completed", "running": "attempted",
                     "parcel": "passed"}
    assert all(st["verb"]["id"].startswith("http://adlnet.gov/expapi/verbs/") for st in found)
    passed = by_session[sid_pass]
    assert passed["actor"] == {"objectType": "Agent", "name": "Tina", "mbox": "mailto:tina@example.org"}
    assert passed["object"]["id"] == f"urn:support-coach:scenario:{LAPTOP}:angry"
    assert passed["object"]["definition"]["name"]["en-US"] == "Laptop repair (angry customer)"
    assert passed["result"]["score"] == {"scaled": 0.85, "raw": 85, "min": 0, "max": 100}
    assert passed["result"]["success"] is True and passed["result"]["completion"] is True
    assert passed["result"]["extensions"]["urn:support-coach:criterion:next_step"] == {
        "label": "Next step", "met": False, "points": 0, "weight": 20}
    assert passed["context"]["registration"] == "01234567-89ab-cdef-0123-456789abcdef"
    assert passed["context"]["extensions"]["urn:support-coach:xapi:signed-off"] is True
    assert passed["context"]["contextActivities"]["grouping"][0]["id"] == f"urn:support-coach:curriculum:{cid}"
    assert passed["timestamp"] == "2026-11-20T10:05:00.000Z"
    assert by_session["fail"]["result"]["success"] is False
    assert "score" not in by_session["running"]["result"] and by_session["running"]["result"]["completion"] is False
    # Stable ids: exporting again sends the same statements.
    assert passed["id"] == xapi.statements(rows, titles={})[1]["id"]
    assert len({st["id"] for st in found}) == len(found)
