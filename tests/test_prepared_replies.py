"""Replies prepared while Rasa reads the message (bot.prepared_replies): same answers, only sooner."""
import json
import uuid

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import STATE_SLOT
from actions.customer_reply import ActionCustomerReply
from actions.end_session import ActionEndSession
from actions.prepare import prepare
from actions.start_scenario import ActionStartScenario
from bench.latency import SCRIPT
from bot import db, prepared_replies, recording


@pytest.fixture(autouse=True)
def fresh_caches():
    prepared_replies.forget_all()
    yield
    prepared_replies.forget_all()


def _tracker(sender, state, text="", intent="customer_reply", entities=(), message_id=None):
    return Tracker(
        sender_id=sender, slots={STATE_SLOT: state},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": list(entities),
                        "message_id": message_id or uuid.uuid4().hex},
        events=[], paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )


def _run(action, tracker):
    dispatcher = CollectingDispatcher()
    events = action.run(dispatcher, tracker, domain={})
    # As Rasa gets them: JSON, so a later turn cannot change what this one answered.
    return json.loads(json.dumps(events)), json.loads(json.dumps(dispatcher.messages))


def _slot(events):
    # A copy: the action works on the slot it is given, and `events` stay as they were answered.
    return json.loads(json.dumps(next(e["value"] for e in events if e["event"] == "slot" and e["name"] == STATE_SLOT)))


def _start(sender):
    entities = [{"entity": k, "value": v} for k, v in
                {"scenario": "laptop_at_home_service", "persona": "angry", "mode": "coach"}.items()]
    events, messages = _run(ActionStartScenario(), _tracker(sender, None, "/start_scenario", "start_scenario", entities))
    return _slot(events), events, messages


def _stored(session_id):
    with db.session_scope(recording.engine()) as session:
        transcript = db.get_transcript(session=session, session_id=session_id)
        turns = [(t.number, t.trainee_text, t.customer_text, t.checks, t.mood, t.mood_change) for t in transcript.turns]
        card = db.get_current_scorecard(session=session, session_id=session_id)
        return turns, transcript.outcome, transcript.session.mood_curve, (card.score, card.passed, card.criteria)


def _conversation(sender, *, prepared: bool):
    """A whole 12-turn conversation and its end; every event, message and stored row."""
    state, events, messages = _start(sender)
    log = [(events, messages)]
    for number, text in enumerate(SCRIPT):
        message_id = f"{sender}-{number}"
        if prepared:
            assert prepare(sender, message_id, text)
        events, messages = _run(ActionCustomerReply(), _tracker(sender, state, text, message_id=message_id))
        state = _slot(events)
        log.append((events, messages))
    log.append(_run(ActionEndSession(), _tracker(sender, state, "/end_session", "end_session")))
    return log, _stored(state["session_id"])


def test_prepared_answers_equal_the_ones_worked_out_in_the_action(monkeypatch, tmp_path):
    # The same session id in two databases: the customer's words are seeded by it.
    from types import SimpleNamespace

    from bot import simulation

    fixed = uuid.uuid4()
    monkeypatch.setattr(simulation, "uuid", SimpleNamespace(uuid4=lambda: fixed))
    sender = f"prep-{uuid.uuid4().hex[:8]}"
    runs = {}
    for prepared in (False, True):
        prepared_replies.forget_all()
        url = f"sqlite:///{tmp_path / f'prepared-{prepared}.db'}"
        db.upgrade(url)
        engine = db.make_engine(url)
        monkeypatch.setattr(recording, "engine", lambda: engine)
        try:
            runs[prepared] = _conversation(sender, prepared=prepared)
        finally:
            engine.dispose()
    (plain_log, plain_rows), (prepared_log, prepared_rows) = runs[False], runs[True]
    assert prepared_replies.counts == {"prepared": len(SCRIPT), "used": len(SCRIPT), "missed": 0}
    assert prepared_log == plain_log
    assert prepared_rows == plain_rows
    assert len(prepared_rows[0]) == len(SCRIPT) and prepared_rows[1] == "resolved"
    assert not prepared_replies._prepared  # dropped after use


def test_an_answer_prepared_from_another_state_or_text_is_not_used():
    sender = f"prep-{uuid.uuid4().hex[:8]}"
    state, _, _ = _start(sender)
    first, second = SCRIPT[0], SCRIPT[1]
    # The trainee sends two messages quickly: both are prepared from the state before the first.
    assert prepare(sender, "m1", first) and prepare(sender, "m2", second)
    events, _ = _run(ActionCustomerReply(), _tracker(sender, state, first, message_id="m1"))
    after_first = _slot(events)
    events, messages = _run(ActionCustomerReply(), _tracker(sender, after_first, second, message_id="m2"))
    assert prepared_replies.counts["used"] == 1 and prepared_replies.counts["missed"] == 1
    assert [m.get("custom", {}).get("turn") for m in messages if m.get("custom")] == [2]
    # Another text under a prepared message id (or another sender) is worked out afresh.
    state = _slot(events)
    assert prepare(sender, "m3", SCRIPT[2])
    _run(ActionCustomerReply(), _tracker(sender, state, "Something else entirely.", message_id="m3"))
    assert prepared_replies.counts["missed"] == 2 and not prepared_replies._prepared


def test_nothing_is_prepared_for_commands_unknown_senders_late_prepares_or_errors():
    sender = f"prep-{uuid.uuid4().hex[:8]}"
    assert not prepare("never-seen", "m0", SCRIPT[0])  # another instance answered its last turn
    state, _, _ = _start(sender)
    assert not prepare(sender, "m1", "/end_session")
    _run(ActionCustomerReply(), _tracker(sender, state, SCRIPT[0], message_id="m2"))
    assert not prepare(sender, "m2", SCRIPT[0])  # its call came first
    over = {**state, "outcome": "resolved"}
    prepared_replies.remember(sender, over)
    assert not prepare(sender, "m3", SCRIPT[1])  # an error answer: worked out in the action
    assert not prepared_replies._prepared


def test_the_caches_are_bounded(monkeypatch):
    monkeypatch.setattr(prepared_replies, "PREPARED_KEPT", 3)
    sender = f"prep-{uuid.uuid4().hex[:8]}"
    _start(sender)
    for number in range(5):
        assert prepare(sender, f"m{number}", SCRIPT[0])
    assert list(prepared_replies._prepared) == ["m2", "m3", "m4"]
