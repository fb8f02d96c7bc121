"""A trainee's own history (bot/web/history.py, bot/db/history.py) through Flask's test client."""
from __future__ import annotations

from datetime import timedelta

from bot import db
from bot.checks import CHECK_NAMES
from bot.db.history import check_rates
from bot.scoring import build_scorecard
from tests.test_hr_pages import LAPTOP, PARCEL, T0, app, client_for, new_user  # noqa: F401  (app is a fixture)


def verdicts(*found, evidence=None):
    evidence = evidence or {}
    return {name: {"found": name in found, "evidence": evidence.get(name, []), "tip": None}
            for name in [*CHECK_NAMES, "broken_promise"]}


def practise(app, sid, user_id, turns, *, scenario=LAPTOP, at=T0, outcome="resolved"):
    """A finished session with the given turns' checks and a real scorecard."""
    with db.session_scope(app.extensions["db_engine"]) as s:
        db.record_session_start(session=s, session_id=sid, sender_id=f"s-{sid}", scenario=scenario, persona="angry",
                                mode="coach", user_id=user_id, started_at=at, opening="My laptop crashes every day.")
        state_turns = []
        for number, checks in enumerate(turns, 1):
            reply = f"Reply {number} of {sid}"
            db.record_turn(session=s, session_id=sid, number=number, trainee_text=reply, customer_text="Go on.",
                           checks=checks, checks_version="1", mood=20 + 10 * number, mood_change=10)
            state_turns.append({"turn": number, "reply": reply, "checks": checks})
        db.record_session_end(session=s, session_id=sid, outcome=outcome, ended_at=at + timedelta(minutes=4))
        card = build_scorecard({"session_id": sid, "scenario": scenario, "persona": "angry", "mode": "coach",
                                "outcome": outcome, "turns": state_turns, "mood_curve": [20]})
        db.add_scorecard(session=s, session_id=sid, score=card["score"], passed=card["passed"], pass_mark=70,
                         outcome=outcome, criteria=card["criteria"], rubric_version=card["rubric_version"],
                         checks_version="1")


def test_history_lists_only_my_sessions_and_opens_one(app):
    tina, nick = new_user(app, name="Tina"), new_user(app, name="Nick")
    practise(app, "tina-1", tina["id"], [verdicts("greeting", "apology", evidence={"greeting": ["Hi Dana"]}),
                                         verdicts("active_listening")])
    practise(app, "tina-2", tina["id"], [verdicts("defensive", evidence={"defensive": ["not my fault"]})],
             scenario=PARCEL, at=T0 + timedelta(days=1), outcome="churned")
    practise(app, "nick-1", nick["id"], [verdicts()])
    client = client_for(app, tina)
    page = client.get("/me/history/").get_data(as_text=True)
    assert "My history" in page
    assert page.count('data-session="tina-') == 2 and "nick-1" not in page
    assert "Laptop crashes daily" in page and "The customer left" in page and "Resolved" in page
    assert page.index('data-session="tina-2"') < page.index('data-session="tina-1"'), "newest first"
    assert 'class="rate-chart" data-check="apology"' in page and "<desc" in page

    one = client.get("/me/history/tina-1")
    assert one.status_code == 200
    html = one.get_data(as_text=True)
    assert "Reply 1 of tina-1" in html and "Go on." in html
    assert "Next: Restating the problem." in html  # the focus of reply 1, rebuilt from its verdicts
    assert "Good: You opened warmly" in html and "“Hi Dana”" in html
    assert "<details" in html and 'id="criteria-table"' in html
    assert "not applicable" in html  # two replies: no blame or jargon to avoid yet, no promise made


def test_someone_elses_session_is_not_found(app):
    tina, nick = new_user(app, name="Tina"), new_user(app, name="Nick")
    practise(app, "nick-1", nick["id"], [verdicts()])
    assert client_for(app, tina).get("/me/history/nick-1").status_code == 404
    assert client_for(app, tina).get("/me/history/nope").status_code == 404


def test_history_without_sessions_says_how_to_start(app):
    page = client_for(app, new_user(app)).get("/me/history/").get_data(as_text=True)
    assert "You have not practised yet" in page and "rate-chart" not in page


def test_history_needs_sign_in(app):
    response = app.test_client().get("/me/history/")
    assert response.status_code == 302 and "/signin" in response.headers["Location"]


def test_check_rates_per_session_oldest_first(app):
    tina = new_user(app)
    practise(app, "a", tina["id"], [verdicts("greeting", "apology"), verdicts("defensive")], at=T0)
    practise(app, "b", tina["id"], [verdicts("apology"), verdicts("apology")], at=T0 + timedelta(days=1))
    with db.session_scope(app.extensions["db_engine"]) as s:
        rates = check_rates(session=s, user_id=tina["id"], checks=["greeting", "apology", "defensive"])
    assert [r.session_id for r in rates] == ["a", "b"]
    assert rates[0].rates == {"greeting": 1.0, "apology": 0.5, "defensive": 0.5}
    assert rates[1].rates == {"greeting": 0.0, "apology": 1.0, "defensive": 1.0}
