"""The scenario editor (bot/web/scenario_editor.py) with Flask's test client: list, create with a
validation error beside its field and nothing lost, save a draft, publish, archive, and the
chat's refusal of pinned versions; the form mapping (bot/web/scenario_form.py)."""
from __future__ import annotations

import re
import shutil
import time
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from bot import db, scenario_catalogue
from bot.db import scenario_store
from bot.scenarios import all_problems, get_scenario, list_scenarios
from bot.web import create_app, scenario_form
from tests.test_scenario_store import new_document

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def migrated_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("editor-db") / "coach.db"
    url = URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)
    db.upgrade(url)
    engine = db.make_engine(url)
    scenario_store.seed_shipped(engine)
    engine.dispose()
    return path


@pytest.fixture
def app(tmp_path, migrated_file, monkeypatch):
    monkeypatch.setattr(scenario_catalogue, "REFRESH_SECONDS", 0.0)
    scenario_catalogue.forget()
    shutil.copyfile(migrated_file, tmp_path / "coach.db")
    url = URL.create("sqlite", database=str(tmp_path / "coach.db")).render_as_string(hide_password=False)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test", "TESTING": True, "RASA_URL": "http://127.0.0.1:9"})
    monkeypatch.setattr(db.users, "PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    with db.session_scope(app.extensions["db_engine"]) as s:
        for key, role in (("trainer", "trainer"), ("trainee", "trainee"), ("hr", "hr")):
            db.create_user(session=s, email=f"{key}@coach.test", name=key.title(), password=PASSWORD, role=role)
    yield app
    app.extensions["db_engine"].dispose()
    scenario_catalogue.forget()


def client_for(app, email: str):
    client = app.test_client()
    with db.session_scope(app.extensions["db_engine"]) as s:
        user = db.get_user_by_email(session=s, email=email)
    with client.session_transaction() as session:
        session.update(user_id=user.id, session_version=0, seen=int(time.time()), csrf="token")
    return client


def html(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_form_round_trip_keeps_the_document():
    document = new_document()
    document["details"] = document["details"][:2]
    form = scenario_form.form_from_document(document)
    assert scenario_form.document_from_form(form) == document
    # A spare detail row left empty adds nothing.
    assert form["details"] == str(2 + scenario_form.SPARE_DETAILS)


def test_problems_land_on_their_fields():
    document = new_document()
    document["turn_limit"] = 99
    document["facts"]["keywords"] = ["laptop"]
    document["details"][1]["answer"]["angry"] = ""
    errors = scenario_form.errors_by_field(all_problems(document))
    assert errors["turn_limit"] == ["Must be between 3 and 40 trainee replies"]
    assert errors["keywords"] == ["Give at least 3, one per line."]
    assert errors["detail-1-angry"] == ["Fill this in."]


def test_trainer_creates_fixes_publishes_and_archives(app):
    client = client_for(app, "trainer@coach.test")
    assert "Write a new scenario" in html(client.get("/trainer/scenarios/"))
    form = scenario_form.form_from_document(new_document())
    form.update(csrf_token="token", turn_limit="2")
    refused = client.post("/trainer/scenarios/new", data=form)
    page = html(refused)
    assert refused.status_code == 400
    assert 'id="turn_limit-error"' in page and "Must be between 3 and 40" in page
    # Nothing typed is lost: the title and the facts are still in the form.
    assert 'value="Gym membership charged after cancelling"' in page
    assert new_document()["facts"]["what_happened"].strip() in page
    with db.session_scope(app.extensions["db_engine"]) as s:
        assert "gym_membership_cancel" not in scenario_store.known_ids(session=s)

    form["turn_limit"] = "12"
    saved = client.post("/trainer/scenarios/new", data=form)
    assert saved.status_code == 302 and saved.headers["Location"].endswith("/trainer/scenarios/gym_membership_cancel")
    page = html(client.get("/trainer/scenarios/gym_membership_cancel"))
    assert "draft, version 1" in page and "Not published yet" in page
    engine = app.extensions["db_engine"]
    assert "gym_membership_cancel" not in {s.id for s in list_scenarios(engine)}

    assert client.post("/trainer/scenarios/gym_membership_cancel/publish", data={"csrf_token": "token"}).status_code == 302
    assert "gym_membership_cancel" in {s.id for s in list_scenarios(engine)}
    # HR's curricula and the trainer's filters offer the published scenario.
    hr = client_for(app, "hr@coach.test")
    assert 'value="gym_membership_cancel"' in html(hr.get("/hr/curricula"))
    assert 'value="gym_membership_cancel"' in html(client.get("/trainer/"))

    form["title"] = "Gym membership, version two"
    assert client.post("/trainer/scenarios/gym_membership_cancel", data=form).status_code == 302
    page = html(client.get("/trainer/scenarios/gym_membership_cancel"))
    assert "practise version 1" in page.replace("<strong>", "").replace("</strong>", "") and "draft, version 2" in page
    assert get_scenario("gym_membership_cancel", engine=engine).title == "Gym membership charged after cancelling"

    assert client.post("/trainer/scenarios/gym_membership_cancel/archive", data={"csrf_token": "token"}).status_code == 302
    assert "gym_membership_cancel" not in {s.id for s in list_scenarios(engine)}
    assert "Archived" in html(client.get("/trainer/scenarios/"))
    assert 'value="gym_membership_cancel"' not in html(hr.get("/hr/curricula"))


def test_csrf_is_required(app):
    client = client_for(app, "trainer@coach.test")
    form = scenario_form.form_from_document(new_document())
    form["csrf_token"] = "forged"
    assert client.post("/trainer/scenarios/new", data=form).status_code == 400


def test_trainees_cannot_open_the_editor_or_start_a_pinned_version(app):
    client = client_for(app, "trainee@coach.test")
    assert client.get("/trainer/scenarios/").status_code == 403
    response = client.post("/api/session", json={"scenario": "laptop_at_home_service@1", "persona": "angry", "mode": "coach"})
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "bad_scenario"


def test_a_shipped_scenario_edited_in_the_browser_keeps_its_id(app):
    client = client_for(app, "trainer@coach.test")
    page = html(client.get("/trainer/scenarios/laptop_at_home_service"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert "Trainees practise <strong>version 1</strong>" in page and "shipped with the assistant" in page
    form = scenario_form.form_from_document(get_scenario("laptop_at_home_service", 1, engine=app.extensions["db_engine"]).dict())
    form.update(csrf_token=token, id="something_else")
    assert client.post("/trainer/scenarios/laptop_at_home_service", data=form).status_code == 302
    with db.session_scope(app.extensions["db_engine"]) as s:
        draft = scenario_store.draft_of(session=s, scenario_id="laptop_at_home_service")
    assert draft.version == 2 and draft.document["id"] == "laptop_at_home_service"


def test_trainer_discards_a_draft_and_restores_an_archived_scenario(app):
    client = client_for(app, "trainer@coach.test")
    engine = app.extensions["db_engine"]
    form = scenario_form.form_from_document(get_scenario("restaurant_bad_visit", 1, engine=engine).dict())
    form.update(csrf_token="token", title="Anniversary dinner, rewritten")
    assert client.post("/trainer/scenarios/restaurant_bad_visit", data=form).status_code == 302
    page = html(client.get("/trainer/scenarios/restaurant_bad_visit"))
    assert "Discard the draft…" in page and "trainees keep practising version 1" in page
    done = client.post("/trainer/scenarios/restaurant_bad_visit/discard", data={"csrf_token": "token"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/trainer/scenarios/restaurant_bad_visit")
    page = html(client.get("/trainer/scenarios/restaurant_bad_visit"))
    assert "Discarded draft version 2." in page and "draft, version" not in page and "Discard the draft" not in page
    assert 'value="Anniversary dinner, rewritten"' not in page
    # Nothing to discard now: a clear message, nothing changes.
    client.post("/trainer/scenarios/restaurant_bad_visit/discard", data={"csrf_token": "token"})
    assert "has no draft to discard" in html(client.get("/trainer/scenarios/restaurant_bad_visit"))

    assert client.post("/trainer/scenarios/restaurant_bad_visit/archive", data={"csrf_token": "token"}).status_code == 302
    page = html(client.get("/trainer/scenarios/restaurant_bad_visit"))
    assert "Restore version 1 for new practice" in page
    assert client.post("/trainer/scenarios/restaurant_bad_visit/restore", data={"csrf_token": "token"}).status_code == 302
    assert "restaurant_bad_visit" in {s.id for s in list_scenarios(engine)}
    assert "Restored: trainees can start version 1 again." in html(client.get("/trainer/scenarios/restaurant_bad_visit"))
    assert client.post("/trainer/scenarios/no_such_scenario/discard", data={"csrf_token": "token"}).status_code == 404
    assert client_for(app, "trainee@coach.test").post(
        "/trainer/scenarios/restaurant_bad_visit/restore", data={"csrf_token": "token"}).status_code == 403


def test_discarding_a_never_published_scenario_removes_it(app):
    client = client_for(app, "trainer@coach.test")
    form = scenario_form.form_from_document(new_document())
    form["csrf_token"] = "token"
    assert client.post("/trainer/scenarios/new", data=form).status_code == 302
    assert "Discard this scenario…" in html(client.get("/trainer/scenarios/gym_membership_cancel"))
    done = client.post("/trainer/scenarios/gym_membership_cancel/discard", data={"csrf_token": "token"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/trainer/scenarios/")
    page = html(client.get("/trainer/scenarios/"))
    assert "is gone, and its id is free again" in page and "Gym membership charged after cancelling" not in page
    assert client.get("/trainer/scenarios/gym_membership_cancel").status_code == 404
