"""The HR pages (bot/web/hr.py) through Flask's test client, on a migrated SQLite database."""
from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Optional

import pytest
from flask import Flask
from sqlalchemy.engine import URL

from bot import db
from bot.db import assignments
from bot.web import create_app
from bot.web.hr import safe_cell

PASSWORD = "correct horse battery"
LAPTOP = "laptop_at_home_service"
PARCEL = "parcel_marked_delivered"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def app(tmp_path, monkeypatch) -> Flask:
    monkeypatch.setattr("bot.db.users.PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    url = URL.create("sqlite", database=str(tmp_path / "coach.db")).render_as_string(hide_password=False)
    db.upgrade(url)
    app = create_app({
        "RASA_URL": "http://127.0.0.1:9", "SECRET_KEY": "test-secret", "DATABASE_URL": url, "HR_TODAY": "2026-12-01",
    })
    app.testing = True
    yield app
    app.extensions["db_engine"].dispose()


def new_user(app, *, role="trainee", name=None, team=None) -> Dict[str, Any]:
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.test"
    with db.session_scope(app.extensions["db_engine"]) as s:
        user = db.create_user(session=s, email=email, name=name or role.title(), password=PASSWORD, role=role, team=team)
        return {"id": user.id, "email": email, "password": PASSWORD}


def token_of(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def client_for(app, user) -> Any:
    client = app.test_client()
    token = token_of(client.get("/signin").get_data(as_text=True))
    response = client.post("/signin", data={"email": user["email"], "password": user["password"], "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)
    client.token = token_of(client.get("/hr/me").get_data(as_text=True))
    client.user = user
    return client


def post(client, path, data=None, **kwargs):
    return client.post(path, data={"csrf_token": client.token, **(data or {})}, **kwargs)


def upload(client, text: str):
    return post(client, "/hr/roster", {"roster": (io.BytesIO(text.encode("utf-8")), "roster.csv")},
                content_type="multipart/form-data")


def attempt(app, sid, user_id, score: Optional[int], *, scenario=LAPTOP, persona="angry", mode="assessment", at=T0):
    with db.session_scope(app.extensions["db_engine"]) as s:
        db.record_session_start(session=s, session_id=sid, sender_id=f"s-{sid}", scenario=scenario, persona=persona,
                                mode=mode, user_id=user_id, started_at=at)
        db.record_session_end(session=s, session_id=sid, outcome="resolved", ended_at=at + timedelta(minutes=4))
        if score is not None:
            db.add_scorecard(session=s, session_id=sid, score=score, passed=score >= 70, pass_mark=70, outcome="resolved",
                             criteria={"apology": {"label": "Apology", "met": True, "weight": 15, "points": 15}},
                             rubric_version=1, checks_version="1")


def curriculum_form(name, *rows) -> Dict[str, str]:
    data = {"name": name}
    for n, row in enumerate(rows):
        for key, value in row.items():
            data[f"item-{n}-{key}"] = value
    return data


def setup_curriculum(app, hr_client, *, team="North", due="2026-12-10"):
    response = post(hr_client, "/hr/curricula", curriculum_form(
        "Onboarding",
        {"scenario": LAPTOP, "persona": "angry", "mode": "assessment", "pass_mark": "70", "due_date": due},
        {"scenario": PARCEL, "persona": "dispassionate", "mode": "assessment", "pass_mark": "60", "due_date": ""},
    ))
    assert response.status_code == 302
    with db.session_scope(app.extensions["db_engine"]) as s:
        cid = assignments.list_curricula(session=s)[0].id
    assert post(hr_client, f"/hr/curricula/{cid}/assignments", {"team": team}).status_code == 302
    backdate_assignments(app, cid)
    return cid


def backdate_assignments(app, cid, when=T0 - timedelta(days=1)):
    """Only attempts from the day of the assignment count: these tests' attempts are at T0, so the
    assignment is dated the day before."""
    with db.session_scope(app.extensions["db_engine"]) as s:
        for assignment in assignments.assignments_of(session=s, curriculum_id=cid):
            assignment.created_at = when


@pytest.fixture
def hr(app):
    return client_for(app, new_user(app, role="hr", name="Hanna HR"))


@pytest.fixture
def trainer(app):
    return client_for(app, new_user(app, role="trainer", name="Rita Trainer"))


# --- who may open what -----------------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_sign_in(app):
    client = app.test_client()
    for path in ("/hr/", "/hr/roster", "/hr/curricula", "/hr/me", "/hr/export.csv", "/hr/statements.json"):
        response = client.get(path)
        assert response.status_code == 302 and "/signin" in response.headers["Location"], path


def test_roles(app, hr, trainer):
    trainee = client_for(app, new_user(app, team="North"))
    hr_only = ("/hr/", "/hr/roster", "/hr/curricula", "/hr/export.csv", "/hr/statements.json")
    for path in hr_only + ("/hr/sign-offs", f"/hr/trainees/{hr.user['id']}"):
        assert trainee.get(path).status_code == 403, path
    for path in hr_only:
        assert hr.get(path).status_code == 200, path
        assert trainer.get(path).status_code == 403, path
    # HR sees completion, not transcripts, and does not sign off.
    assert hr.get("/hr/sign-offs").status_code == 403
    assert post(hr, "/hr/sign-offs", {"session_id": "x"}).status_code == 403
    assert hr.get("/trainer/").status_code == 403
    assert trainer.get(f"/hr/trainees/{trainee.user['id']}").status_code == 200
    assert trainer.get("/hr/sign-offs").status_code == 200
    admin = client_for(app, new_user(app, role="admin"))
    for path in hr_only + ("/hr/sign-offs",):
        assert admin.get(path).status_code == 200, path
    assert hr.get("/hr/trainees/999999").status_code == 404


def test_a_form_without_the_csrf_token_is_refused(app, hr):
    response = hr.post("/hr/curricula", data=curriculum_form("X", {"scenario": LAPTOP, "persona": "angry"}))
    assert response.status_code == 400
    with db.session_scope(app.extensions["db_engine"]) as s:
        assert assignments.list_curricula(session=s) == []


# --- roster ----------------------------------------------------------------------------------


def test_roster_import_shows_passwords_once_and_reports_bad_rows(app, hr):
    response = upload(hr, "name,email,team,start date\n"
                          "Ada <b>Lovelace</b>,ada@example.com,North,2026-11-02\n"
                          "Broken,not-an-address,North,2026-11-02\n"
                          "Bob,bob@example.com,North,yesterday\n")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Line 3: &#39;not-an-address&#39; is not an e-mail address" in html
    assert "Line 4: the start date &#39;yesterday&#39; is not a date" in html
    assert "shown only once" in html
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in html and "<b>Lovelace" not in html
    password = re.search(r'<code class="password">([^<]+)</code>', html).group(1)
    # The generated password signs Ada in.
    ada = client_for(app, {"email": "ada@example.com", "password": password})
    assert "My progress" in ada.get("/hr/me").get_data(as_text=True)

    # The download posts back what the page shows, as CSV.
    fields = re.findall(r'<input type="hidden" name="(name|email|team|password)" value="([^"]*)">', html)
    form: Dict[str, list] = {}
    for key, value in fields:
        form.setdefault(key, []).append(value.replace("&lt;", "<").replace("&gt;", ">"))
    download = hr.post("/hr/roster/passwords.csv", data={"csrf_token": hr.token, **form})
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.headers["Cache-Control"] == "no-store"
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(download.get_data(as_text=True))))
    assert rows == [{"name": "Ada <b>Lovelace</b>", "email": "ada@example.com", "team": "North", "initial_password": password}]

    # Importing again updates Ada and shows no password: it was shown once.
    again = upload(hr, "name,email,team,start date\nAda King,ADA@example.com,South,2026-11-02\n")
    html = again.get_data(as_text=True)
    assert "0 new, 1 updated" in html and password not in html and 'class="password"' not in html
    with db.session_scope(app.extensions["db_engine"]) as s:
        user = db.get_user_by_email(session=s, email="ada@example.com")
        assert (user.name, user.team) == ("Ada King", "South")


@pytest.mark.parametrize(
    "text, message",
    [
        ("name,mail,team\nAda,ada@example.com,North\n", "missing: email, start date"),
        ('name,email,team,start date\n"Ada,ada@example.com,North,2026-11-02\n', "not valid CSV"),
    ],
)
def test_a_broken_roster_is_refused_with_a_clear_message(app, hr, text, message):
    response = upload(hr, text)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html and "Nothing was imported" in html
    with db.session_scope(app.extensions["db_engine"]) as s:
        assert db.get_user_by_email(session=s, email="ada@example.com") is None


def test_importing_without_a_file_says_so(hr):
    response = post(hr, "/hr/roster", {}, content_type="multipart/form-data")
    assert response.status_code == 400 and "Choose a CSV file" in response.get_data(as_text=True)


# --- curricula -------------------------------------------------------------------------------


def test_a_bad_curriculum_is_refused_and_the_form_keeps_what_was_typed(app, hr):
    response = post(hr, "/hr/curricula", curriculum_form(
        "Onboarding",
        {"scenario": "no_such_scenario", "persona": "angry", "mode": "assessment", "pass_mark": "70", "due_date": ""},
        {"scenario": LAPTOP, "persona": "angry", "mode": "assessment", "pass_mark": "70", "due_date": "2026-13-01"},
    ))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Scenario 1: unknown scenario id &#39;no_such_scenario&#39;" in html
    assert "Scenario 2: the due date &#39;2026-13-01&#39; is not a date" in html
    assert 'value="Onboarding"' in html and 'value="2026-13-01"' in html
    assert '<option value="no_such_scenario" selected>' in html
    with db.session_scope(app.extensions["db_engine"]) as s:
        assert assignments.list_curricula(session=s) == []


def test_define_and_assign_a_curriculum(app, hr):
    tina = new_user(app, name="Tina", team="North")
    cid = setup_curriculum(app, hr)
    assert post(hr, f"/hr/curricula/{cid}/assignments", {"user_id": str(tina["id"])}).status_code == 302
    html = hr.get("/hr/curricula").get_data(as_text=True)
    assert "Curriculum &#39;Onboarding&#39; saved" in html
    assert "Team North" in html and tina["email"] in html and "2026-12-10" in html and "No deadline" in html
    nothing = post(hr, f"/hr/curricula/{cid}/assignments", {})
    assert nothing.status_code == 400 and "Choose trainees or a team" in nothing.get_data(as_text=True)
    assert post(hr, "/hr/curricula/9999/assignments", {"team": "North"}).status_code == 404
    with db.session_scope(app.extensions["db_engine"]) as s:
        assert len(assignments.assigned_scenarios(session=s, user_id=tina["id"])) == 2


# --- status, sign-off, exports ---------------------------------------------------------------


def test_overview_detail_sign_off_and_exports(app, hr, trainer):
    tina = new_user(app, name="Tina", team="North")
    nick = new_user(app, name="=HYPERLINK(\"http://x\")", team="North")
    setup_curriculum(app, hr, due="2026-11-30")  # already past on HR_TODAY
    attempt(app, "tina-fail", tina["id"], 52, at=T0)
    attempt(app, "tina-pass", tina["id"], 81, at=T0 + timedelta(hours=1))
    attempt(app, "nick-parcel", nick["id"], 59, scenario=PARCEL, persona="dispassionate")

    overview = hr.get("/hr/?team=North").get_data(as_text=True)
    counts = dict(re.findall(r'data-status="(\w+)"><span class="count-n">(\d+)</span>', overview))
    assert counts == {"not_started": "1", "in_progress": "0", "overdue": "1", "did_not_pass": "1", "passed": "1",
                      "certified": "0"}
    assert 'id="team-table"' not in overview  # one team shown: no breakdown by team
    by_team = hr.get("/hr/").get_data(as_text=True).split('id="team-table"')[1].split("</table>")[0]
    assert re.search(r'team=North">North</a></td>\s*<td>1</td>\s*<td>0</td>\s*<td>1</td>\s*<td>1</td>\s*<td>1</td>', by_team)
    overdue = overview.split('id="overdue-table"')[1].split("</table>")[0]
    assert "=HYPERLINK" in overdue and "Tina" not in overdue

    # HR sees the scores, but no transcript and no sign-off button.
    detail = hr.get(f"/hr/trainees/{tina['id']}").get_data(as_text=True)
    assert "81" in detail and "Awaiting sign-off" in detail
    assert "Sign off" not in detail and "/trainer/sessions/" not in detail and "Transcript" not in detail

    # The trainer reaches the pass from the sign-off list and from the trainee's page.
    waiting = trainer.get("/hr/sign-offs").get_data(as_text=True)
    assert "Tina" in waiting and 'value="tina-pass"' in waiting
    detail = trainer.get(f"/hr/trainees/{tina['id']}").get_data(as_text=True)
    assert detail.count('class="sign-off-button"') == 1 and 'value="tina-pass"' in detail
    if "trainer.transcript" in app.view_functions:
        assert "/trainer/sessions/tina-pass" in detail
    refused = post(trainer, "/hr/sign-offs", {"session_id": "tina-fail"}, follow_redirects=True)
    assert "Not signed off: That attempt does not reach the pass mark" in refused.get_data(as_text=True)
    done = post(trainer, "/hr/sign-offs", {"session_id": "tina-pass", "note": "Solid <ok>"}, follow_redirects=True)
    html = done.get_data(as_text=True)
    assert "The pass is certified" in html and "Signed off by Rita Trainer" in html and "Solid &lt;ok&gt;" in html
    assert "No pass is waiting" in trainer.get("/hr/sign-offs").get_data(as_text=True)
    # HR sees the sign-off, still without a way to give one.
    detail = hr.get(f"/hr/trainees/{tina['id']}").get_data(as_text=True)
    assert "Certified: signed off by Rita Trainer" in detail and "sign-off-button" not in detail

    exported = hr.get("/hr/export.csv")
    assert exported.mimetype == "text/csv" and "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    table = {(r["email"], r["scenario"]): r for r in rows}
    assert len(rows) == 4
    laptop = table[(tina["email"], LAPTOP)]
    assert (laptop["status"], laptop["attempts"], laptop["best_score"], laptop["certified"], laptop["signed_off_by"]) == (
        "passed", "2", "81", "yes", "Rita Trainer")
    assert table[(tina["email"], PARCEL)]["status"] == "not_started"
    assert table[(nick["email"], LAPTOP)]["status"] == "overdue"
    assert table[(nick["email"], PARCEL)]["status"] == "did_not_pass"
    # A name that a spreadsheet would run as a formula is exported as text.
    assert table[(nick["email"], LAPTOP)]["name"] == "'=HYPERLINK(\"http://x\")"

    statements = json.loads(hr.get("/hr/statements.json").get_data(as_text=True))
    verbs = {(st["actor"]["mbox"], st["context"]["extensions"]["urn:support-coach:xapi:session"]): st["verb"]["id"]
             for st in statements}
    assert verbs == {
        (f"mailto:{tina['email']}", "tina-fail"): "http://adlnet.gov/expapi/verbs/failed",
        (f"mailto:{tina['email']}", "tina-pass"): "http://adlnet.gov/expapi/verbs/passed",
        (f"mailto:{nick['email']}", "nick-parcel"): "http://adlnet.gov/expapi/verbs/failed",
    }
    # The team filter narrows the exports too.
    assert hr.get("/hr/export.csv?team=South").get_data(as_text=True).count("\n") == 1
    assert json.loads(hr.get("/hr/statements.json?team=South").get_data(as_text=True)) == []


def test_my_progress_shows_only_my_own(app, hr):
    tina = new_user(app, name="Tina", team="North")
    nick = new_user(app, name="Nick", team="North")
    setup_curriculum(app, hr)
    attempt(app, "tina-1", tina["id"], 90)
    attempt(app, "nick-1", nick["id"], 33)
    mine = client_for(app, tina).get("/hr/me").get_data(as_text=True)
    assert "My progress" in mine and "Passed" in mine and "90" in mine
    assert "33" not in mine and "Nick" not in mine and "sign-off-button" not in mine and "Transcript" not in mine
    # Somebody with nothing assigned is told so, and pointed at their own practice history.
    other = client_for(app, new_user(app, name="Sam", team="South")).get("/hr/me").get_data(as_text=True)
    assert "No training is assigned to you yet" in other and 'href="/me/history/"' in other


def test_the_pages_use_no_inline_script_or_style(app, hr, trainer):
    tina = new_user(app, name="Tina", team="North")
    setup_curriculum(app, hr)
    attempt(app, "tina-1", tina["id"], 90)
    pages = [hr.get(p) for p in ("/hr/", "/hr/roster", "/hr/curricula", f"/hr/trainees/{tina['id']}", "/hr/me")]
    pages.append(trainer.get("/hr/sign-offs"))
    for response in pages:
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "style=" not in html and "<script>" not in html and not re.search(r"\son[a-z]+=", html)
        assert "hr.css" in html


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+49 30", "'+49 30"), ("-5", "'-5"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("Ada", "Ada"), (None, ""), (70, "70"),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected
