"""The thin actions: what they send and which state they keep, with tracker and dispatcher fixtures."""
import pytest

from rasa_sdk.executor import CollectingDispatcher

from actions.common import STATE_SLOT
from actions.customer_reply import ActionCustomerReply
from actions.end_session import ActionEndSession
from actions.start_scenario import ActionStartScenario
from conftest import make_tracker


def _entities(**values):
    return [{"entity": key, "value": value} for key, value in values.items()]


def _run(action, dispatcher, **tracker_args):
    events = action.run(dispatcher, make_tracker(**tracker_args), domain={})
    state = next(e["value"] for e in events if e["event"] == "slot" and e["name"] == STATE_SLOT)
    return state, dispatcher.messages


def _custom(messages, kind):
    return [m["custom"] for m in messages if m.get("custom", {}).get("type") == kind]


@pytest.fixture
def started(dispatcher):
    state, _ = _run(
        ActionStartScenario(), dispatcher, intent="start_scenario",
        entities=_entities(scenario="laptop_at_home_service", persona="angry", mode="coach"),
    )
    return state


def test_start_sends_opening_and_session_payload(dispatcher):
    state, messages = _run(
        ActionStartScenario(), dispatcher, intent="start_scenario",
        entities=_entities(scenario="laptop_at_home_service", persona="dispassionate", mode="assessment"),
    )
    assert messages[0]["text"]
    (payload,) = _custom(messages, "session_started")
    assert payload["customer_name"] == "Dana Whitfield"
    assert payload["persona"] == "dispassionate" and payload["mode"] == "assessment"
    assert payload["session_id"] == state["session_id"]
    assert payload["mood"] == state["mood"]


def test_unknown_scenario_keeps_the_running_session(dispatcher, started):
    state, messages = _run(
        ActionStartScenario(), dispatcher, intent="start_scenario",
        entities=_entities(scenario="no_such_scenario"), slots={STATE_SLOT: started},
    )
    (error,) = _custom(messages, "error")
    assert error["code"] == "unknown_scenario" and "laptop_at_home_service" in error["message"]
    assert state == started


def test_reply_in_coach_mode_sends_customer_text_and_feedback(dispatcher, started):
    state, messages = _run(
        ActionCustomerReply(), dispatcher,
        text="Hi Dana, I'm so sorry your laptop keeps crashing every day.", slots={STATE_SLOT: started},
    )
    assert messages[0]["text"] and messages[0]["text"] != started["last_customer_text"]
    (feedback,) = _custom(messages, "feedback")
    assert feedback["turn"] == 1
    assert feedback["checks"]["apology"]["found"] is True
    assert feedback["checks"]["greeting"]["found"] is True
    assert state["turn"] == 1 and state["mood"] == feedback["mood"]


def test_reply_in_assessment_mode_stores_feedback_without_showing_it(dispatcher, started):
    started["mode"] = "assessment"
    state, messages = _run(
        ActionCustomerReply(), dispatcher, text="I'm sorry about that, Dana.", slots={STATE_SLOT: started}
    )
    assert not _custom(messages, "feedback")
    assert _stored_checks(state["session_id"])[0]["apology"]["found"] is True


@pytest.mark.parametrize(
    "text, code",
    [("", "empty_message"), ("   ", "empty_message"), ("x" * 2001, "message_too_long")],
)
def test_bad_replies_get_a_clear_error_and_change_nothing(dispatcher, started, text, code):
    before = dict(started)
    state, messages = _run(ActionCustomerReply(), dispatcher, text=text, slots={STATE_SLOT: started})
    (error,) = _custom(messages, "error")
    assert error["code"] == code and error["message"]
    assert state["turn"] == before["turn"] == 0


def test_reply_before_any_scenario_says_how_to_start(dispatcher):
    events = ActionCustomerReply().run(dispatcher, make_tracker(text="Hello?"), domain={})
    (error,) = _custom(dispatcher.messages, "error")
    assert error["code"] == "no_session" and "/start_scenario" in error["message"]
    assert events == [{"event": "slot", "timestamp": None, "name": STATE_SLOT, "value": None}]


def test_end_session_sends_scorecard_and_marks_abandoned(dispatcher, started):
    state, messages = _run(ActionEndSession(), dispatcher, intent="end_session", slots={STATE_SLOT: started})
    (card,) = _custom(messages, "scorecard")
    assert card["outcome"] == "abandoned" and state["outcome"] == "abandoned"
    assert 0 <= card["score"] <= 100 and card["passed"] is False
    assert set(card["criteria"]) >= {"greeting", "active_listening", "apology", "next_step", "thanks", "no_defensive"}


def test_reply_after_the_end_says_the_session_is_over(dispatcher, started):
    started["outcome"] = "churned"
    _, messages = _run(ActionCustomerReply(), dispatcher, text="Hello again", slots={STATE_SLOT: started})
    (error,) = _custom(messages, "error")
    assert error["code"] == "session_over"


def _stored_checks(session_id):
    from bot import db, recording

    with db.session_scope(recording.engine()) as session:
        return [t.checks for t in db.get_transcript(session=session, session_id=session_id).turns]


def _stored_turns(session_id):
    from bot import db, recording

    with db.session_scope(recording.engine()) as session:
        transcript = db.get_transcript(session=session, session_id=session_id)
        return [(t.number, t.trainee_text) for t in transcript.turns] if transcript else []


def test_every_turn_is_stored_as_it_happens(dispatcher, started):
    state = started
    for text in ("Hi Dana, I'm sorry about this.", "When did the laptop arrive?"):
        state, _ = _run(ActionCustomerReply(), CollectingDispatcher(), text=text, slots={STATE_SLOT: state})
        assert _stored_turns(state["session_id"])[-1] == (state["turn"], text)


def test_a_database_outage_loses_nothing(monkeypatch, dispatcher, started):
    from sqlalchemy import create_engine

    from bot import recording

    down = create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none", future=True)
    monkeypatch.setattr(recording, "engine", lambda: down)
    state, messages = _run(ActionCustomerReply(), dispatcher, text="I'm so sorry, Dana.", slots={STATE_SLOT: started})
    assert messages[0]["text"], "the customer still answers"
    (error,) = _custom(messages, "error")
    assert error["code"] == "storage_unavailable"
    assert state["turn"] == 1 and not state.get("stored_turns")

    monkeypatch.undo()
    state, _ = _run(ActionCustomerReply(), CollectingDispatcher(), text="When did it arrive?", slots={STATE_SLOT: state})
    assert [n for n, _ in _stored_turns(state["session_id"])] == [1, 2]


def test_the_end_and_its_scorecard_are_stored(dispatcher, started):
    from bot import db, recording

    state, _ = _run(ActionCustomerReply(), dispatcher, text="I'm sorry, Dana.", slots={STATE_SLOT: started})
    state, messages = _run(ActionEndSession(), CollectingDispatcher(), intent="end_session", slots={STATE_SLOT: state})
    (card,) = _custom(messages, "scorecard")
    with db.session_scope(recording.engine()) as session:
        stored = db.get_current_scorecard(session=session, session_id=state["session_id"])
        assert stored.score == card["score"] and stored.outcome == "abandoned"


SCRIPT = [
    "Hi Dana, thanks for getting in touch, my name is Sam.",
    "So your laptop has crashed every day since it arrived, and nobody called you back?",
    "I'm really sorry about that, it must be exhausting to lose your work every day.",
    "What happens on the screen right before it crashes?",
    "I'll book a technician to visit you tomorrow morning and call you by 5 pm today to confirm the time.",
]


def _play(state, replies):
    for text in replies:
        state, messages = _run(ActionCustomerReply(), CollectingDispatcher(), text=text, slots={STATE_SLOT: state})
    return state, messages


def test_the_slot_keeps_only_turns_not_yet_stored(started):
    state, _ = _play(started, SCRIPT[:3])
    assert state["turn"] == 3 and state["stored_turns"] == 3
    assert state["turns"] == [], "stored turns leave the slot"
    assert len(state["reply_digests"]) == 3
    # The customer's lines are remembered as short part ids, not as their texts.
    assert len(state["used"]) >= 4 and all(len(part) <= 12 for part in state["used"])
    assert [n for n, _ in _stored_turns(state["session_id"])] == [1, 2, 3]


def test_the_scorecard_counts_turns_that_left_the_slot(started):
    """Earned checks of turns only in the database (greeting at turn 1) still count."""
    from bot import conversation, simulation
    from bot.scoring import build_scorecard

    state, _ = _play(started, SCRIPT[:3])
    state, messages = _run(ActionEndSession(), CollectingDispatcher(), intent="end_session", slots={STATE_SLOT: state})
    (card,) = _custom(messages, "scorecard")
    # The same conversation with every turn kept in memory, as before the slot was compacted.
    whole = simulation.start_session("laptop_at_home_service", "angry", "coach")
    whole["session_id"] = started["session_id"]
    whole["used"] = list(started["used"])
    for text in SCRIPT[:3]:
        conversation.reply(whole, text)  # judged and coached, as the action does
    whole["outcome"] = "abandoned"
    assert card["criteria"] == build_scorecard(whole)["criteria"]
    assert card["criteria"]["greeting"]["met"] is True and "turn 1" in card["criteria"]["greeting"]["explanation"]
    assert card["turns"] == 3


def test_an_outage_at_the_end_keeps_the_scorecard_until_the_database_is_back(monkeypatch, started):
    from sqlalchemy import create_engine

    from bot import db, recording

    state, _ = _play(started, SCRIPT[:3])
    down = create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none", future=True)
    monkeypatch.setattr(recording, "engine", lambda: down)
    state, messages = _run(ActionEndSession(), CollectingDispatcher(), intent="end_session", slots={STATE_SLOT: state})
    assert not _custom(messages, "scorecard"), "no scorecard from part of the turns"
    (error,) = _custom(messages, "error")
    assert error["code"] == "storage_unavailable" and "/end_session" in error["message"]
    assert state["outcome"] == "abandoned"

    monkeypatch.undo()
    state, messages = _run(ActionEndSession(), CollectingDispatcher(), intent="end_session", slots={STATE_SLOT: state})
    (card,) = _custom(messages, "scorecard")
    assert card["turns"] == 3 and card["criteria"]["greeting"]["met"] is True
    with db.session_scope(recording.engine()) as session:
        assert db.get_current_scorecard(session=session, session_id=state["session_id"]).score == card["score"]


def test_turns_taken_during_an_outage_stay_in_the_slot_until_stored(monkeypatch, started):
    from sqlalchemy import create_engine

    from bot import recording

    state, _ = _play(started, SCRIPT[:1])
    down = create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none", future=True)
    monkeypatch.setattr(recording, "engine", lambda: down)
    state, _ = _play(state, SCRIPT[1:3])
    assert [t["turn"] for t in state["turns"]] == [2, 3] and state["stored_turns"] == 1
    monkeypatch.undo()
    state, messages = _play(state, SCRIPT[3:])
    assert state["turns"] == [] and state["stored_turns"] == 5
    assert [n for n, _ in _stored_turns(state["session_id"])] == [1, 2, 3, 4, 5]
    if state["outcome"]:
        (card,) = _custom(messages, "scorecard")
        assert card["turns"] == 5


def test_a_text_and_the_payload_after_it_go_as_one_bot_message():
    from actions.common import utterances

    feedback, card, error = {"type": "feedback"}, {"type": "scorecard"}, {"type": "error"}
    messages = [{"text": "Fine."}, {"custom": feedback}, {"custom": card}]
    assert utterances(messages) == [("Fine.", feedback), (None, card)]
    assert utterances([{"custom": error}]) == [(None, error)]
    assert utterances([{"text": "Hello."}, {"text": "Again."}]) == [("Hello.", None), ("Again.", None)]


def test_a_turn_stored_again_stays_one_turn_and_other_words_replace_it(started):
    """The quick INSERT of bot.recording falls back to record_turn's rules for a number stored before."""
    import copy

    from bot import db, recording

    state, _ = _play(started, SCRIPT[:2])
    with db.session_scope(recording.engine()) as session:
        stored = db.scoring_state(db.get_transcript(session=session, session_id=state["session_id"]))["turns"]
    # A retried call: turn 2 is in the database already, with the same words.
    again = {**copy.deepcopy(state), "stored_turns": 1, "turns": [stored[1]]}
    assert recording.store(again, sender_id="trainee-retry") is None
    assert _stored_turns(state["session_id"]) == [(1, SCRIPT[0]), (2, SCRIPT[1])]

    other = {**again, "stored_turns": 1, "turns": [{**stored[1], "reply": "When did the laptop arrive?"}]}
    assert recording.store(other, sender_id="trainee-retry") is None
    assert _stored_turns(state["session_id"]) == [(1, SCRIPT[0]), (2, "When did the laptop arrive?")]
    with db.session_scope(recording.engine()) as session:
        practice = session.get(db.PracticeSession, state["session_id"])
        assert practice.mood_curve == state["mood_curve"][:3]


def test_turns_are_stored_with_their_checks_and_mood_on_sqlite_and_postgresql(storage_engine, monkeypatch, dispatcher):
    """bot.recording writes a turn with Core statements on one connection, on either database."""
    from bot import db, recording

    monkeypatch.setattr(recording, "engine", lambda: storage_engine)
    state, _ = _run(
        ActionStartScenario(), dispatcher, intent="start_scenario",
        entities=_entities(scenario="laptop_at_home_service", persona="angry", mode="coach"),
    )
    state, _ = _play(state, SCRIPT[:3])
    assert state["stored_turns"] == 3 and state["turns"] == []
    with db.session_scope(storage_engine) as session:
        transcript = db.get_transcript(session=session, session_id=state["session_id"])
        turns = sorted(transcript.turns, key=lambda turn: turn.number)
        assert [(t.number, t.trainee_text) for t in turns] == [(1, SCRIPT[0]), (2, SCRIPT[1]), (3, SCRIPT[2])]
        assert turns[2].checks["apology"]["found"] and turns[2].checks["apology"]["evidence"]
        assert [t.mood for t in turns] == state["mood_curve"][1:]
        assert session.get(db.PracticeSession, state["session_id"]).mood_curve == state["mood_curve"]
