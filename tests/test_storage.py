"""Storage (bot/db): every test that takes `storage_engine` or `storage_url` runs on SQLite and
on PostgreSQL (fixtures at the end of tests/conftest.py)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from bot.db import (
    Base,
    CheckOverride,
    DuplicateEmail,
    NotAllowed,
    NotFound,
    Scorecard,
    Turn,
    User,
    add_comment,
    alembic_config,
    add_scorecard,
    agreement_per_check,
    authenticate,
    cohens_kappa,
    create_user,
    current_revision,
    database_url,
    get_transcript,
    get_user_by_email,
    head_revision,
    list_sessions,
    make_engine,
    override_check,
    override_outcome,
    record_session_end,
    record_session_start,
    record_turn,
    rescore_sessions,
    session_scope,
    upgrade,
)
from bot.errors import CoachError
from bot.scoring import build_scorecard

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The checks of the README's protocol section.
CHECK_NAMES = (
    "greeting",
    "active_listening",
    "apology",
    "next_step",
    "thanks",
    "defensive",
    "name_use",
    "jargon",
    "probing_question",
)
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)


# --- builders ------------------------------------------------------------------------------


def make_checks(*found: str, evidence: Optional[Dict[str, list]] = None) -> Dict[str, Any]:
    """Every check, with `found` True for the named ones; evidence and tips as the checks give them."""
    evidence = evidence or {}
    return {
        name: {
            "found": name in found,
            "evidence": evidence.get(name, []),
            "tip": None if name in found else f"Try {name.replace('_', ' ')}.",
        }
        for name in CHECK_NAMES
    }


def start(session, *, session_id: str, user_id: Optional[int] = None, **overrides: Any):
    fields = dict(
        sender_id=f"sender-{session_id}",
        scenario="laptop_at_home_service",
        persona="angry",
        mode="coach",
        start_mood=20,
        opening="My laptop crashes every day!",
        started_at=T0,
    )
    fields.update(overrides)
    return record_session_start(session=session, session_id=session_id, user_id=user_id, **fields)


def turn(session, *, session_id: str, number: int, found=(), mood: int = 30, **overrides: Any) -> Turn:
    fields = dict(
        trainee_text=f"Reply {number}",
        customer_text=f"Answer {number}",
        checks=make_checks(*found),
        checks_version="1",
        mood=mood,
        mood_change=5,
        rubric_version=1,
    )
    fields.update(overrides)
    return record_turn(session=session, session_id=session_id, number=number, **fields)


def scorecard(session, *, session_id: str, score: int, rubric_version: int = 1, checks_version: str = "1"):
    return add_scorecard(
        session=session,
        session_id=session_id,
        score=score,
        passed=score >= 70,
        criteria={"apology": {"label": "Genuine apology", "met": True, "weight": 15, "points": 15, "explanation": "…"}},
        outcome="resolved",
        pass_mark=70,
        rubric_version=rubric_version,
        checks_version=checks_version,
    )


def count(engine, statement) -> int:
    with session_scope(engine) as session:
        return session.execute(statement).scalar_one()


@pytest.fixture
def people(storage_engine, monkeypatch) -> Dict[str, int]:
    """A trainee, a second trainee, a trainer and an HR user; their ids by first name.

    Their passwords are hashed with a cheap method: scrypt costs a quarter of a second each.
    """
    monkeypatch.setattr("bot.db.users.PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    with session_scope(storage_engine) as session:
        users = {
            "tina": create_user(session=session, email="tina@example.org", name="Tina", password="tina-pw", team="north"),
            "tom": create_user(session=session, email="tom@example.org", name="Tom", password="tom-pw"),
            "rita": create_user(
                session=session, email="rita@example.org", name="Rita", password="rita-pw", role="trainer"
            ),
            "hank": create_user(session=session, email="hank@example.org", name="Hank", password="hank-pw", role="hr"),
        }
        session.flush()
        return {name: user.id for name, user in users.items()}


# --- configuration, migrations ---------------------------------------------------------------


def test_database_url_comes_from_the_environment_or_the_var_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("COACH_DATABASE_URL", "postgresql+psycopg2://coach@db.example/coach")
    assert database_url() == "postgresql+psycopg2://coach@db.example/coach"
    monkeypatch.delenv("COACH_DATABASE_URL")
    monkeypatch.setenv("COACH_VAR_DIR", str(tmp_path / "var"))
    assert database_url() == f"sqlite:///{(tmp_path / 'var' / 'coach.db').resolve()}"


def test_importing_the_package_opens_no_database(tmp_path):
    env = dict(os.environ, COACH_VAR_DIR=str(tmp_path / "var"), PYTHONPATH=str(PROJECT_ROOT))
    env.pop("COACH_DATABASE_URL", None)
    subprocess.run([sys.executable, "-c", "import bot.db, bot.db.models, bot.db.users, bot.db.recording, bot.db.transcripts, bot.db.reviews, bot.db.agreement, bot.db.rescoring"], env=env, check=True)
    assert not (tmp_path / "var").exists()


def test_sqlite_has_foreign_keys_on_and_wal(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'coach.db'}")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_migrated_schema_matches_the_models(storage_url):
    assert current_revision(storage_url) == head_revision()
    engine = make_engine(storage_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
            # The comparison can fail: a column the migration lacks shows up.
            changed = MetaData()
            for table in Base.metadata.sorted_tables:
                copy = table.to_metadata(changed)
                if table.name == "turns":
                    copy.append_column(Column("extra", Integer))
            diffs = compare_metadata(context, changed)
            assert [(d[0], d[3].name) for d in diffs] == [("add_column", "extra")]
    finally:
        engine.dispose()


def test_cli_upgrade_prints_the_revision(storage_url):
    env = dict(os.environ, COACH_DATABASE_URL=storage_url, PYTHONPATH=str(PROJECT_ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "bot.db", "upgrade"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert f"at revision {head_revision()}" in done.stdout


def test_the_initial_migration_downgrades_cleanly(tmp_path):
    url = f"sqlite:///{tmp_path / 'coach.db'}"
    assert upgrade(url) == head_revision()
    command.downgrade(alembic_config(url), "base")
    engine = make_engine(url)
    try:
        assert inspect(engine).get_table_names() == ["alembic_version"]
    finally:
        engine.dispose()
    assert upgrade(url) == head_revision()


# --- users -----------------------------------------------------------------------------------


def test_users_roles_and_authentication(storage_engine, people, monkeypatch):
    with session_scope(storage_engine) as session:
        rita = get_user_by_email(session=session, email="  Rita@Example.ORG ")
        assert rita is not None and rita.role == "trainer" and rita.active
        assert rita.password_hash != "rita-pw" and rita.password_hash.startswith("pbkdf2:")
        assert get_user_by_email(session=session, email="nobody@example.org") is None

        assert authenticate(session=session, email="TINA@example.org", password="tina-pw").id == people["tina"]
        assert authenticate(session=session, email="tina@example.org", password="wrong") is None
        assert authenticate(session=session, email="nobody@example.org", password="tina-pw") is None
        session.get(User, people["tom"]).active = False
        session.flush()
        assert authenticate(session=session, email="tom@example.org", password="tom-pw") is None

    monkeypatch.undo()  # the real hashing method from here on
    with session_scope(storage_engine) as session:
        roles = dict(session.execute(select(User.name, User.role)).all())
        assert roles == {"Tina": "trainee", "Tom": "trainee", "Rita": "trainer", "Hank": "hr"}
        admin = create_user(session=session, email="ada@example.org", name="Ada", password="ada-pw", role="admin")
        assert admin.password_hash.startswith("scrypt:")
        assert authenticate(session=session, email="ada@example.org", password="ada-pw") is admin
        with pytest.raises(DuplicateEmail):
            create_user(session=session, email="TINA@example.org", name="Other Tina", password="x")
        with pytest.raises(CoachError, match="Unknown role"):
            create_user(session=session, email="eve@example.org", name="Eve", password="x", role="boss")


def test_the_database_itself_refuses_an_unknown_role_and_a_second_email(storage_engine, people):
    with pytest.raises(IntegrityError):
        with session_scope(storage_engine) as session:
            session.add(User(email="eve@example.org", name="Eve", role="boss", password_hash="x"))
    with pytest.raises(IntegrityError):
        with session_scope(storage_engine) as session:
            session.add(User(email="tina@example.org", name="Tina 2", role="trainee", password_hash="x"))


# --- recording a conversation --------------------------------------------------------------


def test_each_turn_is_on_disk_as_soon_as_record_turn_returns(storage_engine, storage_url, people):
    with session_scope(storage_engine) as session:
        start(session, session_id="a" * 32, user_id=people["tina"])
        for number in (1, 2, 3):
            turn(session, session_id="a" * 32, number=number, mood=20 + 10 * number)
            # Still inside the first session: another engine (another process, say) sees it.
            other = make_engine(storage_url)
            try:
                with session_scope(other) as reader:
                    stored = reader.execute(select(Turn).where(Turn.session_id == "a" * 32)).scalars().all()
                    assert [t.number for t in stored] == list(range(1, number + 1))
                    assert stored[-1].trainee_text == f"Reply {number}"
            finally:
                other.dispose()
    with session_scope(storage_engine) as session:
        transcript = get_transcript(session=session, session_id="a" * 32)
        assert transcript.session.mood_curve == [20, 30, 40, 50]
        assert transcript.session.ended_at is None and transcript.outcome is None


def test_killing_the_process_mid_conversation_loses_no_completed_turn(storage_engine, storage_url, people):
    """The writer is killed with SIGKILL while its session is still open."""
    script = textwrap.dedent(
        """
        import sys, time
        from bot.db import make_engine, record_session_start, record_turn, session_scope
        engine = make_engine()
        with session_scope(engine) as session:
            record_session_start(session=session, session_id="k" * 32, sender_id="s", scenario="x",
                                 persona="angry", mode="coach", start_mood=20)
            for number in (1, 2):
                record_turn(session=session, session_id="k" * 32, number=number, trainee_text="hi",
                            customer_text="hm", checks={"thanks": {"found": False, "evidence": [], "tip": None}},
                            checks_version="1", mood=25)
            print("recorded", flush=True)
            time.sleep(120)
        """
    )
    env = dict(os.environ, COACH_DATABASE_URL=storage_url, PYTHONPATH=str(PROJECT_ROOT))
    process = subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "recorded"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        process.stdout.close()
    assert count(storage_engine, select(func.count(Turn.id)).where(Turn.session_id == "k" * 32)) == 2


def test_record_turn_is_idempotent_for_a_retried_action_call(storage_engine, people):
    with session_scope(storage_engine) as session:
        start(session, session_id="b" * 32)
        again = start(session, session_id="b" * 32, scenario="something_else")
        assert again.scenario == "laptop_at_home_service"
        first = turn(session, session_id="b" * 32, number=1, mood=35)
        retried = turn(session, session_id="b" * 32, number=1, mood=35)
        assert retried.id == first.id
        turn(session, session_id="b" * 32, number=2, mood=40)
    assert count(storage_engine, select(func.count(Turn.id))) == 2
    with session_scope(storage_engine) as session:
        assert get_transcript(session=session, session_id="b" * 32).session.mood_curve == [20, 35, 40]
        ended = record_session_end(session=session, session_id="b" * 32, outcome="resolved", ended_at=T0)
        again = record_session_end(session=session, session_id="b" * 32, outcome="abandoned")
        assert again.outcome == "resolved" and again.ended_at == ended.ended_at == T0


def test_the_database_refuses_a_duplicate_turn_number(storage_engine):
    with session_scope(storage_engine) as session:
        start(session, session_id="c" * 32)
        turn(session, session_id="c" * 32, number=1)
    with pytest.raises(IntegrityError):
        with session_scope(storage_engine) as session:
            session.add(Turn(session_id="c" * 32, number=1, trainee_text="x", checks={}, checks_version="1"))


def test_record_turn_needs_a_started_session_and_well_formed_checks(storage_engine):
    with session_scope(storage_engine) as session:
        with pytest.raises(NotFound, match="record_session_start"):
            turn(session, session_id="f" * 32, number=1)
        start(session, session_id="d" * 32)
        with pytest.raises(CoachError, match="found"):
            turn(session, session_id="d" * 32, number=1, checks={"apology": {"found": "yes"}})
        with pytest.raises(CoachError, match="outcome"):
            record_session_end(session=session, session_id="d" * 32, outcome="won")


def test_checks_with_evidence_round_trip_verbatim(storage_engine):
    """Unicode, quotes and HTML-looking text come back exactly, and are stored unescaped."""
    evidence = {
        "apology": ["I’m so sorry, Zoë", "Entschuldigung für die Verspätung 🙏"],
        "defensive": ['<script>alert("x")</script> & <b>not my fault</b>'],
    }
    checks = make_checks("apology", "defensive", evidence=evidence)
    checks["defensive"]["tip"] = "Don't say “not my fault” — say what you'll do."
    with session_scope(storage_engine) as session:
        start(session, session_id="e" * 32)
        stored = turn(
            session, session_id="e" * 32, number=1, checks=checks, trainee_text='<b>Hi</b> "Zoë" 🙏', customer_text="ok…"
        )
        turn_id = stored.id
    with session_scope(storage_engine) as session:
        again = session.get(Turn, turn_id)
        assert again.checks == checks
        assert again.trainee_text == '<b>Hi</b> "Zoë" 🙏' and again.customer_text == "ok…"
        raw = session.execute(text("SELECT CAST(checks AS TEXT) FROM turns WHERE id = :id"), {"id": turn_id}).scalar_one()
    assert '<script>alert(\\"x\\")</script> & <b>not my fault</b>' in raw
    assert "Zoë" in raw and "🙏" in raw and "“not my fault”" in raw


# --- listing ---------------------------------------------------------------------------------


@pytest.fixture
def sessions(storage_engine, people) -> Dict[str, str]:
    """Five sessions, a day apart, with scores, outcomes and a defensive turn in two of them.

    name  user  scenario  persona        day  outcome    score  defensive found in a turn
    s1    tina  laptop    angry          0    resolved   90     -
    s2    tina  phone     dispassionate  1    churned    40     turn 2
    s3    tom   laptop    angry          2    escalated  70     turn 1
    s4    tom   laptop    dispassionate  3    abandoned  -      - (evidence, but found is False)
    s5    -     phone     angry          4    (running)  -      -
    """
    plan = [
        ("s1", "tina", "laptop_at_home_service", "angry", "resolved", 90, None),
        ("s2", "tina", "phone_warranty_water_damage", "dispassionate", "churned", 40, 2),
        ("s3", "tom", "laptop_at_home_service", "angry", "escalated", 70, 1),
        ("s4", "tom", "laptop_at_home_service", "dispassionate", "abandoned", None, None),
        ("s5", None, "phone_warranty_water_damage", "angry", None, None, None),
    ]
    ids = {}
    with session_scope(storage_engine) as session:
        for day, (name, user, scenario, persona, outcome, score, defensive_turn) in enumerate(plan):
            session_id = f"{name}".ljust(32, "0")
            ids[name] = session_id
            start(
                session,
                session_id=session_id,
                user_id=people[user] if user else None,
                scenario=scenario,
                persona=persona,
                started_at=T0 + timedelta(days=day),
            )
            for number in (1, 2):
                found = ("defensive",) if number == defensive_turn else ("apology",)
                checks = make_checks(*found, evidence={"defensive": ["that is policy"]})
                turn(session, session_id=session_id, number=number, checks=checks)
            if outcome:
                record_session_end(session=session, session_id=session_id, outcome=outcome)
            if score is not None:
                scorecard(session, session_id=session_id, score=score)
    return ids


def listed(engine, **filters) -> list:
    with session_scope(engine) as session:
        page = list_sessions(session=session, **filters)
    return [row.session_id[:2] for row in page.rows]


def test_list_sessions_filters(storage_engine, people, sessions):
    e = storage_engine
    assert listed(e) == ["s5", "s4", "s3", "s2", "s1"]
    assert listed(e, user_id=people["tina"]) == ["s2", "s1"]
    assert listed(e, email="TOM@example.org") == ["s4", "s3"]
    assert listed(e, scenario="phone_warranty_water_damage") == ["s5", "s2"]
    assert listed(e, persona="dispassionate") == ["s4", "s2"]
    assert listed(e, outcome="churned") == ["s2"]
    assert listed(e, started_from=T0 + timedelta(days=1), started_before=T0 + timedelta(days=3)) == ["s3", "s2"]
    assert listed(e, min_score=50) == ["s3", "s1"]
    assert listed(e, max_score=70) == ["s3", "s2"]
    assert listed(e, min_score=70, max_score=70) == ["s3"]
    assert listed(e, scenario="laptop_at_home_service", persona="angry", min_score=80) == ["s1"]
    with session_scope(e) as session:
        row = list_sessions(session=session, email="tina@example.org", outcome="churned").rows[0]
    assert (row.name, row.score, row.passed, row.turns, row.outcome) == ("Tina", 40, False, 2, "churned")
    with pytest.raises(CoachError, match="sort"):
        listed(e, sort="name")


def test_list_sessions_flagged_check(storage_engine, sessions):
    assert listed(storage_engine, flagged_check="defensive") == ["s3", "s2"]
    assert listed(storage_engine, flagged_check="apology") == ["s5", "s4", "s3", "s2", "s1"]
    assert listed(storage_engine, flagged_check="greeting") == []
    # The name is a bound parameter, not SQL.
    assert listed(storage_engine, flagged_check="defensive') OR 1=1 --") == []


def test_list_sessions_sorting_and_paging(storage_engine, sessions):
    e = storage_engine
    assert listed(e, descending=False) == ["s1", "s2", "s3", "s4", "s5"]
    # Sessions without a scorecard come last either way, newest first among themselves.
    assert listed(e, sort="score") == ["s1", "s3", "s2", "s5", "s4"]
    assert listed(e, sort="score", descending=False) == ["s2", "s3", "s1", "s4", "s5"]
    with session_scope(e) as session:
        pages = [list_sessions(session=session, limit=2, offset=offset) for offset in (0, 2, 4, 6)]
    assert [[r.session_id[:2] for r in p.rows] for p in pages] == [["s5", "s4"], ["s3", "s2"], ["s1"], []]
    assert {p.total for p in pages} == {5}
    with session_scope(e) as session:
        page = list_sessions(session=session, scenario="laptop_at_home_service", limit=1)
    assert page.total == 3 and len(page.rows) == 1


# --- reviews ---------------------------------------------------------------------------------


def test_overrides_and_comments_make_the_transcript(storage_engine, people, sessions):
    s2 = sessions["s2"]
    with session_scope(storage_engine) as session:
        turns = get_transcript(session=session, session_id=s2).turns
        defensive_turn = turns[1]
        override = override_check(
            session=session,
            turn_id=defensive_turn.id,
            check="defensive",
            trainer_found=False,
            reason="Quoting the policy with an offer is not defensive here.",
            reviewer_id=people["rita"],
        )
        assert (override.machine_found, override.trainer_found) == (True, False)
        override_outcome(
            session=session, session_id=s2, outcome="escalated", reason="She asked for a manager.", reviewer_id=people["rita"]
        )
        add_comment(session=session, turn_id=turns[0].id, author_id=people["rita"], text="Good <em>opening</em>.")
        add_comment(session=session, turn_id=turns[0].id, author_id=people["tina"], text="Thanks!")

    with session_scope(storage_engine) as session:
        transcript = get_transcript(session=session, session_id=s2)
    # Everything is loaded: readable after the session closed.
    assert transcript.user.email == "tina@example.org"
    assert [t.number for t in transcript.turns] == [1, 2]
    assert transcript.scorecard.score == 40 and transcript.scorecard.is_current
    assert transcript.session.outcome == "churned" and transcript.outcome == "escalated"
    assert transcript.outcome_overrides[0].machine_outcome == "churned"
    assert transcript.outcome_overrides[0].reviewer.name == "Rita"
    second = transcript.turns[1]
    assert second.checks["defensive"]["found"] is True  # the machine's verdict is kept
    assert transcript.effective_checks(second)["defensive"] == {
        "found": False,
        "evidence": ["that is policy"],
        "tip": None,
    }
    assert transcript.override_for(second, "defensive").reviewer.name == "Rita"
    assert [(c.author.name, c.text) for c in transcript.comments_on(transcript.turns[0])] == [
        ("Rita", "Good <em>opening</em>."),
        ("Tina", "Thanks!"),
    ]
    assert transcript.comments_on(second) == []
    # Lists filter on the trainer's outcome.
    assert listed(storage_engine, outcome="escalated") == ["s3", "s2"]
    assert listed(storage_engine, outcome="churned") == []


@pytest.mark.parametrize("reason", ["", "   \n"])
def test_an_override_needs_a_reason(storage_engine, people, sessions, reason):
    with session_scope(storage_engine) as session:
        turn_id = get_transcript(session=session, session_id=sessions["s1"]).turns[0].id
        with pytest.raises(CoachError, match="reason"):
            override_check(
                session=session, turn_id=turn_id, check="apology", trainer_found=False, reason=reason, reviewer_id=people["rita"]
            )
        with pytest.raises(CoachError, match="reason"):
            override_outcome(
                session=session, session_id=sessions["s1"], outcome="churned", reason=reason, reviewer_id=people["rita"]
            )
    # The database refuses it too (its check trims spaces only: SQL's trim() is that portable).
    with pytest.raises(IntegrityError):
        with session_scope(storage_engine) as session:
            session.add(
                CheckOverride(
                    turn_id=turn_id, check="apology", machine_found=True, trainer_found=False, reason=reason[:1],
                    reviewer_id=people["rita"],
                )
            )


def test_only_trainers_overrule_and_only_known_checks(storage_engine, people, sessions):
    with session_scope(storage_engine) as session:
        turn_id = get_transcript(session=session, session_id=sessions["s1"]).turns[0].id
        for who in ("tina", "hank"):
            with pytest.raises(NotAllowed):
                override_check(
                    session=session, turn_id=turn_id, check="apology", trainer_found=False, reason="no", reviewer_id=people[who]
                )
        with pytest.raises(CoachError, match="no check 'charm'"):
            override_check(
                session=session, turn_id=turn_id, check="charm", trainer_found=True, reason="yes", reviewer_id=people["rita"]
            )
        with pytest.raises(NotFound):
            add_comment(session=session, turn_id=turn_id + 1000, author_id=people["rita"], text="hi")
        with pytest.raises(CoachError, match="empty"):
            add_comment(session=session, turn_id=turn_id, author_id=people["rita"], text=" ")


# --- agreement --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "table, kappa",
    [
        # Hand-computed: n=10, p_o = 7/10, machine yes 5/10, trainer yes 6/10,
        # p_e = .5*.6 + .5*.4 = .5, kappa = (.7 - .5) / (1 - .5) = .4
        ((4, 1, 2, 3), 0.4),
        # Wikipedia's second example: p_o = .6, p_e = .54, kappa = .06/.46
        ((45, 15, 25, 15), 0.06 / 0.46),
        # Perfect agreement with both verdicts used.
        ((3, 0, 0, 2), 1.0),
        # Agreement exactly at chance level.
        ((1, 1, 1, 1), 0.0),
        # Degenerate: every verdict "found" by both, p_e == 1, kappa undefined.
        ((6, 0, 0, 0), None),
        ((0, 0, 0, 4), None),
        ((0, 0, 0, 0), None),
    ],
)
def test_cohens_kappa(table, kappa):
    both, machine_only, trainer_only, neither = table
    result = cohens_kappa(both=both, machine_only=machine_only, trainer_only=trainer_only, neither=neither)
    assert result == (None if kappa is None else pytest.approx(kappa))


def test_agreement_per_check_on_a_hand_computed_example(storage_engine, people):
    """apology on 10 turns: both found 4, machine only 1, trainer only 2, neither 3."""
    verdicts = [(True, True)] * 4 + [(True, False)] + [(False, True)] * 2 + [(False, False)] * 3
    with session_scope(storage_engine) as session:
        start(session, session_id="g" * 32)
        for number, (machine, trainer) in enumerate(verdicts, start=1):
            found = ("apology", "thanks") if machine else ("thanks",)
            stored = turn(session, session_id="g" * 32, number=number, found=found)
            if number == 1:
                # A first verdict the trainer later changed: only the latest counts.
                override_check(
                    session=session, turn_id=stored.id, check="apology", trainer_found=False, reason="hmm",
                    reviewer_id=people["rita"],
                )
            override_check(
                session=session, turn_id=stored.id, check="apology", trainer_found=trainer, reason="reviewed",
                reviewer_id=people["rita"],
            )
            if number <= 3:
                override_check(
                    session=session, turn_id=stored.id, check="thanks", trainer_found=True, reason="agreed",
                    reviewer_id=people["rita"],
                )

    with session_scope(storage_engine) as session:
        result = agreement_per_check(session=session, checks=["greeting"])
        assert agreement_per_check(session=session, checks_version="2") == {}
    apology = result["apology"]
    assert (apology.both, apology.machine_only, apology.trainer_only, apology.neither) == (4, 1, 2, 3)
    assert apology.n == 10
    assert apology.agreement == pytest.approx(0.7)
    assert apology.kappa == pytest.approx(0.4)
    thanks = result["thanks"]
    assert (thanks.n, thanks.agreement, thanks.kappa) == (3, 1.0, None)
    greeting = result["greeting"]
    assert (greeting.n, greeting.agreement, greeting.kappa) == (0, None, None)
    assert sorted(result) == ["apology", "greeting", "thanks"]


# --- scorecards and re-scoring -------------------------------------------------------------------


def test_a_new_scorecard_becomes_current_and_the_old_one_stays(storage_engine, sessions):
    s1 = sessions["s1"]
    with session_scope(storage_engine) as session:
        scorecard(session, session_id=s1, score=75, rubric_version=2)
    with session_scope(storage_engine) as session:
        rows = session.execute(select(Scorecard).where(Scorecard.session_id == s1).order_by(Scorecard.id)).scalars().all()
    assert [(r.score, r.rubric_version, r.is_current) for r in rows] == [(90, 1, False), (75, 2, True)]
    assert listed(storage_engine, min_score=80) == []
    # The database allows one current scorecard per session.
    with pytest.raises(IntegrityError):
        with session_scope(storage_engine) as session:
            session.add(
                Scorecard(
                    session_id=s1, rubric_version=3, checks_version="1", score=1, passed=False, criteria={}, is_current=True
                )
            )


def test_rescoring_adds_scorecards_beside_the_old_ones(storage_engine, people, sessions):
    with session_scope(storage_engine) as session:
        added = rescore_sessions(session=session, score_fn=build_scorecard, rubric_version=2, checks_version="1")
        # Ended sessions only: s5 is still running.
        assert sorted(card.session_id[:2] for card in added) == ["s1", "s2", "s3", "s4"]
    with session_scope(storage_engine) as session:
        again = rescore_sessions(session=session, score_fn=build_scorecard, rubric_version=2, checks_version="1")
        assert again == []
        cards = session.execute(
            select(Scorecard).where(Scorecard.session_id == sessions["s1"]).order_by(Scorecard.id)
        ).scalars().all()
        transcript = get_transcript(session=session, session_id=sessions["s2"])
    assert [(c.score, c.rubric_version, c.is_current) for c in cards] == [(90, 1, False), (cards[1].score, 2, True)]
    # build_scorecard on s1: apology in both turns, resolved, nothing defensive or jargon.
    expected = build_scorecard(
        {
            "session_id": sessions["s1"], "scenario": "laptop_at_home_service", "persona": "angry", "mode": "coach",
            "outcome": "resolved", "mood_curve": [], "turns": [
                {"turn": n, "reply": f"Reply {n}", "checks": make_checks("apology", evidence={"defensive": ["that is policy"]})}
                for n in (1, 2)
            ],
        }
    )
    assert cards[1].score == expected["score"] and cards[1].criteria == expected["criteria"]
    assert [c.rubric_version for c in transcript.scorecards] == [1, 2]
    assert "Lost at turn 2" in transcript.scorecard.criteria["no_defensive"]["explanation"]

    # With the trainer's verdicts: s2's defensive turn was not defensive after all.
    with session_scope(storage_engine) as session:
        override_check(
            session=session, turn_id=transcript.turns[1].id, check="defensive", trainer_found=False,
            reason="Not defensive.", reviewer_id=people["rita"],
        )
        [rescored] = rescore_sessions(
            session=session, score_fn=build_scorecard, rubric_version=2, checks_version="1",
            session_ids=[sessions["s2"]], apply_overrides=True, force=True,
        )
    # Two replies, neither defensive after all: the criterion never came up (rubric 3), so it is
    # left out of the total instead of being lost.
    assert rescored.criteria["no_defensive"]["applicable"] is False
    assert rescored.criteria["no_defensive"]["met"] is None
    assert rescored.score > transcript.scorecard.score
    assert count(storage_engine, select(func.count(Scorecard.id)).where(Scorecard.session_id == sessions["s2"])) == 3

