"""Accounts a company can trust: issue 16, findings 2, 3, 4, 7, 8, 9 and 10, and the audit log.

Each regression test names its finding; the inputs are the ones the attacker's report used.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest

from bot import db
from bot.accounts import FIRST_ADMIN_EMAIL, ensure_first_admin, new_password
from bot.db import account_store, audit, throttle
from bot.db.models import AuditEntry, utcnow
from bot.passwords import common_passwords, generate_password, password_problem
from bot.web import create_app

PASSWORD = "correct horse battery"


@pytest.fixture
def app(url):
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "test", "TESTING": True, "RASA_URL": "http://127.0.0.1:9"})
    with db.session_scope(app.extensions["db_engine"]) as session:
        for role in ("trainee", "trainer", "hr", "admin"):
            db.create_user(session=session, email=f"{role}@example.com", name=role.title(), password=PASSWORD, role=role)
    return app


def engine(app):
    return app.extensions["db_engine"]


def user_id(app, email):
    with db.session_scope(engine(app)) as session:
        return db.get_user_by_email(session=session, email=email).id


def csrf(client, path="/signin"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).get_data(as_text=True)).group(1)


def sign_in(client, email, password=PASSWORD, **extra):
    return client.post("/signin", data={"email": email, "password": password, "csrf_token": csrf(client), **extra})


def signed_in(app, email, password=PASSWORD):
    client = app.test_client()
    assert sign_in(client, email, password).status_code == 302
    return client


def audit_actions(app):
    with db.session_scope(engine(app)) as session:
        return [e.action for e in audit.list_entries(session=session, per_page=None).entries]


# --- finding 2: signing out ends the session -------------------------------------------------


def _copied_cookie(client, app):
    """A second client holding a copy of `client`'s session cookie, as an attacker would."""
    cookie = client.get_cookie("session") if hasattr(client, "get_cookie") else next(
        c for c in client.cookie_jar if c.name == "session"
    )
    thief = app.test_client()
    thief.set_cookie("localhost", "session", cookie.value) if not hasattr(thief, "get_cookie") else thief.set_cookie(
        "session", cookie.value
    )
    return thief


def test_finding_2_a_copied_cookie_stops_working_after_sign_out(app):
    trainer = signed_in(app, "trainer@example.com")
    thief = _copied_cookie(trainer, app)
    assert thief.get("/trainer/").status_code == 200
    trainer.post("/signout", data={"csrf_token": csrf(trainer, "/trainer/")})
    response = thief.get("/trainer/")
    assert response.status_code == 302 and "/signin" in response.headers["Location"]
    assert "ended=revoked" in response.headers["Location"]
    assert "sign_out" in audit_actions(app)


def test_finding_2_a_password_change_and_a_deactivation_end_other_sessions(app):
    trainer = signed_in(app, "trainer@example.com")
    other = signed_in(app, "trainer@example.com")
    answer = trainer.post("/account/password", data={
        "csrf_token": csrf(trainer, "/account/password"), "current_password": PASSWORD,
        "new_password": "a brand new passphrase", "confirm_password": "a brand new passphrase"})
    assert answer.status_code == 200 and "Your password is changed" in answer.get_data(as_text=True)
    assert trainer.get("/trainer/").status_code == 200  # this session goes on
    assert other.get("/trainer/").status_code == 302  # the other one has ended
    admin = signed_in(app, "admin@example.com")
    admin.post(f"/admin/users/{user_id(app, 'trainer@example.com')}/active",
               data={"csrf_token": csrf(admin, "/admin/users"), "active": "0"})
    assert trainer.get("/trainer/").status_code == 302


def test_finding_2_an_idle_session_ends(app):
    app.config["IDLE_TIMEOUT_MINUTES"] = 30
    trainer = signed_in(app, "trainer@example.com")
    with trainer.session_transaction() as session:
        session["seen"] -= 31 * 60
    response = trainer.get("/trainer/")
    assert response.status_code == 302 and "ended=idle" in response.headers["Location"]
    assert "without activity" in trainer.get(response.headers["Location"]).get_data(as_text=True)
    api = trainer.get("/api/scenarios")
    assert api.status_code == 401


# --- finding 3: throttling -------------------------------------------------------------------


def test_finding_3_fifty_wrong_passwords_lock_the_account_and_the_right_one_waits(app, monkeypatch):
    """50 wrong passwords in 5.6 s all got 401, and the right password worked straight after."""
    clock = [utcnow()]
    monkeypatch.setattr(throttle, "utcnow", lambda: clock[0])
    client = app.test_client()
    codes = [sign_in(client, "trainer@example.com", "wrong password!").status_code for _ in range(50)]
    assert codes[:4] == [401] * 4 and set(codes[4:]) == {429}  # not even checked while paused
    assert sign_in(client, "trainer@example.com").status_code == 429
    # An attacker who waits out every delay is locked out after ACCOUNT.lock_after failures.
    for _ in range(throttle.ACCOUNT.lock_after - 4):
        clock[0] += timedelta(seconds=61)
        assert sign_in(client, "trainer@example.com", "wrong password!").status_code == 401
    clock[0] += timedelta(seconds=61)
    blocked = sign_in(client, "trainer@example.com")
    assert blocked.status_code == 429 and "locked" in blocked.get_data(as_text=True)
    assert int(blocked.headers["Retry-After"]) > 60
    actions = audit_actions(app)
    assert "sign_in_locked" in actions and actions.count("sign_in_failed") == throttle.ACCOUNT.lock_after
    # After the lock the right password works and clears the account's count.
    clock[0] += timedelta(minutes=throttle.ACCOUNT.lock_minutes)
    assert sign_in(client, "trainer@example.com").status_code == 302
    with db.session_scope(engine(app)) as session:
        assert session.get(db.models.SignInThrottle, "email:trainer@example.com") is None


def test_finding_3_delays_grow_and_reach_other_accounts_from_the_same_address(app):
    with db.session_scope(engine(app)) as session:
        now = utcnow()
        waits = []
        for _ in range(throttle.ACCOUNT.lock_after):
            row = throttle.record_failure(session=session, key="email:x@example.com", now=now)
            waits.append(0 if row.blocked_until is None else (row.blocked_until - now).total_seconds())
    assert waits[:3] == [0, 0, 0] and waits[3:9] == [1, 2, 4, 8, 16, 32] and waits[9] == 15 * 60
    # Many accounts tried from one address: the address's count grows although each account's stays low.
    client = app.test_client()
    codes = [sign_in(client, f"nobody{n}@example.com", "wrong password!").status_code for n in range(20)]
    assert codes[: throttle.CLIENT.free_failures] == [401] * throttle.CLIENT.free_failures and 429 in codes
    assert sign_in(client, "hr@example.com").status_code == 429


# --- finding 4: password policy --------------------------------------------------------------


@pytest.mark.parametrize("password", ["a", " ", "short pass", "123456789012", "password1234", "aaaaaaaaaaaaaa",
                                      "Correct Horse Battery Staple", "abababababababab"])
def test_finding_4_weak_passwords_are_refused(password):
    assert password_problem(password) is not None


@pytest.mark.parametrize("password", ["correct horse battery", "tulips in the rain 7", "alllowercaseletters"])
def test_finding_4_long_uncommon_passwords_pass_without_composition_rules(password):
    assert password_problem(password) is None


def test_finding_4_the_change_password_page_applies_the_policy(app):
    client = signed_in(app, "trainee@example.com")
    for new in ("a", " ", "password1234"):
        response = client.post("/account/password", data={
            "csrf_token": csrf(client, "/account/password"), "current_password": PASSWORD,
            "new_password": new, "confirm_password": new})
        assert response.status_code == 400
    wrong = client.post("/account/password", data={
        "csrf_token": csrf(client, "/account/password"), "current_password": "not it at all",
        "new_password": "a brand new passphrase", "confirm_password": "a brand new passphrase"})
    assert wrong.status_code == 400 and "current password" in wrong.get_data(as_text=True)


def test_the_common_list_is_loaded_with_its_source_line():
    from bot.passwords import COMMON_PASSWORDS_FILE

    assert "Source:" in COMMON_PASSWORDS_FILE.read_text() and len(common_passwords()) > 150


# --- finding 7: generated passwords ----------------------------------------------------------


def test_finding_7_generated_passwords_never_start_like_a_formula_and_pass_the_policy():
    """One token_urlsafe password in 64 started with '-': 3,000 tries would show it."""
    samples = [new_password() for _ in range(3000)] + [generate_password() for _ in range(1000)]
    assert not [p for p in samples if p[0] in "=+-@"]
    assert all(password_problem(p) is None for p in samples[:200])


# --- finding 8: the first administrator ------------------------------------------------------


def test_finding_8_people_added_before_the_launcher_still_get_a_first_administrator(url, tmp_path):
    engine_ = db.make_engine(url)
    with db.session_scope(engine_) as session:
        db.create_user(session=session, email="early@example.com", name="Early", password="x" * 12, role="trainee")
    path = ensure_first_admin(engine_, tmp_path)
    assert path is not None and path.stat().st_mode & 0o777 == 0o600
    password = re.search(r"password: (\S+)", path.read_text()).group(1)
    with db.session_scope(engine_) as session:
        assert db.authenticate(session=session, email=FIRST_ADMIN_EMAIL, password=password).role == "admin"
    # Run again: the administrator exists, nothing changes.
    assert ensure_first_admin(engine_, tmp_path) == path
    assert re.search(r"password: (\S+)", path.read_text()).group(1) == password


# --- finding 9: signing in again resumes the running conversation ---------------------------


def test_finding_9_signing_in_again_resumes_the_running_conversation(app):
    trainee_id = user_id(app, "trainee@example.com")
    sender = f"u{trainee_id}-0123456789abcdef"
    with db.session_scope(engine(app)) as session:
        db.claim_conversation(session=session, sender_id=sender, user_id=trainee_id)
        db.record_session_start(
            session=session, session_id="s-running", sender_id=sender, user_id=trainee_id,
            scenario="laptop_at_home_service", persona="angry", mode="coach", opening="Hello?", start_mood=2,
        )
    client = signed_in(app, "trainee@example.com")
    with client.session_transaction() as session:
        assert session.get("conversation") == sender
    body = client.get("/api/conversation").get_json()
    assert body["conversation"] == sender and body["opening"] == "Hello?"


# --- finding 10: several roles, own password, administrator's reset --------------------------


def test_finding_10_someone_in_hr_who_also_trains_needs_no_admin_role(app):
    admin = signed_in(app, "admin@example.com")
    hr_id = user_id(app, "hr@example.com")
    response = admin.post(f"/admin/users/{hr_id}/roles",
                          data={"csrf_token": csrf(admin, "/admin/users"), "role": ["hr", "trainer"]})
    assert response.status_code == 200
    person = signed_in(app, "hr@example.com")
    assert person.get("/trainer/").status_code == 200
    assert person.get("/hr/").status_code == 200
    assert person.get("/admin/users").status_code == 403
    with db.session_scope(engine(app)) as session:
        entry = audit.list_entries(session=session, action="roles_changed").entries[0]
    assert entry.before["roles"] == ["hr"] and entry.after["roles"] == ["trainer", "hr"] and entry.actor == "admin@example.com"


def test_finding_10_an_administrator_resets_a_password_shown_once(app):
    trainee = signed_in(app, "trainee@example.com")
    admin = signed_in(app, "admin@example.com")
    response = admin.post(f"/admin/users/{user_id(app, 'trainee@example.com')}/password",
                          data={"csrf_token": csrf(admin, "/admin/users")})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    password = re.search(r'id="new-password">([^<]+)<', response.get_data(as_text=True)).group(1)
    assert password_problem(password) is None
    assert "new-password" not in admin.get("/admin/users").get_data(as_text=True)
    assert trainee.get("/").status_code == 302  # the old session ended
    assert sign_in(app.test_client(), "trainee@example.com", password).status_code == 302
    assert "password_reset" in audit_actions(app)


def test_the_last_administrator_keeps_the_role_and_nobody_deactivates_themselves(app):
    admin = signed_in(app, "admin@example.com")
    me = user_id(app, "admin@example.com")
    token = csrf(admin, "/admin/users")
    assert admin.post(f"/admin/users/{me}/roles", data={"csrf_token": token, "role": "trainer"}).status_code == 400
    assert admin.post(f"/admin/users/{me}/active", data={"csrf_token": token, "active": "0"}).status_code == 400
    assert admin.post(f"/admin/users/{me}/roles", data={"csrf_token": token, "role": "pilot"}).status_code == 400


# --- the audit log ---------------------------------------------------------------------------


def test_the_audit_log_is_for_administrators_and_exports_neutralised_csv(app):
    with db.session_scope(engine(app)) as session:
        audit.record(session=session, action="sign_in_failed", subject=("email", "=HYPERLINK(\"x\")"))
    for role in ("trainee", "trainer", "hr"):
        client = signed_in(app, f"{role}@example.com")
        assert client.get("/admin/audit").status_code == 403
        assert client.get("/admin/audit.csv").status_code == 403
    admin = signed_in(app, "admin@example.com")
    page = admin.get("/admin/audit?action=sign_in").get_data(as_text=True)
    assert "admin@example.com" in page
    rows = list(csv.reader(io.StringIO(admin.get("/admin/audit.csv").get_data(as_text=True))))
    assert rows[0] == list(audit.CSV_COLUMNS)
    assert any(row[4] == "'=HYPERLINK(\"x\")" for row in rows[1:])
    assert "audit_exported" in audit_actions(app)


def test_unknown_audit_actions_are_refused(app):
    with db.session_scope(engine(app)) as session, pytest.raises(ValueError):
        audit.record(session=session, action="sign_in_typo")


def test_overrides_exports_and_roster_imports_are_audited_with_before_and_after(app):
    trainee_id = user_id(app, "trainee@example.com")
    with db.session_scope(engine(app)) as session:
        db.record_session_start(session=session, session_id="s-audit", sender_id="u-audit", user_id=trainee_id,
                                scenario="laptop_at_home_service", persona="angry", mode="coach", opening="Hi")
        db.record_turn(session=session, session_id="s-audit", number=1, trainee_text="Sorry, Dana.",
                       customer_text="Fine.", checks={"apology": {"found": True, "evidence": ["Sorry"], "tip": None}},
                       checks_version="test")
    trainer = signed_in(app, "trainer@example.com")
    token = csrf(trainer, "/trainer/sessions/s-audit")
    response = trainer.post("/trainer/sessions/s-audit/turns/1/checks",
                            data={"csrf_token": token, "check": "apology", "found": "no", "reason": "Sarcastic."})
    assert response.status_code in (302, 303)
    assert trainer.get("/trainer/sessions/s-audit/export.csv").status_code == 200
    hr = signed_in(app, "hr@example.com")
    hr.post("/hr/roster", data={"csrf_token": csrf(hr, "/hr/roster"),
                                "roster": (io.BytesIO(b"name,email,team,start date\nAl Green,al@example.com,North,2026-11-02\n"), "r.csv")},
            content_type="multipart/form-data")
    assert hr.get("/hr/export.csv").status_code == 200
    with db.session_scope(engine(app)) as session:
        entries = {e.action: e for e in audit.list_entries(session=session, per_page=None).entries}
    override = entries["check_overridden"]
    assert override.actor == "trainer@example.com" and override.subject_id == "s-audit"
    assert override.before == {"turn": 1, "check": "apology", "machine_found": True}
    assert override.after == {"turn": 1, "check": "apology", "found": False, "reason": "Sarcastic."}
    assert entries["transcript_exported"].actor == "trainer@example.com"
    assert entries["roster_imported"].after["created"] == ["al@example.com"], entries["roster_imported"].after
    assert entries["progress_exported"].actor == "hr@example.com"
