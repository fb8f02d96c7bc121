"""Who may call what: every route and method of the web app against every kind of person.

Generated from the app's URL map, so a route added without a decision in DECISIONS fails
`test_every_route_has_a_decision` and gets no cell at all until someone decides. Cells:
- "public": anyone, signed in or not (never a 403);
- "signed_in": any signed-in person, whatever their roles;
- a set of roles: people holding one of them (admins hold them all).
Refused people get a redirect to the sign-in page (pages) or a JSON 401 (`/api/...`) when signed
out, and 403 when signed in without the role.
"""
from __future__ import annotations

import re
from typing import Dict, List, Tuple

import pytest

from bot import db
from bot.db import account_store
from bot.web import create_app

PASSWORD = "matrix pass phrase"
PUBLIC, SIGNED_IN = "public", "signed_in"
TRAINER, HR, ADMIN = frozenset({"trainer"}), frozenset({"hr"}), frozenset({"admin"})

DECISIONS: Dict[str, object] = {
    "static": PUBLIC,
    "api.healthz": PUBLIC,
    "auth.signin": PUBLIC,
    "auth.signout": PUBLIC,  # signing out when signed out is harmless
    "chat.index": SIGNED_IN,
    "account.password_form": SIGNED_IN,
    "account.change_password": SIGNED_IN,
    "api.running_conversation": SIGNED_IN,
    "api.end_session": SIGNED_IN,
    "api.message": SIGNED_IN,
    "api.scenarios": SIGNED_IN,
    "api.start_session": SIGNED_IN,
    "hr.my_progress": SIGNED_IN,
    "history.sessions": SIGNED_IN,  # each person sees only their own sessions
    "history.transcript": SIGNED_IN,
    "admin.index": ADMIN,
    "admin.audit_page": ADMIN,
    "admin.audit_csv": ADMIN,
    "admin.users": ADMIN,
    "admin.set_active": ADMIN,
    "admin.reset_password": ADMIN,
    "admin.set_roles": ADMIN,
    "hr.overview": HR,
    "hr.unassign": HR,
    "hr.curricula": HR,
    "hr.create_curriculum": HR,
    "hr.edit_curriculum": HR,
    "hr.update_curriculum": HR,
    "hr.delete_curriculum": HR,
    "hr.assign": HR,
    "hr.export_csv": HR,
    "hr.roster": HR,
    "hr.import_roster": HR,
    "hr.passwords_csv": HR,
    "hr.export_xapi": HR,
    "hr.trainee": HR | TRAINER,
    "hr.sign_offs": TRAINER,
    "hr.sign_off": TRAINER,
    "trainer.sessions": TRAINER,
    "trainer.agreement": TRAINER,
    "trainer.export_sessions_csv": TRAINER,
    "trainer.export_sessions_json": TRAINER,
    "trainer.transcript": TRAINER,
    "trainer.export_transcript_csv": TRAINER,
    "trainer.export_transcript_json": TRAINER,
    "trainer.override_outcome": TRAINER,
    "trainer.override_check": TRAINER,
    "trainer.comment": TRAINER,
    # The scenario editor: trainers and admins write, try, publish, archive, restore and discard.
    "scenario_editor.index": TRAINER,
    "scenario_editor.new_form": TRAINER,
    "scenario_editor.create": TRAINER,
    "scenario_editor.edit_form": TRAINER,
    "scenario_editor.save": TRAINER,
    "scenario_editor.try_draft": TRAINER,
    "scenario_editor.publish": TRAINER,
    "scenario_editor.archive": TRAINER,
    "scenario_editor.restore": TRAINER,
    "scenario_editor.discard": TRAINER,
}

# Who calls: nobody signed in, one person per role, and someone in HR who also trains.
PEOPLE: Dict[str, Tuple[str, ...]] = {
    "anonymous": (),
    "trainee": ("trainee",),
    "trainer": ("trainer",),
    "hr": ("hr",),
    "admin": ("admin",),
    "hr+trainer": ("hr", "trainer"),
}
# Values for URL parameters: nothing by these ids exists, so allowed calls end in 404 or a
# refusal of the input, never in a change.
ARGUMENTS = {"user_id": 999999, "session_id": "no-such-session", "number": 1, "curriculum_id": 999999,
             "assignment_id": 999999, "filename": "style.css", "scenario_id": "no_such_scenario"}


def _app_for_map():
    return create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "matrix", "TESTING": True,
                       "RASA_URL": "http://127.0.0.1:9"})


def _cells() -> List[Tuple[str, str, str]]:
    app = _app_for_map()
    cells = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(ARGUMENTS[m.group(1)]), rule.rule)
            cells.append((rule.endpoint, method, path))
    return cells


CELLS = _cells()


def test_every_route_has_a_decision():
    undecided = sorted({endpoint for endpoint, _, _ in CELLS} - set(DECISIONS))
    assert not undecided, f"routes without an authorization decision in DECISIONS: {undecided}"
    stale = sorted(set(DECISIONS) - {endpoint for endpoint, _, _ in CELLS})
    assert not stale, f"decisions for routes that no longer exist: {stale}"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'coach.db'}"
    db.upgrade(url)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "matrix", "TESTING": True, "RASA_URL": "http://127.0.0.1:9"})
    with db.session_scope(app.extensions["db_engine"]) as session:
        for name, roles in PEOPLE.items():
            if roles:
                user = db.create_user(session=session, email=f"{name.replace('+', '-')}@example.com", name=name,
                                      password=PASSWORD, role=roles[0])
                account_store.set_roles(session=session, user_id=user.id, roles=roles)
    return app


def _client(app, person: str):
    client = app.test_client()
    form = client.get("/signin").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    if PEOPLE[person]:
        signed = client.post("/signin", data={"email": f"{person.replace('+', '-')}@example.com",
                                              "password": PASSWORD, "csrf_token": token})
        assert signed.status_code == 302
        form = client.get("/signin").get_data(as_text=True)  # a signed-in visitor is sent home
        with client.session_transaction() as session:
            token = session["csrf"]
    return client, token


def _allowed(decision, person: str) -> bool:
    if decision == PUBLIC:
        return True
    if not PEOPLE[person]:
        return False
    if decision == SIGNED_IN:
        return True
    held = set(PEOPLE[person])
    return "admin" in held or bool(held & decision)


@pytest.mark.parametrize("person", list(PEOPLE))
@pytest.mark.parametrize("endpoint, method, path", CELLS, ids=[f"{m} {p}" for _, m, p in CELLS])
def test_authorization_matrix(app, endpoint, method, path, person):
    decision = DECISIONS.get(endpoint)
    assert decision is not None, f"no authorization decision for {endpoint}"
    client, token = _client(app, person)
    if path.startswith("/api/"):
        response = client.open(path, method=method, json={} if method == "POST" else None)
    else:
        response = client.open(path, method=method, data={"csrf_token": token} if method == "POST" else None)
    to_signin = response.status_code in (302, 303) and "/signin" in response.headers.get("Location", "")
    if decision == PUBLIC:
        assert response.status_code != 403
    elif _allowed(decision, person):
        assert response.status_code not in (401, 403) and not to_signin, (response.status_code, response.headers)
    elif not PEOPLE[person]:
        assert response.status_code == 401 if path.startswith("/api/") else to_signin, response.status_code
    else:
        assert response.status_code == 403, response.status_code
