"""Sign-in, roles, CSRF, the first administrator and `python -m bot users add`."""
from __future__ import annotations

import os
import re
import stat
import subprocess
import sys

import pytest
from flask import Blueprint

from bot import db
from bot.accounts import FIRST_ADMIN_EMAIL, ensure_first_admin
from bot.web import create_app
from bot.web.auth import _safe_next, require_role

PASSWORD = "correct horse battery"


@pytest.fixture
def app(url):
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test", "TESTING": True, "RASA_URL": "http://127.0.0.1:9"})
    probe = Blueprint("probe", __name__)

    @probe.get("/probe/trainer")
    @require_role("trainer")
    def trainer_only():
        return "trainer page"

    @probe.get("/api/probe")
    @require_role("hr")
    def hr_api():
        return {"ok": True}

    app.register_blueprint(probe)
    with db.session_scope(app.extensions["db_engine"]) as session:
        for role in ("trainee", "trainer", "hr", "admin"):
            db.create_user(session=session, email=f"{role}@example.com", name=role.title(), password=PASSWORD, role=role)
    return app


def csrf(client, path="/signin"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post("/signin", data={"email": email, "password": password, "csrf_token": csrf(client), **extra})


def test_signed_out_visitors_are_sent_to_sign_in_and_come_back(app):
    client = app.test_client()
    response = client.get("/probe/trainer")
    assert response.status_code == 302 and response.headers["Location"].startswith("/signin?next=/probe/trainer")
    response = sign_in(client, "trainer@example.com", next="/probe/trainer")
    assert response.status_code == 302 and response.headers["Location"] == "/probe/trainer"
    assert client.get("/probe/trainer").get_data(as_text=True) == "trainer page"


def test_api_routes_answer_json_not_redirects(app):
    client = app.test_client()
    response = client.get("/api/probe")
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "signed_out"
    sign_in(client, "trainee@example.com")
    response = client.get("/api/probe")
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("role, status", [("trainee", 403), ("hr", 403), ("trainer", 200), ("admin", 200)])
def test_roles_and_admin_passing_every_check(app, role, status):
    client = app.test_client()
    sign_in(client, f"{role}@example.com")
    assert client.get("/probe/trainer").status_code == status


def test_a_wrong_password_or_unknown_address_is_refused_with_the_same_message(app):
    client = app.test_client()
    wrong = sign_in(client, "trainer@example.com", password="nope")
    unknown = sign_in(client, "nobody@example.com")
    assert wrong.status_code == unknown.status_code == 401
    text = wrong.get_data(as_text=True)
    assert "do not match an active account" in text and text.count('value="trainer@example.com"') == 1
    assert client.get("/probe/trainer").status_code == 302


def test_a_form_post_without_the_csrf_token_is_refused(app):
    client = app.test_client()
    response = client.post("/signin", data={"email": "trainer@example.com", "password": PASSWORD})
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)
    assert client.get("/probe/trainer").status_code == 302


def test_sign_out_ends_the_session(app):
    client = app.test_client()
    sign_in(client, "trainer@example.com")
    token = csrf(client, "/")
    assert client.post("/signout", data={"csrf_token": token}).status_code == 302
    assert client.get("/probe/trainer").status_code == 302


def test_a_deactivated_user_is_signed_out_on_the_next_request(app):
    client = app.test_client()
    sign_in(client, "trainer@example.com")
    with db.session_scope(app.extensions["db_engine"]) as session:
        db.get_user_by_email(session=session, email="trainer@example.com").active = False
    assert client.get("/probe/trainer").status_code == 302


@pytest.mark.parametrize(
    "target, safe",
    [("/trainer/", True), ("/x?y=1", True), ("//evil.example/", False), ("https://evil.example/", False),
     ("javascript:alert(1)", False), ("", False)],
)
def test_next_only_goes_to_this_site(target, safe):
    assert (_safe_next(target) is not None) is safe


def test_a_database_outage_is_a_clear_503(tmp_path):
    missing = tmp_path / "no-such-dir" / "sub"
    app = create_app({"DATABASE_URL": f"sqlite:///{missing}/x.db?mode=ro", "SECRET_KEY": "t", "TESTING": True})
    client = app.test_client()
    with client.session_transaction() as session:
        session["user_id"] = 1
    response = client.get("/api/scenarios")
    assert response.status_code == 503 and response.get_json()["error"]["code"] == "database_down"


def test_first_admin_is_created_once_with_a_private_password_file(url, tmp_path):
    engine = db.make_engine(url)
    path = ensure_first_admin(engine, tmp_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    password = re.search(r"password: (\S+)", path.read_text()).group(1)
    with db.session_scope(engine) as session:
        assert db.authenticate(session=session, email=FIRST_ADMIN_EMAIL, password=password).role == "admin"
    assert ensure_first_admin(engine, tmp_path) == path
    assert re.search(r"password: (\S+)", path.read_text()).group(1) == password


def test_users_add_cli(url, tmp_path):
    env = dict(os.environ, COACH_DATABASE_URL=url)
    run = lambda *args, **kw: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "bot", "users", "add", *args], capture_output=True, text=True, env=env, **kw
    )
    added = run("--email", "Sam@Example.com", "--name", "Sam", "--role", "trainer", "--team", "North")
    assert added.returncode == 0, added.stderr
    password = re.search(r"Password: (\S+)", added.stdout).group(1)
    again = run("--email", "sam@example.com", "--name", "Sam")
    assert again.returncode == 1 and "already exists" in again.stderr
    short = run("--email", "kim@example.com", "--name", "Kim", "--password-stdin", input="s3cret pass\n")
    assert short.returncode == 1 and "at least 12 characters" in short.stderr
    given = run("--email", "kim@example.com", "--name", "Kim", "--password-stdin", input="s3cret pass phrase\n")
    assert given.returncode == 0 and "Password" not in given.stdout
    with db.session_scope(db.make_engine(url)) as session:
        assert db.authenticate(session=session, email="sam@example.com", password=password).team == "North"
        assert db.authenticate(session=session, email="kim@example.com", password="s3cret pass phrase").role == "trainee"
