"""HR records that say what matters (issue 15), through Flask's test client: assignments only to
teams and people that exist, late passes, attempts from the assignment on, "nothing assigned",
fields in error marked, and curricula edited and deleted without losing attempts or sign-offs."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from bot import db
from bot.db import assignments, progress
from bot.db.models import SignOff
from tests.test_hr_pages import (  # noqa: F401  (app is a fixture)
    LAPTOP,
    PARCEL,
    T0,
    app,
    attempt,
    backdate_assignments,
    client_for,
    curriculum_form,
    new_user,
    post,
)


def make_curriculum(app, hr, *, due="2026-11-25", name="Onboarding"):
    response = post(hr, "/hr/curricula", curriculum_form(
        name, {"scenario": LAPTOP, "persona": "angry", "mode": "assessment", "pass_mark": "70", "due_date": due}))
    assert response.status_code == 302, response.get_data(as_text=True)
    with db.session_scope(app.extensions["db_engine"]) as s:
        return next(c.id for c in assignments.list_curricula(session=s) if c.name == name)


def test_a_misspelled_team_is_refused_with_the_field_marked_and_a_suggestion(app):
    hr = client_for(app, new_user(app, role="hr"))
    tina = new_user(app, name="Tina", team="North")
    cid = make_curriculum(app, hr)
    response = post(hr, f"/hr/curricula/{cid}/assignments", {"team": "Nrth", "user_id": str(tina["id"])})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    field = re.search(rf'<input type="text" id="assign-{cid}-team"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in field and "autofocus" in field and 'value="Nrth"' in field
    assert f'aria-describedby="assign-{cid}-team-error assign-{cid}-team-hint"' in field
    assert re.search(rf'id="assign-{cid}-team-error"[^>]*>There is no team “Nrth”.*Did you mean “North”\?', page)
    assert '<option value="North">' in page, "the existing teams are offered as suggestions"
    with db.session_scope(app.extensions["db_engine"]) as s:
        assert assignments.assignments_of(session=s, curriculum_id=cid) == [], "nothing was assigned, not even Tina"
    # Case and spaces do not matter: " north " is the team North.
    assert post(hr, f"/hr/curricula/{cid}/assignments", {"team": " north "}).status_code == 302
    with db.session_scope(app.extensions["db_engine"]) as s:
        assert [a.team for a in assignments.assignments_of(session=s, curriculum_id=cid)] == ["North"]


def test_a_late_pass_is_flagged_with_its_date_on_the_pages_and_in_the_csv(app):
    hr = client_for(app, new_user(app, role="hr"))
    tina = new_user(app, name="Tina Late", team="North")
    cid = make_curriculum(app, hr, due="2026-11-25")
    assert post(hr, f"/hr/curricula/{cid}/assignments", {"team": "North"}).status_code == 302
    backdate_assignments(app, cid)
    attempt(app, "early-fail", tina["id"], 40, at=T0)
    attempt(app, "late-pass", tina["id"], 80, at=T0 + timedelta(days=8))  # 2026-11-28, 3 days after the due date
    overview = hr.get("/hr/").get_data(as_text=True)
    late = overview.split('id="late-table"')[1].split("</table>")[0]
    assert "Tina Late" in late and "2026-11-25" in late and "2026-11-28" in late and '<td class="late">3</td>' in late
    detail = hr.get(f"/hr/trainees/{tina['id']}").get_data(as_text=True)
    assert "Late: passed 2026-11-28, 3 days after the due date" in detail
    assert '<dd class="pass-date">2026-11-28 <strong class="late">(3 days late)</strong>' in detail
    rows = list(csv.DictReader(io.StringIO(hr.get("/hr/export.csv").get_data(as_text=True))))
    (row,) = rows
    assert (row["status"], row["pass_date"], row["days_late"]) == ("passed", "2026-11-28", "3")
    assert row["last_attempt"] == "2026-11-28T09:04:00+00:00"


def test_only_attempts_from_the_day_of_the_assignment_count(app):
    hr = client_for(app, new_user(app, role="hr"))
    tina = new_user(app, name="Tina", team="North")
    attempt(app, "before", tina["id"], 95, at=T0 - timedelta(days=3))
    cid = make_curriculum(app, hr, due="")
    assert post(hr, f"/hr/curricula/{cid}/assignments", {"user_id": str(tina["id"])}).status_code == 302
    backdate_assignments(app, cid, when=T0 - timedelta(days=1))
    attempt(app, "same-day", tina["id"], 50, at=T0 - timedelta(days=1, hours=-2))
    with db.session_scope(app.extensions["db_engine"]) as s:
        (row,) = progress.trainee_progress(session=s, user_id=tina["id"])
        assert [a.session_id for a in row.attempts] == ["same-day"] and row.status == "did_not_pass"


def test_people_and_teams_with_nothing_assigned_say_so(app):
    hr = client_for(app, new_user(app, role="hr"))
    new_user(app, name="Nobody Assigned", team="South")
    page = hr.get("/hr/").get_data(as_text=True)
    trainees = page.split('id="trainee-table"')[1].split("</table>")[0]
    assert "Nobody Assigned" in trainees and 'class="nothing-assigned">Nothing assigned</td>' in trainees
    assert "<td>0</td>" not in trainees


def test_due_dates_are_date_inputs_and_a_bad_one_is_focused_and_described(app):
    hr = client_for(app, new_user(app, role="hr"))
    page = hr.get("/hr/curricula").get_data(as_text=True)
    assert '<input type="date" id="item-0-due_date"' in page
    response = post(hr, "/hr/curricula", curriculum_form(
        "Bad", {"scenario": LAPTOP, "persona": "angry", "mode": "assessment", "pass_mark": "70", "due_date": "31/12"}))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    field = re.search(r'<input type="date" id="item-0-due_date"[^>]*>', page).group(0)
    assert 'aria-invalid="true"' in field and 'aria-describedby="item-0-due_date-error"' in field and "autofocus" in field
    assert re.search(r'id="item-0-due_date-error">Scenario 1: the due date &#39;31/12&#39; is not a date', page)


def test_a_curriculum_is_edited_and_deleted_and_attempts_and_sign_offs_stay(app):
    hr = client_for(app, new_user(app, role="hr"))
    trainer = client_for(app, new_user(app, role="trainer", name="Rita Trainer"))
    tina = new_user(app, name="Tina", team="North")
    cid = make_curriculum(app, hr, due="2026-12-10")
    assert post(hr, f"/hr/curricula/{cid}/assignments", {"team": "North"}).status_code == 302
    backdate_assignments(app, cid)
    attempt(app, "tina-pass", tina["id"], 75, at=T0)

    form = hr.get(f"/hr/curricula/{cid}/edit").get_data(as_text=True)
    assert 'value="Onboarding"' in form and 'value="2026-12-10"' in form
    edited = post(hr, f"/hr/curricula/{cid}/edit", {**curriculum_form(
        "Onboarding 2",
        {"scenario": LAPTOP, "persona": "angry", "mode": "assessment", "pass_mark": "80", "due_date": "2026-12-20"},
        {"scenario": PARCEL, "persona": "dispassionate", "mode": "assessment", "pass_mark": "60", "due_date": ""},
    ), "rows": "2"})
    assert edited.status_code == 302
    with db.session_scope(app.extensions["db_engine"]) as s:
        rows = {r.requirement.scenario: r for r in progress.trainee_progress(session=s, user_id=tina["id"])}
        assert rows[LAPTOP].requirement.pass_mark == 80 and rows[LAPTOP].status == "did_not_pass"
        assert rows[PARCEL].status == "not_started"
    # A name taken by another curriculum is refused, with the field marked.
    make_curriculum(app, hr, name="Refresher")
    clash = post(hr, f"/hr/curricula/{cid}/edit", {**curriculum_form(
        "Refresher", {"scenario": LAPTOP, "persona": "angry", "mode": "assessment", "pass_mark": "70",
                      "due_date": ""}), "rows": "1"})
    assert clash.status_code == 400 and 'aria-describedby="curriculum-name-error"' in clash.get_data(as_text=True)

    # Back to a pass mark of 70, signed off, then the curriculum is deleted.
    post(hr, f"/hr/curricula/{cid}/edit", {**curriculum_form(
        "Onboarding 2", {"scenario": LAPTOP, "persona": "angry", "mode": "assessment", "pass_mark": "70",
                         "due_date": ""}), "rows": "1"})
    signed = post(trainer, "/hr/sign-offs", {"session_id": "tina-pass"}, follow_redirects=True)
    assert "The pass is certified" in signed.get_data(as_text=True)
    deleted = post(hr, f"/hr/curricula/{cid}/delete", follow_redirects=True)
    assert "deleted with its 1 required scenario(s) and 1 assignment(s)" in deleted.get_data(as_text=True)
    assert hr.get(f"/hr/curricula/{cid}/edit").status_code == 404
    with db.session_scope(app.extensions["db_engine"]) as s:
        assert assignments.get_curriculum(session=s, curriculum_id=cid) is None
        assert db.get_session(session=s, session_id="tina-pass") is not None
        assert db.get_current_scorecard(session=s, session_id="tina-pass").score == 75
        assert s.query(SignOff).filter_by(session_id="tina-pass").one().signed_by.name == "Rita Trainer"
