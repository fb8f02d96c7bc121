"""bot.rasa_prior_states: each conversation's dialogue states kept between predictions, equal to Rasa's."""
from __future__ import annotations

import logging
import random

import pytest
import rasa
from rasa.shared.core.constants import RULE_ONLY_LOOPS, RULE_ONLY_SLOTS
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    BotUttered,
    DefinePrevUserUtteredFeaturization,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUttered,
    UserUtteranceReverted,
)
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

from bot import rasa_main
from bot.rasa_prior_states import PriorStates, install_prior_states_cache

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, complain, inform, deny]
entities: [product]
slots:
  mood:
    type: categorical
    values: [calm, angry]
    mappings: [{type: custom}]
  product:
    type: text
    mappings: [{type: from_entity, entity: product}]
  practice:
    type: any
    influence_conversation: false
    mappings: [{type: custom}]
forms:
  details_form:
    required_slots: [product]
actions: [action_reply, action_start]
responses:
  utter_ok: [{text: ok}]
"""
)
ORIGINAL = Domain.states_for_tracker_history
ARGUMENTS = [
    {},
    {"omit_unset_slots": True},
    {"ignore_rule_only_turns": True, "rule_only_data": {RULE_ONLY_SLOTS: ["mood"], RULE_ONLY_LOOPS: ["details_form"]}},
]


def user(rng: random.Random) -> UserUttered:
    intent = rng.choice(["greet", "complain", "inform", "deny"])
    entities = [{"entity": "product", "value": "laptop", "start": 0, "end": 6}] if intent == "inform" else []
    return UserUttered(f"{intent} {rng.randint(0, 99)}", {"name": intent, "confidence": 1.0}, entities)


def turn(rng: random.Random, undo: bool) -> list:
    """One turn's events as Rasa writes them, sometimes with what undoes or resets a conversation."""
    events = [user(rng), DefinePrevUserUtteredFeaturization(rng.random() < 0.3)]
    action = rng.choice(["action_reply", "details_form", "utter_ok"])
    events.append(ActionExecuted(action, hide_rule_turn=rng.random() < 0.3))
    if action == "details_form":
        events.append(ActiveLoop(rng.choice(["details_form", None])))
    events += [BotUttered("fine", {"custom": {"turn": 1}}), SlotSet("practice", {"turn": rng.randint(0, 9)})]
    if rng.random() < 0.4:
        events.append(SlotSet("mood", rng.choice(["calm", "angry", None])))
    if rng.random() < 0.1:
        events.append(FollowupAction("action_reply"))
    if undo:
        events.append(rng.choice([UserUtteranceReverted(), ActionReverted(), Restarted(), SessionStarted()]))
    events.append(ActionExecuted("action_listen"))
    return events


def conversation(seed: int, undo: bool = False) -> list:
    rng = random.Random(seed)
    events = [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")]
    for _ in range(rng.randint(1, 9)):
        events += turn(rng, undo and rng.random() < 0.3)
    return events


@pytest.mark.parametrize("undo", [False, True], ids=["plain", "with undoing and resets"])
@pytest.mark.parametrize("seed", range(12))
def test_states_equal_rasas_at_every_event_of_a_conversation(seed, undo):
    cache = PriorStates(ORIGINAL)
    for arguments in ARGUMENTS:
        tracker = DialogueStateTracker(f"conversation-{seed}", DOMAIN.slots)
        for event in conversation(seed, undo):
            tracker.update(event)
            assert cache(DOMAIN, tracker, **arguments) == ORIGINAL(DOMAIN, tracker, **arguments)
    assert cache.carried_on > cache.started_over


def read_back(cache: PriorStates, sender: str, stored: list) -> bool:
    """The conversation as Rasa's tracker store reads it (new event objects from the stored rows):
    its states equal Rasa's; True if the cache carried on from what it had."""
    tracker = DialogueStateTracker.from_dict(sender, stored, DOMAIN.slots)
    carried_on = cache.carried_on
    assert cache(DOMAIN, tracker) == ORIGINAL(DOMAIN, tracker)
    return cache.carried_on == carried_on + 1


def test_a_conversation_read_again_from_the_store_carries_on():
    cache = PriorStates(ORIGINAL)
    events = conversation(3)
    cache(DOMAIN, DialogueStateTracker.from_events("reader", events[:-8], DOMAIN.slots))
    assert read_back(cache, "reader", [event.as_dict() for event in events])


def test_a_rewritten_history_is_worked_out_again():
    cache = PriorStates(ORIGINAL)
    events = conversation(5)
    cache(DOMAIN, DialogueStateTracker.from_events("rewritten", events, DOMAIN.slots))
    rewritten = [event.as_dict() for event in events]
    first_user = next(index for index, data in enumerate(rewritten) if data["event"] == "user")
    rewritten[first_user]["parse_data"]["intent"] = {"name": "deny", "confidence": 1.0}
    assert not read_back(cache, "rewritten", rewritten)


def test_a_changed_featurized_slot_value_is_a_rewritten_history_and_an_unfeaturized_one_is_not():
    cache = PriorStates(ORIGINAL)
    events = [ActionExecuted("action_listen"), user(random.Random(1)), ActionExecuted("action_reply"),
              SlotSet("mood", "calm"), SlotSet("practice", {"turn": 1}), ActionExecuted("action_listen")]
    cache(DOMAIN, DialogueStateTracker.from_events("slots", events, DOMAIN.slots))
    # Our tracker store blanks earlier values of the unfeaturized `practice` slot.
    blanked = [event.as_dict() for event in events]
    blanked[4]["value"] = None
    assert read_back(cache, "slots", blanked)
    changed = [event.as_dict() for event in events]
    changed[3]["value"] = "angry"
    assert not read_back(cache, "slots", changed)


def test_changing_the_states_returned_changes_nothing_kept():
    cache = PriorStates(ORIGINAL)
    tracker = DialogueStateTracker.from_events("changed", conversation(7), DOMAIN.slots)
    states = cache(DOMAIN, tracker)
    for state in states:
        for sub_state in state.values():
            sub_state.clear()
        state.clear()
    assert cache(DOMAIN, tracker) == ORIGINAL(DOMAIN, tracker)


def test_training_trackers_and_other_domains_go_to_rasas_own_walk():
    calls = []

    def original(domain, tracker, **arguments):
        calls.append(tracker)
        return ORIGINAL(domain, tracker, **arguments)

    cache = PriorStates(original)
    training = TrackerWithCachedStates.from_events("training", conversation(2), DOMAIN.slots, domain=DOMAIN)
    assert cache(DOMAIN, training) == ORIGINAL(DOMAIN, training)
    assert calls == [training]
    tracker = DialogueStateTracker.from_events("domains", conversation(2), DOMAIN.slots)
    cache(DOMAIN, tracker)
    other = Domain.from_dict(DOMAIN.as_dict())
    started_over = cache.started_over
    assert cache(other, tracker) == ORIGINAL(other, tracker)
    assert cache.started_over == started_over + 1


def test_the_least_recently_used_conversations_are_let_go():
    cache = PriorStates(ORIGINAL, max_conversations=3)
    for name in "abcd":
        cache(DOMAIN, DialogueStateTracker.from_events(name, conversation(1), DOMAIN.slots))
    assert sorted(key[0] for key in cache._progress) == ["b", "c", "d"]


def test_installed_on_the_rasa_version_it_was_checked_on():
    cache = install_prior_states_cache(rasa_main.PATCHED_FOR)
    try:
        assert isinstance(cache, PriorStates)
        assert install_prior_states_cache(rasa_main.PATCHED_FOR) is cache  # installed once
        tracker = DialogueStateTracker.from_events("installed", conversation(4), DOMAIN.slots)
        assert tracker.past_states(DOMAIN) == ORIGINAL(DOMAIN, tracker)
        assert cache.started_over == 1
    finally:
        Domain.states_for_tracker_history = ORIGINAL


def test_another_rasa_version_keeps_rasas_own_walk(monkeypatch, caplog):
    monkeypatch.setattr(rasa, "__version__", "9.9.9")
    with caplog.at_level(logging.WARNING):
        assert install_prior_states_cache(rasa_main.PATCHED_FOR) is None
    assert Domain.states_for_tracker_history is ORIGINAL
    assert "worked out from the first event" in caplog.text
