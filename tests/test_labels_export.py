"""`python -m bot.db export-labels`: trainers' overrules written as development-set lines."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from bot import db
from bot.checks import CHECK_NAMES

NOTHING = {"found": False, "evidence": [], "tip": None}
OPENING = "My laptop crashes every day and nobody calls back."


def _played(url):
    """A session of two turns; the trainer overrules defensive on turn 2, agrees on turn 1."""
    engine = db.make_engine(url)
    with db.session_scope(engine) as session:
        trainer = db.create_user(session=session, email="t@example.com", name="T", password="Pw-123456789!", role="trainer")
        db.record_session_start(
            session=session, session_id="s1", sender_id="x", scenario="laptop_at_home_service", persona="angry",
            mode="coach", start_mood=20, opening=OPENING,
        )
        first = {name: dict(NOTHING) for name in CHECK_NAMES}
        first["apology"] = {"found": True, "evidence": ["sorry"], "tip": None}
        t1 = db.record_turn(
            session=session, session_id="s1", number=1, trainee_text="I'm sorry, Dana.",
            customer_text="Sorry isn't enough. Is anyone coming?", checks=first, checks_version="3", mood=25,
        )
        t2 = db.record_turn(
            session=session, session_id="s1", number=2, trainee_text="sounds like your router to me tbh",
            customer_text="It's a laptop.", checks={name: dict(NOTHING) for name in CHECK_NAMES},
            checks_version="3", mood=10,
        )
        turn_ids = (t1.id, t2.id)
        db.override_check(session=session, turn_id=turn_ids[0], check="apology", trainer_found=True,
                          reason="agree", reviewer_id=trainer.id)
        db.override_check(session=session, turn_id=turn_ids[1], check="defensive", trainer_found=False,
                          reason="first look", reviewer_id=trainer.id)
        # the latest override wins: the trainer changes their mind
        db.override_check(session=session, turn_id=turn_ids[1], check="defensive", trainer_found=True,
                          reason="blames the customer's equipment", reviewer_id=trainer.id)
    return engine


def _run(url, *args):
    env = dict(os.environ, COACH_DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "bot.db", "export-labels", *args], capture_output=True, text=True, env=env)


def test_export_labels_writes_overruled_turns_in_the_dev_set_format(tmp_path):
    url = f"sqlite:///{tmp_path / 'coach.db'}"
    db.upgrade(url)
    _played(url)
    out = tmp_path / "labels.jsonl"
    result = _run(url, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Exported 1 overruled turn" in result.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 1  # turn 1's override agrees with the machine: nothing new
    line = lines[0]
    assert line["reply"] == "sounds like your router to me tbh"
    assert line["customer"] == "Sorry isn't enough. Is anyone coming?"  # what the reply answered
    assert line["scenario"] == "laptop_at_home_service" and line["persona"] == "angry"
    assert line["customer_name"] == "Dana Whitfield"
    assert list(line["labels"]) == list(CHECK_NAMES)
    assert line["labels"]["defensive"] == 1 and line["labels"]["apology"] == 0
    assert line["overruled"] == ["defensive"]
    assert "blames the customer's equipment" in line["note"] and "first look" not in line["note"]
    # The development set's reader takes the line as it is.
    dev_keys = set(json.loads(open("tests/data/checks_dev.jsonl").readline()))
    assert dev_keys - {"note"} <= set(line)


def test_export_labels_first_turn_answers_the_opening_and_filters_by_check(tmp_path):
    url = f"sqlite:///{tmp_path / 'coach.db'}"
    db.upgrade(url)
    engine = _played(url)
    with db.session_scope(engine) as session:
        turn = session.query(db.Turn).filter_by(session_id="s1", number=1).one()
        trainer = session.query(db.User).filter_by(role="trainer").one()
        db.override_check(session=session, turn_id=turn.id, check="active_listening", trainer_found=True,
                          reason="names the crashes", reviewer_id=trainer.id)
    lines = [json.loads(x) for x in _run(url).stdout.splitlines()]
    assert [x["source"]["turn"] for x in lines] == [1, 2]
    assert lines[0]["customer"] == OPENING and lines[0]["labels"]["active_listening"] == 1
    only = [json.loads(x) for x in _run(url, "--check", "active_listening").stdout.splitlines()]
    assert [x["source"]["turn"] for x in only] == [1]


def test_export_labels_refuses_an_unknown_check_and_keeps_an_existing_file(tmp_path):
    url = f"sqlite:///{tmp_path / 'coach.db'}"
    db.upgrade(url)
    _played(url)
    out = tmp_path / "labels.jsonl"
    out.write_text("earlier export\n")
    result = _run(url, "--out", str(out), "--check", "politeness")
    assert result.returncode == 2 and "unknown check 'politeness'" in result.stderr
    assert out.read_text() == "earlier export\n"
    # No partial file is left beside it (SQLite's own coach.db-wal/-shm files aside).
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("coach.db")) == ["labels.jsonl"]
