"""bot.rasa_action_call: with `tracker_events: latest_turn`, an action call carries the running turn's events."""
from __future__ import annotations

import dataclasses
import logging

import pytest
import rasa
import yaml
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_main
from bot.launcher import write_endpoints
from bot.rasa_action_call import LATEST_TURN, SETTING, install_latest_turn_events, latest_turn
from bot.settings import PROJECT_ROOT, load_settings

DOMAIN = Domain.load(str(PROJECT_ROOT / "domain.yml"))
ORIGINAL = RemoteAction._action_call_format


def conversation(turns: int) -> DialogueStateTracker:
    tracker = DialogueStateTracker("trainee-7", DOMAIN.slots)
    tracker.update_with_events([ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")], DOMAIN)
    for turn in range(1, turns + 1):
        tracker.update_with_events(
            [
                UserUttered(f"reply {turn}", {"name": "apologize", "confidence": 0.9}, [], message_id=f"m{turn}"),
                ActionExecuted("action_customer_reply"),
                BotUttered(f"answer {turn}", {"custom": {"type": "feedback", "turn": turn}}),
                SlotSet("practice", {"session_id": "s1", "turn": turn}),
                ActionExecuted("action_listen"),
            ],
            DOMAIN,
        )
    tracker.update(UserUttered("the running reply", {"name": "thank", "confidence": 0.8}, [], message_id="now"))
    return tracker


@pytest.fixture
def installed():
    assert install_latest_turn_events(rasa_main.PATCHED_FOR)
    yield
    RemoteAction._action_call_format = ORIGINAL


def action(**settings) -> RemoteAction:
    return RemoteAction("action_customer_reply", EndpointConfig("http://127.0.0.1:1/webhook", **settings))


def test_the_latest_turn_starts_at_the_last_user_message():
    tracker = conversation(3)
    events = list(tracker.events)
    assert latest_turn(events) == events[-1:]
    assert latest_turn(events[:-1])[0] == UserUttered("reply 3", {"name": "apologize", "confidence": 0.9}, [], message_id="m3")
    assert latest_turn(events[:3]) == events[:3]  # no user message yet: everything


def test_the_call_carries_the_latest_turn_and_everything_else_as_rasa_sends_it(installed):
    tracker = conversation(11)
    full = ORIGINAL(action(), tracker, DOMAIN)
    trimmed = action(**{SETTING: LATEST_TURN})._action_call_format(tracker, DOMAIN)
    assert trimmed["tracker"]["events"] == [event.as_dict() for event in latest_turn(tracker.events)]
    assert len(full["tracker"]["events"]) == 3 + 11 * 5 + 1
    assert {**trimmed, "tracker": {**trimmed["tracker"], "events": None}} == {
        **full, "tracker": {**full["tracker"], "events": None}
    }
    # What the actions read (actions/): the state slot, the latest message with its id, the sender.
    assert trimmed["tracker"]["slots"]["practice"] == {"session_id": "s1", "turn": 11}
    assert trimmed["tracker"]["latest_message"]["message_id"] == "now"
    assert trimmed["sender_id"] == "trainee-7"


def test_without_the_setting_rasa_sends_the_whole_tracker(installed):
    tracker = conversation(4)
    assert action()._action_call_format(tracker, DOMAIN) == ORIGINAL(action(), tracker, DOMAIN)
    assert action(**{SETTING: "all"})._action_call_format(tracker, DOMAIN) == ORIGINAL(action(), tracker, DOMAIN)


def test_the_endpoints_rasa_is_started_with_ask_for_the_latest_turn(tmp_path):
    settings = dataclasses.replace(load_settings(), var_dir=tmp_path)
    path = write_endpoints(settings=settings, actions_url="http://127.0.0.1:5999", tracker_db=tmp_path / "t.db")
    endpoint = EndpointConfig.from_dict(yaml.safe_load(path.read_text(encoding="utf-8"))["action_endpoint"])
    assert endpoint.kwargs.get(SETTING) == LATEST_TURN
    assert endpoint.url == "http://127.0.0.1:5999/webhook"


def test_another_rasa_version_sends_the_whole_tracker(monkeypatch, caplog):
    monkeypatch.setattr(rasa, "__version__", "9.9.9")
    with caplog.at_level(logging.WARNING):
        assert not install_latest_turn_events(rasa_main.PATCHED_FOR)
    assert RemoteAction._action_call_format is ORIGINAL
    assert "every event of the conversation" in caplog.text
