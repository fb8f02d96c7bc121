"""Reviews that change outcomes (issue 15) through Flask's test client on a migrated SQLite file:
an overrule re-scores the session (page, exports, HR status) and agreement stays per check."""
from __future__ import annotations

import csv
import io
import json
import re
import time
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from bot import db
from bot.adjusted_score import Overruling, adjust
from bot.db.adjusted import refresh_adjusted_scorecard
from tests.review_fixtures import GOOD_REPLY, T0, add_person, add_scored_session, good_checks, verdicts


@pytest.fixture(scope="module")
def migrated_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("reviews-db") / "coach.db"
    db.upgrade(URL.create("sqlite", database=str(path)).render_as_string(hide_password=False))
    return path


@pytest.fixture
def app(tmp_path, migrated_file, monkeypatch):
    monkeypatch.setattr(db.users, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    shutil.copyfile(migrated_file, tmp_path / "coach.db")
    url = URL.create("sqlite", database=str(tmp_path / "coach.db")).render_as_string(hide_password=False)
    from bot.web import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test", "TESTING": True, "RASA_URL": "http://127.0.0.1:9",
                      "HR_TODAY": "2026-12-01"})
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def engine(app):
    return app.extensions["db_engine"]


def client_as(app, user_id):
    client = app.test_client()
    with client.session_transaction() as session:
        # As bot.web.auth.start_session_for does for a new account (session version 0).
        session.update(user_id=user_id, session_version=0, seen=int(time.time()))
    page = client.get("/hr/me").get_data(as_text=True)
    client.token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    return client


@pytest.fixture
def failed(engine):
    """A failed assessment of three replies: no restating of the problem (54 < 70)."""
    trainee = add_person(engine, key="tina", name="Tina Trainee", team="North")
    trainer = add_person(engine, key="terry", role="trainer", name="Terry Trainer")
    checks = good_checks()
    checks["active_listening"] = {"found": False, "evidence": ["crashes every day"], "tip": "Say it back."}
    # Three replies, so that blame and jargon apply (rubric 3 leaves them out of shorter sessions).
    card = add_scored_session(engine, "s1", user_id=trainee, turns=[{"text": GOOD_REPLY, "checks": checks}] * 3)
    assert card["score"] == 54 and not card["passed"]
    return {"trainee": trainee, "trainer": trainer}


def overrule(client, *, number=1, check="active_listening", found="yes", reason="It restates the daily crashes."):
    return client.post(f"/trainer/sessions/s1/turns/{number}/checks",
                       data={"check": check, "found": found, "reason": reason, "csrf_token": client.token})


def test_adjust_moves_the_score_by_the_points_of_the_overruled_criteria_only():
    # As bot.scoring scores: points over the weights that applied (15 + 6 + 20), so 6/41 -> 15.
    machine = {"score": 15, "passed": False, "pass_mark": 70, "criteria": {
        "apology": {"label": "Apology", "met": False, "weight": 15, "points": 0, "explanation": "Not met."},
        "greeting": {"label": "Greeting", "met": True, "weight": 6, "points": 6, "explanation": "Earned."},
        "next_step": {"label": "Next step", "met": False, "weight": 20, "points": 0, "explanation": "Not met."},
        "thanks": {"label": "Thanks", "met": False, "weight": 7, "points": 0, "explanation": "n/a",
                   "applicable": False},
    }}
    note = Overruling(reviewer="Terry", reason="It is an apology.", at="2026-12-01T10:00:00+00:00",
                      check="apology", turn=2, found=True)
    result = adjust(machine=machine,
                    rejudged={"apology": {"met": True, "points": 15, "explanation": "Earned at turn 2."},
                              "thanks": {"met": True, "points": 7}},
                    overruled={"apology": [note], "thanks": [note]})
    assert result.score == 51 and not result.passed  # 21/41: the not-applicable thanks stays out
    assert list(result.criteria) == ["apology", "greeting", "next_step", "thanks"], "the scorecard's order is kept"
    apology = result.criteria["apology"]
    assert (apology["met"], apology["points"], apology["machine_met"], apology["machine_points"]) == (True, 15, False, 0)
    assert apology["overruled_by"] == [{"reviewer": "Terry", "reason": "It is an apology.",
                                        "at": "2026-12-01T10:00:00+00:00", "check": "apology", "turn": 2,
                                        "found": True}]
    assert "overruled_by" not in result.criteria["thanks"], "a criterion not applicable stays so"
    assert result.overruled == ["apology"]


def test_an_overrule_rescores_the_page_the_exports_and_hr_status(app, engine, failed):
    trainer = client_as(app, failed["trainer"])
    response = overrule(trainer)
    assert response.status_code == 303
    page = trainer.get("/trainer/sessions/s1").get_data(as_text=True)
    assert "The trainer-adjusted score is 72 / 100 (passed)" in page
    adjusted = re.search(r'id="adjusted-score">(.*?)</p>', page, re.S).group(1)
    assert "72 / 100" in adjusted and "passed" in adjusted
    assert "The machine's score: 54 / 100, not passed" in page
    row = re.search(r'<tr class="met overruled" data-criterion="active_listening">(.*?)</tr>', page, re.S).group(1)
    assert "0 / 17 (not met)" in row and "17 / 17 (met)" in row
    assert "Overruled by <span class=\"who\">Terry Trainer</span>" in row and "It restates the daily crashes." in row

    listed = list(csv.DictReader(io.StringIO(trainer.get("/trainer/sessions.csv").get_data(as_text=True))))
    assert [(r["session_id"], r["score"], r["passed"]) for r in listed] == [("s1", "72", "yes")]
    exported = json.loads(trainer.get("/trainer/sessions/s1/export.json").get_data(as_text=True))
    assert exported["scorecard"]["score"] == 72 and exported["scorecard"]["trainer_adjusted"] is True
    assert exported["scorecard"]["machine_score"] == 54
    assert exported["scorecard"]["criteria"]["active_listening"]["overruled_by"][0]["reviewer"] == "Terry Trainer"

    # Agreement stays per check: one verdict on active listening, where the trainer disagreed.
    agreement = trainer.get("/trainer/agreement").get_data(as_text=True)
    assert "Restating the problem" in agreement
    with db.session_scope(engine) as s:
        table = db.agreement_per_check(session=s)
        assert (table["active_listening"].n, table["active_listening"].trainer_only) == (1, 1)
        cards = db.get_transcript(session=s, session_id="s1").scorecards
        assert [(c.score, c.is_current, c.trainer_adjusted) for c in cards] == [(54, False, False), (72, True, True)]


def test_taking_an_overrule_back_restores_the_machine_score_and_repeats_add_nothing(app, engine, failed):
    trainer = client_as(app, failed["trainer"])
    overrule(trainer)
    overrule(trainer)
    with db.session_scope(engine) as s:
        assert len(db.get_transcript(session=s, session_id="s1").scorecards) == 2, "the same verdict twice adds nothing"
    overrule(trainer, found="no", reason="On second reading it only repeats a word.")
    with db.session_scope(engine) as s:
        t = db.get_transcript(session=s, session_id="s1")
        assert (t.scorecard.score, t.scorecard.trainer_adjusted) == (54, False)
    page = trainer.get("/trainer/sessions/s1").get_data(as_text=True)
    assert 'id="adjusted-score"' not in page and "Score 54 / 100: not passed" in page


def test_an_outcome_override_rescores_the_resolution_criterion(app, engine, failed):
    trainer = client_as(app, failed["trainer"])
    response = trainer.post("/trainer/sessions/s1/outcome", data={
        "outcome": "resolved", "reason": "The customer said thanks and hung up happy.", "csrf_token": trainer.token})
    assert response.status_code == 303
    with db.session_scope(engine) as s:
        card = db.get_transcript(session=s, session_id="s1").scorecard
        assert card.score == 64 and card.criteria["resolution"]["overruled_by"][0]["outcome"] == "resolved"


def test_refresh_without_a_scorecard_does_nothing(engine):
    trainee = add_person(engine, key="rita")
    add_scored_session(engine, "running", user_id=trainee, outcome=None,
                       turns=[{"text": "Hello", "checks": verdicts()}])
    with db.session_scope(engine) as s:
        assert refresh_adjusted_scorecard(session=s, session_id="running") is None


# --- error pages and the sign-in page ---------------------------------------------------------


def test_403_404_and_500_are_pages_in_the_site_layout_with_a_way_home(app, engine, failed):
    trainee = client_as(app, failed["trainee"])
    response = trainee.get("/trainer/")
    page = response.get_data(as_text=True)
    assert response.status_code == 403
    assert 'class="site-header"' in page and "Not for your account" in page
    assert re.search(r'<a href="/" id="error-home">Back to your home page</a>', page)
    missing = trainee.get("/no/such/page")
    assert missing.status_code == 404 and "Page not found" in missing.get_data(as_text=True)
    assert "requested URL was not found" not in missing.get_data(as_text=True)
    gone = client_as(app, failed["trainer"]).get("/trainer/sessions/nope").get_data(as_text=True)
    assert "There is no practice session with that id." in gone and 'href="/trainer/" id="error-home"' in gone


def test_an_unexpected_failure_is_a_500_page_that_shows_no_internals(app):
    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    app.testing = False
    app.config["PROPAGATE_EXCEPTIONS"] = False
    crashed = app.test_client().get("/boom")
    assert crashed.status_code == 500
    text = crashed.get_data(as_text=True)
    assert "Something went wrong" in text and 'href="/signin" id="error-home"' in text and "RuntimeError" not in text and "Traceback" not in text


def test_the_sign_in_page_does_not_name_the_first_administrator_file(app):
    page = app.test_client().get("/signin").get_data(as_text=True)
    assert "first-admin" not in page and "administrator" not in page


# --- the review queue, the weakest checks, the never-met filter --------------------------------


def queue_ids(page: str):
    table = page.split('id="queue-table"', 1)[1].split("</table>", 1)[0] if 'id="queue-table"' in page else ""
    return re.findall(r'<tr data-session="([^"]+)">', table)


def test_the_queue_lists_a_failed_assessment_and_empties_after_review_and_sign_off(app, engine, failed):
    from bot.db import assignments, curriculum_edits

    with db.session_scope(engine) as s:
        curriculum = curriculum_edits.create_curriculum(
            session=s, name="Onboarding", scenario_ids=["laptop_at_home_service"], personas=["angry"],
            items=[curriculum_edits.ItemSpec(scenario="laptop_at_home_service", persona="angry", pass_mark="70")])
        assignments.assign_curriculum(session=s, curriculum_id=curriculum.id, team="North").created_at = (
            db.get_session(session=s, session_id="s1").started_at - timedelta(days=1))
    trainer = client_as(app, failed["trainer"])
    page = trainer.get("/trainer/").get_data(as_text=True)
    assert page.index('id="review-queue"') < page.index('id="filter-form"'), "the queue comes first"
    assert queue_ids(page) == ["s1"]
    row = page.split('<tr data-session="s1">')[1].split("</tr>")[0]
    assert "Failed assessment" in row and "Machine unsure (near miss)" in row and "Never reviewed" in row
    counts = dict(re.findall(r'<li data-reason="(\w+)"><span class="count-n">(\d+)</span>', page))
    assert counts == {"failed_assessment": "1", "low_confidence": "1", "never_reviewed": "1"}

    overrule(trainer)  # 54 -> 72: now a pass, which waits for a sign-off
    page = trainer.get("/trainer/").get_data(as_text=True)
    row = page.split('<tr data-session="s1">')[1].split("</tr>")[0]
    assert "Pass awaiting sign-off" in row and "Failed assessment" not in row and "(trainer-adjusted)" in row
    signed = trainer.post("/hr/sign-offs", data={"session_id": "s1", "csrf_token": trainer.token},
                          follow_redirects=True)
    assert "score 72. The pass is certified" in signed.get_data(as_text=True)
    page = trainer.get("/trainer/").get_data(as_text=True)
    assert queue_ids(page) == [] and 'id="queue-empty"' in page


def test_defensive_sessions_come_before_sessions_only_never_reviewed(app, engine, failed):
    add_scored_session(engine, "calm", user_id=failed["trainee"], mode="coach",
                       turns=[{"text": "Hi", "checks": verdicts(greeting=["Hi"])}])
    add_scored_session(engine, "blame", user_id=failed["trainee"], mode="coach", started_at=T0 - timedelta(days=1),
                       turns=[{"text": "Not my fault.", "checks": verdicts(defensive=["Not my fault"])}])
    page = client_as(app, failed["trainer"]).get("/trainer/").get_data(as_text=True)
    assert queue_ids(page) == ["s1", "blame", "calm"]


def test_the_weakest_checks_per_team_are_charted_with_a_text_description(app, engine, failed):
    other = add_person(engine, key="sam", name="Sam South", team="South")
    add_scored_session(engine, "south", user_id=other, turns=[{"text": GOOD_REPLY, "checks": good_checks()}])
    trainer = client_as(app, failed["trainer"])
    page = trainer.get("/trainer/?period_from=2026-11-01&period_to=2026-11-30").get_data(as_text=True)
    description = re.search(r'<desc id="weak-svg-desc">(.*?)</desc>', page, re.S).group(1)
    assert description.startswith("Least often met criteria per team. North (1 session): ")
    assert "Restated the customer&#39;s issue with its details met in 0 of 1 (0%)" in description
    assert "South (1 session): " in description and "Concrete next step with a time met in 0 of 1 (0%)" in description
    assert page.count("<rect class=\"bar\"") == 5  # North missed 3 criteria, South 2: criteria met every time are not drawn
    empty = trainer.get("/trainer/?period_from=2025-01-01&period_to=2025-01-31").get_data(as_text=True)
    assert 'id="weak-empty"' in empty
    bad = trainer.get("/trainer/?period_from=2026-12-01&period_to=2026-11-01")
    assert bad.status_code == 400 and 'aria-describedby="period-to-error"' in bad.get_data(as_text=True)


def test_the_never_met_filter_finds_sessions_without_a_check_in_any_reply(app, engine, failed):
    add_scored_session(engine, "sorry", user_id=failed["trainee"], mode="coach",
                       turns=[{"text": "Hi", "checks": verdicts()},
                              {"text": "I'm sorry.", "checks": verdicts(apology=["I'm sorry"])}])
    add_scored_session(engine, "never", user_id=failed["trainee"], mode="coach",
                       turns=[{"text": "Hi", "checks": verdicts()}])
    trainer = client_as(app, failed["trainer"])

    def listed(url):
        page = trainer.get(url).get_data(as_text=True)
        table = page.split('id="sessions-table"', 1)[1].split("</table>", 1)[0] if 'id="sessions-table"' in page else ""
        return re.findall(r'href="/trainer/sessions/([^"]+)" class="row-link">', table)

    assert sorted(listed("/trainer/?unmet=apology")) == ["never"]
    assert sorted(listed("/trainer/?unmet=next_step")) == ["never", "s1", "sorry"]
    assert trainer.get("/trainer/?unmet=nonsense").status_code == 400


def test_every_cell_of_a_list_row_links_to_the_transcript_and_only_one_is_tabbable(app, engine, failed):
    page = client_as(app, failed["trainer"]).get("/trainer/").get_data(as_text=True)
    row = page.split('id="sessions-table"', 1)[1].split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert row.count('href="/trainer/sessions/s1"') == 8
    assert row.count('tabindex="-1" aria-hidden="true"') == 7


def test_the_landing_page_shows_the_25_most_urgent_and_all_on_request(app, engine, failed, monkeypatch):
    from bot.web import trainer as trainer_pages

    monkeypatch.setattr(trainer_pages, "QUEUE_ROWS", 1)
    add_scored_session(engine, "second", user_id=failed["trainee"], mode="coach",
                       turns=[{"text": "Hi", "checks": verdicts(greeting=["Hi"])}])
    client = client_as(app, failed["trainer"])
    page = client.get("/trainer/").get_data(as_text=True)
    assert queue_ids(page) == ["s1"] and "The 1 most urgent of 2 sessions" in page and 'id="queue-all"' in page
    assert queue_ids(client.get("/trainer/?queue=all").get_data(as_text=True)) == ["s1", "second"]
