"""Rasa's dialogue states of a conversation's history, worked out once per event rather than per call.

Before every prediction Rasa 3.6 turns the whole conversation into one state per action
(Domain.states_for_tracker_history): it replays every event on a fresh tracker and builds a
state at each action. Our RulePolicy asks three times per turn, each time from the first event,
so that work grew with the conversation: at turn 11 it was about 2.2 ms of a turn, at turn 2
0.8 ms, most of the growth of a no-op turn from turn 2 to turn 11 (bench.latency).

The state at an action depends only on the events before it, so here the states, the replayed
tracker and the loop's two variables are kept per conversation, and a later call whose events
begin with the same events carries on from where the last call stopped. Rasa reads each turn's
tracker afresh from its store, so events are compared by what makes them themselves (type,
timestamp and the fields a state is built from, `_event_key`), not by identity. Anything else
(a shorter or rewritten history, another domain, different arguments) is worked out from the
start, as Rasa does. Callers may change the states they get (the featurizers remove the text
or the intent of the last user input), so each call gets its own copy.

Only plain DialogueStateTracker objects are served here: training's trackers
(TrackerWithCachedStates) keep their own cache.
"""
from __future__ import annotations

import itertools
import json
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, List, Optional, Tuple

logger = logging.getLogger(__name__)

# Conversations whose progress is kept, per Rasa process; the least recently used goes first.
# One entry holds a replayed tracker and a state per action: about 26 KB for a 12-turn session
# (tracemalloc; the events themselves belong to the tracker), so under 7 MB for all of them.
MAX_CONVERSATIONS = 256


@dataclass
class _Progress:
    """How far the states of one conversation have been worked out."""

    domain: Any
    events: List[Any]  # the events the states were worked out from
    keys: List[tuple]  # their `_event_key`s
    replay: Any  # the tracker after the events in `keys`, as generate_all_prior_trackers has it
    states: List[Dict[str, Any]] = field(default_factory=list)  # one per ActionExecuted in `keys`
    last_ml_action_sub_state: Any = None
    turn_was_hidden: bool = False


def _copy_states(states: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """A copy of each state and of its sub-states (whose values are strings and tuples); a sub-state
    shared by two states (Rasa's rule-only substitution) is shared again, as in the original."""
    copies: Dict[int, Any] = {}
    result = []
    for state in states:
        copied = {}
        for kind, sub_state in state.items():
            twin = copies.get(id(sub_state))
            if twin is None:
                twin = copies[id(sub_state)] = dict(sub_state) if type(sub_state) is dict else sub_state
            copied[kind] = twin
        result.append(copied)
    return result


class PriorStates:
    """Domain.states_for_tracker_history with each conversation's progress kept (see the module's doc)."""

    def __init__(self, original: Any, max_conversations: int = MAX_CONVERSATIONS) -> None:
        from rasa.shared.core import events
        from rasa.shared.core.constants import PREVIOUS_ACTION
        from rasa.shared.core.trackers import DialogueStateTracker

        self.original = original
        self.max_conversations = max_conversations
        self._tracker_class = DialogueStateTracker
        self._events = events
        self._previous_action = PREVIOUS_ACTION
        self._kinds: Dict[type, str] = {}
        self._progress: "OrderedDict[tuple, _Progress]" = OrderedDict()
        self._featurized: Dict[int, Tuple[Any, FrozenSet[str]]] = {}
        self.carried_on = 0
        self.started_over = 0

    def _featurized_slots(self, domain: Any) -> FrozenSet[str]:
        known = self._featurized.get(id(domain))
        if known is None or known[0] is not domain:
            known = (domain, frozenset(slot.name for slot in domain.slots if slot.influence_conversation))
            self._featurized = {id(domain): known}
        return known[1]

    def _kind(self, kind: type) -> str:
        """What an event type is to this cache; isinstance on Rasa's events (ABCs) costs a microsecond
        a call, so each type is sorted once."""
        known = self._kinds.get(kind)
        if known is None:
            events = self._events
            known = next((name for name, classes in (
                ("undo", (events.ActionReverted, events.UserUtteranceReverted)),
                ("reset", (events.Restarted, events.SessionStarted)),
                ("action", (events.ActionExecuted,)),
                ("user", (events.UserUttered,)),
                ("slot", (events.SlotSet,)),
                ("featurization", (events.DefinePrevUserUtteredFeaturization,)),
                ("entities", (events.EntitiesAdded,)),
                ("loop", (events.ActiveLoop,)),
                ("followup", (events.FollowupAction,)),
                ("interrupted", (events.LoopInterrupted,)),
            ) if issubclass(kind, classes)), "other")
            self._kinds[kind] = known
        return known

    def _event_key(self, event: Any, featurized: FrozenSet[str]) -> tuple:
        """What a state could read from `event`, with its type and time."""
        kind = self._kind(type(event))
        if kind == "action":
            fields: tuple = (event.action_name, event.action_text, event.hide_rule_turn)
        elif kind == "user":
            # Not its use_text_for_featurization: the DefinePrevUserUtteredFeaturization event
            # after it sets that on the event itself, and has a key of its own.
            fields = (event.text, event.intent_name, repr(event.entities) if event.entities else None)
        elif kind == "slot":
            # A slot that is not featurized never enters a state; our tracker store blanks its
            # earlier values once a new one is stored.
            fields = (event.key, repr(event.value) if event.key in featurized else None)
        elif kind == "featurization":
            fields = (event.use_text_for_featurization,)
        elif kind == "entities":
            fields = (repr(event.entities),)
        elif kind == "loop":
            fields = (event.name,)
        elif kind == "followup":
            fields = (event.action_name,)
        elif kind == "interrupted":
            fields = (event.is_interrupted,)
        else:
            fields = ()
        return (event.type_name, event.timestamp, *fields)

    def _applied_events(self, tracker: Any) -> List[Any]:
        """tracker.applied_events(), read off directly when nothing was undone (most conversations)."""
        start = 0
        for index, event in enumerate(tracker.events):
            kind = self._kind(type(event))
            if kind == "undo" or (kind == "loop" and event.name):
                # Undone events, or a loop whose repeated executions Rasa folds: Rasa's own walk.
                return tracker.applied_events()
            if kind == "reset":
                start = index + 1
        return list(itertools.islice(tracker.events, start, None))

    def _continues(self, progress: _Progress, applied: List[Any]) -> bool:
        """Whether `applied` begins with the events `progress` was worked out from."""
        if len(progress.events) > len(applied):
            return False
        featurized = self._featurized_slots(progress.domain)
        for event, known, key in zip(applied, progress.events, progress.keys):
            # The same object within a turn; the same event read again from the store in the next.
            if event is not known and self._event_key(event, featurized) != key:
                return False
        return True

    def _step(self, domain: Any, progress: _Progress, hide_rule_turn: bool, ignore_rule_only_turns: bool,
              omit_unset_slots: bool, rule_only_data: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        """The body of Rasa's loop for one prior tracker (progress.replay): its state, None if hidden."""
        tracker = progress.replay
        if ignore_rule_only_turns:
            if not progress.turn_was_hidden:
                progress.last_ml_action_sub_state = domain._get_prev_action_sub_state(tracker)
            if not tracker.followup_action and not tracker.latest_action_name == tracker.active_loop_name:
                progress.turn_was_hidden = hide_rule_turn
            if progress.turn_was_hidden:
                return None
        state = domain.get_active_state(tracker, omit_unset_slots=omit_unset_slots)
        if ignore_rule_only_turns:
            domain._remove_rule_only_features(state, rule_only_data)
            if progress.states:
                domain._substitute_rule_only_user_input(state, progress.states[-1])
            if progress.last_ml_action_sub_state:
                state[self._previous_action] = progress.last_ml_action_sub_state
        return domain._clean_state(state)

    def __call__(self, domain: Any, tracker: Any, omit_unset_slots: bool = False,
                 ignore_rule_only_turns: bool = False, rule_only_data: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        if type(tracker) is not self._tracker_class:
            return self.original(domain, tracker, omit_unset_slots=omit_unset_slots,
                                 ignore_rule_only_turns=ignore_rule_only_turns, rule_only_data=rule_only_data)
        applied = self._applied_events(tracker)
        conversation = (tracker.sender_id, tracker.is_rule_tracker, omit_unset_slots, ignore_rule_only_turns,
                        json.dumps(rule_only_data, sort_keys=True, default=str))
        progress = self._progress.pop(conversation, None)
        if progress is None or progress.domain is not domain or not self._continues(progress, applied):
            progress = _Progress(domain=domain, events=[], keys=[], replay=tracker.init_copy())
            self.started_over += 1
        else:
            self.carried_on += 1
            # The same events as this call's objects: the next call (the same tracker, or the
            # store's parsed rows next turn) then matches them by identity.
            progress.events[:] = applied[: len(progress.events)]
        featurized = self._featurized_slots(domain)
        arguments = (ignore_rule_only_turns, omit_unset_slots, rule_only_data)
        for event in applied[len(progress.events):]:
            if self._kind(type(event)) == "action":
                state = self._step(domain, progress, event.hide_rule_turn, *arguments)
                if state is not None:
                    progress.states.append(state)
            progress.replay.update(event)
            progress.events.append(event)
            progress.keys.append(self._event_key(event, featurized))
        # The state after the last event: worked out on every call, its loop variables not kept,
        # since the next event may not be an action.
        kept = (progress.last_ml_action_sub_state, progress.turn_was_hidden)
        final = self._step(domain, progress, False, *arguments)
        progress.last_ml_action_sub_state, progress.turn_was_hidden = kept
        states = _copy_states(progress.states if final is None else [*progress.states, final])
        self._progress[conversation] = progress
        while len(self._progress) > self.max_conversations:
            self._progress.popitem(last=False)
        return states


def install_prior_states_cache(patched_for: Tuple[str, ...]) -> Optional[PriorStates]:
    """Serve Domain.states_for_tracker_history through PriorStates, on the Rasa versions it was checked on."""
    import rasa
    from rasa.shared.core.domain import Domain

    version = getattr(rasa, "__version__", "unknown")
    current = getattr(Domain, "states_for_tracker_history", None)
    if isinstance(getattr(current, "prior_states", None), PriorStates):
        return current.prior_states
    if version not in patched_for or current is None:
        logger.warning("Rasa %s: dialogue states are worked out from the first event on every call.", version)
        return None
    cache = PriorStates(current)

    def states_for_tracker_history(self: Any, tracker: Any, omit_unset_slots: bool = False,
                                   ignore_rule_only_turns: bool = False,
                                   rule_only_data: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        return cache(self, tracker, omit_unset_slots, ignore_rule_only_turns, rule_only_data)

    states_for_tracker_history.prior_states = cache  # type: ignore[attr-defined]
    Domain.states_for_tracker_history = states_for_tracker_history
    return cache
