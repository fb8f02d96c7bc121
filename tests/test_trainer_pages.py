"""The trainer pages (bot/web/trainer.py) with Flask's test client on a migrated SQLite database,
seeded through bot.db: who may open them, filters and paging, escaping, the review forms,
exports and the agreement figures."""
from __future__ import annotations

import csv
import io
import json
import re
import shutil
import time
from datetime import datetime, timedelta, timezone
from html import unescape
from pathlib import Path
from typing import Any, Dict, List

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import URL

from bot import db
from bot.web import create_app
from bot.web.evidence import CHECK_LABELS, highlight
from bot.web.exports import neutralise
from bot.web.mood_chart import mood_chart

PASSWORD = "correct horse battery staple"
DAY = datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)
SESSION_LINK = re.compile(r'href="/trainer/sessions/([A-Za-z0-9_-]+)"')
HOSTILE = "<script>alert('x')</script> <b>bold</b>"


def verdicts(**found: Any) -> Dict[str, Dict[str, Any]]:
    """Every check not found, except those given as name=[evidence] (found) or name=False."""
    checks = {name: {"found": False, "evidence": [], "tip": f"Try some {name}."} for name in CHECK_LABELS}
    for name, evidence in found.items():
        if evidence is False:
            continue
        checks[name] = {"found": True, "evidence": list(evidence), "tip": None}
    return checks


@pytest.fixture(scope="module")
def migrated_file(tmp_path_factory) -> Path:
    """One migrated SQLite file per module; each test works on a copy (migrating takes a while)."""
    path = tmp_path_factory.mktemp("trainer-db") / "coach.db"
    db.upgrade(URL.create("sqlite", database=str(path)).render_as_string(hide_password=False))
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0
    return path


@pytest.fixture
def app(tmp_path, migrated_file):
    shutil.copyfile(migrated_file, tmp_path / "coach.db")
    url = URL.create("sqlite", database=str(tmp_path / "coach.db")).render_as_string(hide_password=False)
    assert db.current_revision(url) == db.head_revision()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test", "TESTING": True, "RASA_URL": "http://127.0.0.1:9"})
    yield app
    app.extensions["db_engine"].dispose()


@pytest.fixture
def engine(app):
    return app.extensions["db_engine"]


@pytest.fixture
def people(engine, monkeypatch) -> Dict[str, int]:
    # scrypt takes a quarter of a second per user on purpose; these tests sign in by cookie
    # (and once by password, which works with any werkzeug method).
    monkeypatch.setattr(db.users, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    ids = {}
    with db.session_scope(engine) as s:
        for key, name, role in (
            ("trainee", "Tina Trainee", "trainee"),
            ("other", "Omar Other", "trainee"),
            ("trainer", "Terry Trainer", "trainer"),
            ("admin", "Ada Admin", "admin"),
            ("hr", "Hana HR", "hr"),
        ):
            ids[key] = db.create_user(session=s, email=f"{key}@coach.test", name=name, password=PASSWORD, role=role).id
    return ids


def add_session(
    engine,
    session_id: str,
    *,
    user_id: int,
    turns: List[Dict[str, Any]],
    scenario: str = "laptop_at_home_service",
    persona: str = "angry",
    outcome: str = "abandoned",
    score: int = 40,
    started_at: datetime = DAY,
    opening: str = "My laptop crashes every day!",
) -> str:
    with db.session_scope(engine) as s:
        db.record_session_start(
            session=s, session_id=session_id, sender_id=f"sender-{session_id}", scenario=scenario, persona=persona,
            mode="coach", user_id=user_id, start_mood=20, opening=opening, started_at=started_at,
        )
        mood = 20
        for number, turn in enumerate(turns, start=1):
            mood = max(0, min(100, mood + turn.get("change", 10)))
            db.record_turn(
                session=s, session_id=session_id, number=number, trainee_text=turn["text"],
                customer_text=turn.get("answer", "Go on."), checks=turn["checks"], checks_version="test-1",
                mood=mood, mood_change=turn.get("change", 10), rubric_version=1,
            )
        db.record_session_end(session=s, session_id=session_id, outcome=outcome,
                              ended_at=started_at + timedelta(minutes=5))
        db.add_scorecard(
            session=s, session_id=session_id, score=score, passed=score >= 70, pass_mark=70, outcome=outcome,
            rubric_version=1, checks_version="test-1",
            criteria={
                "apology": {"label": "Genuine apology", "met": score >= 15, "weight": 15, "points": 15 if score >= 15 else 0,
                            "explanation": f"Explained for {session_id}: earned at turn 1."},
                "next_step": {"label": "Concrete next step with a time", "met": False, "weight": 20, "points": 0,
                              "explanation": "Not met in any reply."},
            },
        )
    return session_id


def sign_in_as(client, user_id: int) -> None:
    # As bot.web.auth.start_session_for does for a new account (session version 0).
    with client.session_transaction() as session:
        session.update(user_id=user_id, session_version=0, seen=int(time.time()))


def html(response) -> str:
    return response.get_data(as_text=True)


def listed(response) -> List[str]:
    """The sessions in the list (not the review queue above it), one per row: every cell of a row
    links to the transcript, only the first one is in the tab order."""
    page = html(response)
    table = page.split('id="sessions-table"', 1)[1].split("</table>", 1)[0] if 'id="sessions-table"' in page else ""
    return [m.group(1) for m in SESSION_LINK.finditer(table) if table[m.end():].startswith(' class="row-link">')]


def csrf_from(client, url: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html(client.get(url)))
    assert match, "no CSRF field on " + url
    return match.group(1)


@pytest.fixture
def trainer(app, people):
    client = app.test_client()
    sign_in_as(client, people["trainer"])
    return client


@pytest.fixture
def seeded(engine, people) -> Dict[str, str]:
    """Three sessions of two trainees with distinct scenarios, personas, outcomes, days and scores."""
    return {
        "good": add_session(
            engine, "good", user_id=people["trainee"], outcome="resolved", score=85, started_at=DAY,
            turns=[{"text": "Hi Dana, I'm so sorry your laptop keeps crashing.",
                    "checks": verdicts(greeting=["Hi Dana"], apology=["I'm so sorry"], name_use=["Dana"])}],
        ),
        "blame": add_session(
            engine, "blame", user_id=people["trainee"], scenario="phone_warranty_water_damage", persona="dispassionate",
            outcome="churned", score=20, started_at=DAY + timedelta(days=2),
            turns=[{"text": "That is not my fault, the courier lost it.", "change": -15,
                    "checks": verdicts(defensive=["not my fault"])}],
        ),
        "other": add_session(
            engine, "other", user_id=people["other"], outcome="escalated", score=55, started_at=DAY + timedelta(days=5),
            turns=[{"text": "Please reboot the BIOS.", "checks": verdicts(jargon=["BIOS"])}],
        ),
    }


# --- access -----------------------------------------------------------------------------------

TRAINER_URLS = (
    "/trainer/", "/trainer/agreement", "/trainer/sessions/good", "/trainer/sessions.csv",
    "/trainer/sessions.json", "/trainer/sessions/good/export.csv", "/trainer/sessions/good/export.json",
)


@pytest.mark.parametrize("url", TRAINER_URLS)
def test_signed_out_visitors_are_sent_to_sign_in(app, seeded, url):
    response = app.test_client().get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/signin?next=")


@pytest.mark.parametrize("role", ["trainee", "hr"])
@pytest.mark.parametrize("url", TRAINER_URLS)
def test_trainees_and_hr_are_refused(app, people, seeded, role, url):
    client = app.test_client()
    sign_in_as(client, people[role])
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("role", ["trainer", "admin"])
@pytest.mark.parametrize("url", TRAINER_URLS)
def test_trainers_and_admins_may_open_every_page(app, people, seeded, role, url):
    client = app.test_client()
    sign_in_as(client, people[role])
    assert client.get(url).status_code == 200


def test_trainee_cannot_post_an_override(app, people, seeded):
    client = app.test_client()
    sign_in_as(client, people["trainee"])
    token = csrf_from(client, "/")
    response = client.post("/trainer/sessions/good/turns/1/checks",
                           data={"csrf_token": token, "check": "apology", "found": "no", "reason": "mine"})
    assert response.status_code == 403


def test_signing_in_as_a_trainer_lands_on_the_list_with_a_review_link(app, people, seeded):
    client = app.test_client()
    token = csrf_from(client, "/signin")
    response = client.post("/signin", data={"csrf_token": token, "email": "trainer@coach.test", "password": PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/trainer/"
    page = client.get("/trainer/")
    assert '<a href="/trainer/">Review</a>' in html(page)
    assert '<a href="/trainer/agreement">' in html(page)
    assert "<caption" in html(page)


def test_unknown_session_is_404(trainer, seeded):
    assert trainer.get("/trainer/sessions/nope").status_code == 404
    assert trainer.get("/trainer/sessions/nope/export.json").status_code == 404


# --- list, filters, sorting, paging -------------------------------------------------------------


def test_list_shows_every_session_newest_first(trainer, seeded):
    assert listed(trainer.get("/trainer/")) == ["other", "blame", "good"]


@pytest.mark.parametrize(
    "query, expected",
    [
        ("scenario=phone_warranty_water_damage", ["blame"]),
        ("persona=dispassionate", ["blame"]),
        ("outcome=resolved", ["good"]),
        ("date_from=2026-03-12", ["other", "blame"]),
        ("date_to=2026-03-12", ["blame", "good"]),
        ("date_from=2026-03-12&date_to=2026-03-12", ["blame"]),
        ("score_min=50", ["other", "good"]),
        ("score_max=55", ["other", "blame"]),
        ("score_min=21&score_max=84", ["other"]),
        ("flagged=defensive", ["blame"]),
        ("flagged=jargon", ["other"]),
        ("flagged=apology", ["good"]),
        ("sort=score&order=asc", ["blame", "other", "good"]),
        ("sort=score", ["good", "other", "blame"]),
        ("order=asc", ["good", "blame", "other"]),
    ],
)
def test_filters_and_sorting(trainer, seeded, query, expected):
    response = trainer.get("/trainer/?" + query)
    assert response.status_code == 200
    assert listed(response) == expected


def test_trainee_filter(trainer, people, seeded):
    response = trainer.get(f"/trainer/?trainee={people['other']}")
    assert listed(response) == ["other"]
    # The trainee list offers only people with sessions, and keeps the choice selected.
    page = html(response)
    assert f'<option value="{people["other"]}" selected>Omar Other (other@coach.test)</option>' in page
    assert "Terry Trainer" not in page.split('id="f-trainee"')[1].split("</select>")[0]


def test_filter_values_stay_in_the_form(trainer, seeded):
    page = html(trainer.get("/trainer/?persona=angry&score_min=10&date_from=2026-03-01&flagged=apology"))
    assert '<option value="angry" selected>' in page
    assert 'name="score_min" type="number" min="0" max="100" inputmode="numeric" value="10"' in page
    assert 'value="2026-03-01"' in page
    assert '<option value="apology" selected>' in page


def test_outcome_filter_uses_the_trainers_outcome(trainer, engine, people, seeded):
    with db.session_scope(engine) as s:
        db.override_outcome(session=s, session_id="blame", outcome="resolved", reason="She did accept.",
                            reviewer_id=people["trainer"])
    assert listed(trainer.get("/trainer/?outcome=resolved")) == ["blame", "good"]
    assert listed(trainer.get("/trainer/?outcome=churned")) == []


@pytest.mark.parametrize(
    "query, message, kept",
    [
        ("score_min=abc", "The lowest score must be a whole number, not “abc”.", 'value="abc"'),
        ("score_min=150", "The lowest score must be between 0 and 100, not 150.", 'value="150"'),
        ("score_min=80&score_max=20", "The highest score (20) is below the lowest (80).", 'value="20"'),
        ("date_from=2026-02-30", "“From” must be a date like 2026-03-31, not “2026-02-30”.", 'value="2026-02-30"'),
        ("date_from=2026-03-12&date_to=2026-03-01", "“To” is before “From”", 'value="2026-03-01"'),
        ("flagged=rudeness", "There is no check “rudeness”", None),
        ("outcome=won", "Choose an outcome of resolved", None),
        ("page=0", "The page must be at least 1, not 0.", None),
    ],
)
def test_bad_filters_get_a_clear_message_and_keep_what_was_typed(trainer, seeded, query, message, kept):
    response = trainer.get("/trainer/?" + query)
    assert response.status_code == 400
    page = unescape(html(response))
    assert message in page
    assert 'aria-invalid="true"' in page or "page=" in query
    if kept:
        assert kept in page
    assert listed(response) == []
    assert "Fix the filters above to see sessions." in page


def test_paging_keeps_the_filters(trainer, engine, people):
    for i in range(12):
        add_session(engine, f"p{i:02d}", user_id=people["trainee"], started_at=DAY + timedelta(hours=i),
                    persona="angry" if i % 4 else "dispassionate",
                    turns=[{"text": f"Reply {i}", "checks": verdicts()}])
    # 9 angry sessions, 4 per page: 3 pages.
    first = trainer.get("/trainer/?persona=angry&per_page=4")
    assert listed(first) == ["p11", "p10", "p09", "p07"]
    page = unescape(html(first))
    assert "Sessions 1–4 of 9 matching the filters" in page
    assert "Page 1 of 3" in page
    next_link = re.search(r'<a rel="next" href="([^"]+)"', page).group(1)
    assert "persona=angry" in next_link and "per_page=4" in next_link and "page=2" in next_link
    second = trainer.get(next_link)
    assert listed(second) == ["p06", "p05", "p03", "p02"]
    assert 'rel="prev"' in html(second)
    third = trainer.get("/trainer/?persona=angry&per_page=4&page=3")
    assert listed(third) == ["p01"]
    assert 'rel="next"' not in html(third)
    beyond = trainer.get("/trainer/?persona=angry&per_page=4&page=9")
    assert listed(beyond) == [] and "There is no page 9" in html(beyond)


# --- the transcript page ----------------------------------------------------------------------


@pytest.fixture
def hostile(engine, people) -> str:
    """A session where the trainee typed markup, and the customer's lines contain some too."""
    with db.session_scope(engine) as s:
        db.set_role(session=s, user_id=people["other"], role="trainee")
        user = db.get_user(session=s, user_id=people["other"])
        user.name = "<b>Omar</b> <script>x()</script>"
    return add_session(
        engine, "hostile", user_id=people["other"], opening="<i>Opening</i> <script>o()</script>",
        turns=[
            {"text": f"{HOSTILE} Hi Dana, I'm sorry, but that is not my fault.",
             "answer": "<img src=x onerror=alert(1)> Hmm.",
             "checks": verdicts(greeting=["Hi Dana"], name_use=["Dana"], apology=["I'm sorry"],
                                defensive=["not my fault"])},
            {"text": "=HYPERLINK(\"http://evil\") I will call you by 5 pm today.", "change": 20,
             "checks": verdicts(next_step=["I will call you by 5 pm today"])},
        ],
    )


def test_markup_typed_by_the_trainee_shows_as_text_everywhere(trainer, hostile, engine, people):
    with db.session_scope(engine) as s:
        turn = db.get_transcript(session=s, session_id="hostile").turns[0]
        db.add_comment(session=s, turn_id=turn.id, author_id=people["trainer"], text="<b>Nice</b> <script>c()</script>")
        db.override_check(session=s, turn_id=turn.id, check="apology", trainer_found=False,
                          reason="<script>r()</script>", reviewer_id=people["trainer"])
        db.override_outcome(session=s, session_id="hostile", outcome="resolved", reason="<b>why</b>",
                            reviewer_id=people["trainer"])
    for url in ("/trainer/", "/trainer/sessions/hostile"):
        # The page's own script (the "next flagged reply" key) is the one script tag allowed.
        page = html(trainer.get(url)).replace('<script src="/static/review.js" defer></script>', "")
        assert "<script" not in page and "<b>" not in page and "<img" not in page and "<i>" not in page, url
    page = html(trainer.get("/trainer/sessions/hostile"))
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "&lt;b&gt;Nice&lt;/b&gt;" in page and "&lt;script&gt;r()&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    # No inline styles or scripts: the Content-Security-Policy would block them.
    assert "style=" not in page and "onerror=" not in page.replace("onerror=alert(1)&gt;", "")


def test_evidence_is_highlighted_inside_the_escaped_reply(trainer, hostile):
    page = html(trainer.get("/trainer/sessions/hostile"))
    reply = re.search(r'<p class="msg-text trainee-text">(.*?)</p>', page, re.S).group(1)
    assert reply.startswith("&lt;script&gt;")
    good = re.findall(r'<mark class="good"[^>]*>([^<]*)</mark>', reply)
    bad = re.findall(r'<mark class="bad"[^>]*>([^<]*)</mark>', reply)
    assert unescape("".join(good)) == "Hi Dana" + "I'm sorry"
    assert bad == ["not my fault"]
    # Everything typed is there once, in order, marks or not.
    assert unescape(re.sub(r"<[^>]+>", "", reply)) == f"{HOSTILE} Hi Dana, I'm sorry, but that is not my fault."


def test_checks_show_verdict_evidence_and_tip(trainer, hostile):
    page = unescape(html(trainer.get("/trainer/sessions/hostile")))
    row = re.search(r'<tr data-check="defensive">(.*?)</tr>', page, re.S).group(1)
    assert "verdict-bad" in row and "Found" in row and "“not my fault”" in row
    row = re.search(r'<tr data-check="thanks">(.*?)</tr>', page, re.S).group(1)
    assert "Not found" in row and "Tip: Try some thanks." in row
    row = re.search(r'<tr data-check="jargon">(.*?)</tr>', page, re.S).group(1)
    assert "verdict-good" in row and "Not found" in row


def test_opening_customer_lines_mood_chart_and_scorecard(trainer, hostile):
    page = unescape(html(trainer.get("/trainer/sessions/hostile")))
    assert "<i>Opening</i> <script>o()</script>" in page  # unescaped here only to compare the text
    assert "Hmm." in page
    svg = re.search(r"<svg class=\"mood-svg\".*?</svg>", page, re.S).group(0)
    points = re.search(r'<polyline class="curve" points="([^"]+)"', svg).group(1).split()
    assert len(points) == 3  # start, after reply 1, after reply 2
    assert 'role="img"' in svg and "<desc" in svg
    assert "rose from 20 to 50" in page and "At the start 20, after reply 1 30, after reply 2 50." in page
    assert "Genuine apology" in page and "Explained for hostile: earned at turn 1." in page
    assert "Score 40 / 100: not passed (pass mark 70)." in page


def test_transcript_links_its_stylesheet(trainer, hostile, app):
    page = html(trainer.get("/trainer/sessions/hostile"))
    assert '<link rel="stylesheet" href="/static/review.css">' in page
    assert trainer.get("/static/review.css").status_code == 200


# --- overrides and comments ---------------------------------------------------------------------

OVERRIDE_URL = "/trainer/sessions/hostile/turns/1/checks"


def count(engine, model) -> int:
    with db.session_scope(engine) as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_overruling_a_check_redirects_and_shows_who_when_why(trainer, hostile, engine):
    token = csrf_from(trainer, "/trainer/sessions/hostile")
    response = trainer.post(OVERRIDE_URL, data={
        "csrf_token": token, "check": "defensive", "found": "no", "reason": "Owning the problem, not blaming."})
    assert response.status_code == 303
    assert response.headers["Location"] == "/trainer/sessions/hostile#turn-1"
    page = unescape(html(trainer.get(response.headers["Location"])))
    assert "Saved: Defensive or blaming words on reply 1 is now “not found”." in page
    row = re.search(r'<tr data-check="defensive">(.*?)</tr>', page, re.S).group(1)
    assert "Terry Trainer" in row and "Owning the problem, not blaming." in row and "UTC" in row
    with db.session_scope(engine) as s:
        (override,) = db.get_transcript(session=s, session_id="hostile").check_overrides
        assert (override.check, override.machine_found, override.trainer_found) == ("defensive", True, False)


def test_override_without_the_csrf_token_is_refused(trainer, hostile, engine):
    response = trainer.post(OVERRIDE_URL, data={"check": "defensive", "found": "no", "reason": "Fine."})
    assert response.status_code == 400
    response = trainer.post(OVERRIDE_URL, data={"csrf_token": "forged", "check": "defensive", "found": "no",
                                                 "reason": "Fine."})
    assert response.status_code == 400
    assert count(engine, db.CheckOverride) == 0


@pytest.mark.parametrize("reason", ["", "   \n\t "])
def test_override_with_an_empty_reason_keeps_what_was_typed(trainer, hostile, engine, reason):
    token = csrf_from(trainer, "/trainer/sessions/hostile")
    response = trainer.post(OVERRIDE_URL, data={"csrf_token": token, "check": "apology", "found": "yes", "reason": reason})
    assert response.status_code == 400
    page = unescape(html(response))
    assert "Say why: an override needs a reason" in page
    form = re.search(r'<details class="review-form" id="ov-1" open>(.*?)</details>', page, re.S).group(1)
    assert '<option value="apology" selected>' in form
    assert 'name="found" value="yes" checked' in form
    assert 'aria-invalid="true" aria-describedby="ov-1-reason-error"' in form
    assert count(engine, db.CheckOverride) == 0


def test_override_of_an_unknown_check_is_refused_with_the_known_ones(trainer, hostile, engine):
    token = csrf_from(trainer, "/trainer/sessions/hostile")
    response = trainer.post(OVERRIDE_URL, data={
        "csrf_token": token, "check": "rudeness", "found": "yes", "reason": "It <b>was</b> rude."})
    assert response.status_code == 400
    page = html(response)
    assert "Reply 1 has no check “rudeness”" in unescape(page) and "Apology" in page
    assert "It &lt;b&gt;was&lt;/b&gt; rude.</textarea>" in page
    assert count(engine, db.CheckOverride) == 0


def test_override_without_a_verdict_is_refused(trainer, hostile, engine):
    token = csrf_from(trainer, "/trainer/sessions/hostile")
    response = trainer.post(OVERRIDE_URL, data={"csrf_token": token, "check": "apology", "reason": "Because."})
    assert response.status_code == 400
    assert "Say whether the behaviour is there" in html(response)
    assert "Because.</textarea>" in html(response)
    assert count(engine, db.CheckOverride) == 0


def test_override_of_a_missing_reply_is_404(trainer, hostile):
    token = csrf_from(trainer, "/trainer/sessions/hostile")
    response = trainer.post("/trainer/sessions/hostile/turns/9/checks",
                            data={"csrf_token": token, "check": "apology", "found": "yes", "reason": "x"})
    assert response.status_code == 404


def test_overruling_the_outcome(trainer, hostile, engine):
    token = csrf_from(trainer, "/trainer/sessions/hostile")
    empty = trainer.post("/trainer/sessions/hostile/outcome", data={"csrf_token": token, "outcome": "resolved", "reason": " "})
    assert empty.status_code == 400
    assert "Say why" in html(empty) and '<option value="resolved" selected>' in html(empty)
    bad = trainer.post("/trainer/sessions/hostile/outcome", data={"csrf_token": token, "outcome": "won", "reason": "x"})
    assert bad.status_code == 400 and "Choose how the conversation really ended." in html(bad)
    assert count(engine, db.OutcomeOverride) == 0

    response = trainer.post("/trainer/sessions/hostile/outcome",
                            data={"csrf_token": token, "outcome": "resolved", "reason": "She accepted the call-back."})
    assert response.status_code == 303 and response.headers["Location"].endswith("#outcome")
    page = html(trainer.get("/trainer/sessions/hostile"))
    assert "She accepted the call-back." in page and "(was abandoned)" in page
    assert "the machine said abandoned" in page
    assert listed(trainer.get("/trainer/?outcome=resolved")) == ["hostile"]


def test_commenting_on_a_turn(trainer, hostile, engine):
    token = csrf_from(trainer, "/trainer/sessions/hostile")
    url = "/trainer/sessions/hostile/turns/2/comments"
    empty = trainer.post(url, data={"csrf_token": token, "text": "  "})
    assert empty.status_code == 400 and "The comment is empty" in html(empty)
    assert '<details class="review-form" id="cm-2" open>' in html(empty)
    assert trainer.post(url, data={"text": "No token"}).status_code == 400
    assert count(engine, db.TurnComment) == 0

    response = trainer.post(url, data={"csrf_token": token, "text": "Good: a time and a channel."})
    assert response.status_code == 303 and response.headers["Location"].endswith("#turn-2")
    page = html(trainer.get("/trainer/sessions/hostile"))
    turn2 = page.split('id="turn-2"')[1]
    assert "Good: a time and a channel." in turn2 and "Terry Trainer" in turn2


# --- exports --------------------------------------------------------------------------------


def read_csv(response) -> List[Dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_session_csv_has_a_row_per_turn_and_neutralises_formulas(trainer, hostile, engine, people):
    with db.session_scope(engine) as s:
        turn = db.get_transcript(session=s, session_id="hostile").turns[0]
        db.override_check(session=s, turn_id=turn.id, check="defensive", trainer_found=False,
                          reason="@SUM(1) it was fine", reviewer_id=people["trainer"])
    response = trainer.get("/trainer/sessions/hostile/export.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="session-hostile.csv"'
    rows = read_csv(response)
    assert [r["turn"] for r in rows] == ["0", "1", "2"]
    assert rows[0]["customer_text"] == "<i>Opening</i> <script>o()</script>"
    assert rows[1]["trainee_text"].startswith("<script>alert")
    assert rows[1]["defensive"] == "no" and rows[1]["defensive_machine"] == "yes"
    assert rows[1]["defensive_evidence"] == "not my fault"
    assert rows[1]["defensive_reason"] == "'@SUM(1) it was fine"
    assert rows[2]["trainee_text"] == "'=HYPERLINK(\"http://evil\") I will call you by 5 pm today."
    assert rows[2]["mood_change"] == "20"


def test_session_json_keeps_machine_and_trainer_apart(trainer, hostile, engine, people):
    with db.session_scope(engine) as s:
        turn = db.get_transcript(session=s, session_id="hostile").turns[0]
        db.override_check(session=s, turn_id=turn.id, check="apology", trainer_found=False,
                          reason="Not genuine.", reviewer_id=people["trainer"])
    response = trainer.get("/trainer/sessions/hostile/export.json")
    assert response.headers["Content-Disposition"] == 'attachment; filename="session-hostile.json"'
    data = json.loads(response.get_data(as_text=True))
    assert data["session_id"] == "hostile" and data["mood_curve"] == [20, 30, 50]
    first = data["turns"][0]
    assert first["trainee_text"].startswith(HOSTILE)
    assert first["checks"]["apology"]["found"] is True
    assert first["trainer_verdicts"]["apology"]["found"] is False
    assert first["trainer_verdicts"]["apology"]["reviewer"]["name"] == "Terry Trainer"
    assert data["scorecard"]["score"] == 40 and "apology" in data["scorecard"]["criteria"]


def test_list_exports_follow_the_filters(trainer, seeded):
    response = trainer.get("/trainer/sessions.csv?score_min=50")
    assert response.mimetype == "text/csv"
    assert re.fullmatch(r'attachment; filename="sessions-\d{8}-\d{4}\.csv"', response.headers["Content-Disposition"])
    rows = read_csv(response)
    assert [r["session_id"] for r in rows] == ["other", "good"]
    assert rows[1]["trainee_email"] == "trainee@coach.test" and rows[1]["passed"] == "yes"

    response = trainer.get("/trainer/sessions.json?flagged=defensive")
    assert response.headers["Content-Disposition"].endswith('.json"')
    data = json.loads(response.get_data(as_text=True))
    assert data["filters"] == {"flagged": "defensive"} and data["total"] == 1
    assert data["sessions"][0]["session_id"] == "blame"
    assert data["sessions"][0]["outcome"] == "churned" and data["sessions"][0]["score"] == 20


def test_list_export_with_bad_filters_is_400(trainer, seeded):
    response = trainer.get("/trainer/sessions.csv?score_min=lots")
    assert response.status_code == 400
    assert "The lowest score must be a whole number" in unescape(html(response))


def test_list_page_links_its_exports_with_the_filters(trainer, seeded):
    page = unescape(html(trainer.get("/trainer/?persona=angry&page=1")))
    assert 'href="/trainer/sessions.csv?persona=angry"' in page
    assert 'href="/trainer/sessions.json?persona=angry"' in page


def test_trainee_name_in_a_list_export_is_neutralised(trainer, engine, people, seeded):
    with db.session_scope(engine) as s:
        db.get_user(session=s, user_id=people["other"]).name = "=cmd|' /C calc'!A0"
    rows = read_csv(trainer.get("/trainer/sessions.csv"))
    assert [r["trainee_name"] for r in rows if r["session_id"] == "other"] == ["'=cmd|' /C calc'!A0"]


# --- agreement --------------------------------------------------------------------------------


def agreement_row(page: str, check: str) -> Dict[str, str]:
    row = re.search(rf'<tr data-check="{check}"[^>]*>(.*?)</tr>', page, re.S).group(1)
    cells = dict(re.findall(r'<td class="(\w+)">(.*?)</td>', row, re.S))
    return {k: re.sub(r"<[^>]+>", "", v).strip() for k, v in cells.items()}


def test_agreement_figures_per_check(trainer, engine, people):
    """Apology on four replies: the machine found it on two; the trainer agrees on one of those
    and on both misses. Observed 3/4; chance (1/2 * 1/4 + 1/2 * 3/4) = 1/2; kappa 0.5."""
    machine = [True, True, False, False]
    trainer_says = [True, False, False, False]
    add_session(engine, "agree", user_id=people["trainee"], turns=[
        {"text": f"Reply {i}", "checks": verdicts(apology=["sorry"] if found else False, defensive=["not me"])}
        for i, found in enumerate(machine)
    ])
    page = html(trainer.get("/trainer/agreement"))
    assert agreement_row(page, "apology")["n"] == "0"
    assert agreement_row(page, "apology")["kappa"] == "—"
    with db.session_scope(engine) as s:
        turns = db.get_transcript(session=s, session_id="agree").turns
        for turn, verdict in zip(turns, trainer_says):
            db.override_check(session=s, turn_id=turn.id, check="apology", trainer_found=verdict, reason="Reviewed.",
                              reviewer_id=people["trainer"])
        # Defensive: the trainer disagrees once, then changes their mind; only the latest counts.
        db.override_check(session=s, turn_id=turns[0].id, check="defensive", trainer_found=False, reason="Hm.",
                          reviewer_id=people["trainer"])
        db.override_check(session=s, turn_id=turns[1].id, check="defensive", trainer_found=False, reason="No.",
                          reviewer_id=people["admin"])
    page = unescape(html(trainer.get("/trainer/agreement")))
    apology = agreement_row(page, "apology")
    assert apology == {"n": "4", "agreement": "75%", "kappa": "0.50", "cells": "1 / 1 / 0 / 2",
                       "standing": "Good (fewer than 10 verdicts)"}
    defensive = agreement_row(page, "defensive")
    assert defensive["n"] == "2" and defensive["agreement"] == "0%" and defensive["kappa"] == "0.00"
    assert defensive["standing"].startswith("Weak")
    assert 'class="standing-weak"' in page.split('data-check="defensive"')[1][:40]
    assert agreement_row(page, "thanks")["standing"] == "not reviewed yet"
    with db.session_scope(engine) as s:
        turns = db.get_transcript(session=s, session_id="agree").turns
        db.override_check(session=s, turn_id=turns[0].id, check="defensive", trainer_found=True, reason="Yes after all.",
                          reviewer_id=people["trainer"])
    defensive = agreement_row(unescape(html(trainer.get("/trainer/agreement"))), "defensive")
    assert defensive["n"] == "2" and defensive["agreement"] == "50%" and defensive["cells"] == "1 / 1 / 0 / 0"


# --- helpers ----------------------------------------------------------------------------------


def test_check_labels_cover_exactly_the_checks():
    from bot.checks import CHECK_NAMES

    # broken_promise is the one check the simulation adds to the reply checks.
    assert set(CHECK_LABELS) == set(CHECK_NAMES) | {"broken_promise"}


def test_highlight_splits_overlapping_evidence():
    segments = highlight("Hi Dana, sorry.", {
        "greeting": {"found": True, "evidence": ["Hi Dana"]},
        "name_use": {"found": True, "evidence": ["dana"]},
        "apology": {"found": False, "evidence": ["sorry"]},
    })
    assert [(s.text, s.checks, s.kind) for s in segments] == [
        ("Hi ", ("greeting",), "good"), ("Dana", ("greeting", "name_use"), "good"), (", sorry.", (), ""),
    ]


def test_highlight_prefers_the_exact_words_judged():
    segments = highlight("Sorry, I said sorry.", {"apology": {"found": True, "evidence": ["sorry"]}})
    assert [(s.text, s.kind) for s in segments] == [("Sorry, I said ", ""), ("sorry", "good"), (".", "")]
    segments = highlight("SORRY!", {"apology": {"found": True, "evidence": ["sorry"]}})
    assert [(s.text, s.kind) for s in segments] == [("SORRY", "good"), ("!", "")]


def test_highlight_marks_bad_checks_bad_and_every_occurrence():
    segments = highlight("no, no: not my fault.", {"defensive": {"found": True, "evidence": ["no", "not my fault"]}})
    assert [(s.text, s.kind) for s in segments] == [
        ("no", "bad"), (", ", ""), ("no", "bad"), (": ", ""), ("not my fault", "bad"), (".", ""),
    ]


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+44 20", "'+44 20"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("plain", "plain"), ("", ""), (-2, -2), (None, None),
])
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_mood_chart_geometry_and_text():
    chart = mood_chart([20, 0, 100])
    assert [p.mood for p in chart.points] == [20, 0, 100]
    assert chart.points[1].y == chart.bottom_edge and chart.points[2].y == 14
    assert chart.points[0].x == chart.left and chart.points[2].x == chart.right_edge
    assert chart.description.startswith("The customer's mood (0 furious, 100 satisfied) rose from 20 to 100.")
    assert mood_chart([]).description == "No mood was recorded."
    assert "ended where it began" in mood_chart([40]).description


def test_list_session_owners_on_both_databases(storage_engine, monkeypatch):
    """The trainee filter's choices: people with at least one session, by name (bot.db helper)."""
    monkeypatch.setattr(db.users, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    with db.session_scope(storage_engine) as s:
        zoe = db.create_user(session=s, email="zoe@coach.test", name="Zoe", password=PASSWORD)
        abe = db.create_user(session=s, email="abe@coach.test", name="Abe", password=PASSWORD)
        db.create_user(session=s, email="idle@coach.test", name="Idle", password=PASSWORD)
        ids = {"zoe": zoe.id, "abe": abe.id}
    for key, session_id in (("zoe", "z1"), ("zoe", "z2"), ("abe", "a1")):
        with db.session_scope(storage_engine) as s:
            db.record_session_start(session=s, session_id=session_id, sender_id=session_id, scenario="x",
                                    persona="angry", mode="coach", user_id=ids[key])
    with db.session_scope(storage_engine) as s:
        db.record_session_start(session=s, session_id="anon", sender_id="anon", scenario="x", persona="angry",
                                mode="coach")
        assert [u.name for u in db.list_session_owners(session=s)] == ["Abe", "Zoe"]
