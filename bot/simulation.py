"""The simulated customer: opening, reaction to each trainee reply, mood and outcome.

The whole state of one practice session is a plain JSON-able dict (kept in a Rasa slot), so
any action server process can pick up any conversation.
"""
from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Collection, Dict, List, Optional

import yaml

from bot import customer_answers, customer_voice
from bot.checks import assess_parsed, parse_reply
from bot.errors import CoachError, EmptyMessage
from bot.follow_through import broken_promises, normal_time, promises_in, verdict
from bot.nlp import get_nlp
from bot.scenarios import PERSONAS, Scenario, resolve, scenario_of
from bot.settings import RESOURCES

MODES = ("coach", "assessment")
OUTCOMES = ("resolved", "churned", "escalated", "abandoned")


@dataclass(frozen=True)
class CustomerModel:
    personas: Dict[str, Dict[str, float]]
    mood_changes: Dict[str, int]
    resolve_at: int
    leave_at: int
    escalate_after_defensive: int
    # Per mode, how many defensive replies cannot end the conversation on their own.
    forgiven_slips: Dict[str, int]
    slip_floor_margin: int
    vague_promise: re.Pattern
    restatement_frame: re.Pattern
    retraction: re.Pattern
    # "Is there anything else I can help with?": an offer, not a question about the case.
    closing_offer: re.Pattern
    topicless_words: frozenset
    # Per persona, lines that quote a broken promise back at the trainee ("{promise}").
    broken_promise_lines: Dict[str, List[str]]


def _phrase_pattern(phrases: List[str]) -> re.Pattern:
    alternatives = "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in phrases)
    return re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)


@lru_cache(maxsize=None)
def customer_model() -> CustomerModel:
    raw = yaml.safe_load((RESOURCES / "customer_model.yml").read_text(encoding="utf-8"))
    return CustomerModel(
        personas=raw["personas"],
        mood_changes=raw["mood_changes"],
        resolve_at=raw["thresholds"]["resolve_at"],
        leave_at=raw["thresholds"]["leave_at"],
        escalate_after_defensive=raw["thresholds"]["escalate_after_defensive"],
        forgiven_slips=raw["second_chance"]["forgiven_slips"],
        slip_floor_margin=raw["second_chance"]["slip_floor_margin"],
        vague_promise=_phrase_pattern(raw["vague_promise_phrases"]),
        restatement_frame=_phrase_pattern(raw["restatement_frames"]),
        retraction=_phrase_pattern(raw["retraction_phrases"]),
        closing_offer=_phrase_pattern(raw["closing_offers"]),
        topicless_words=frozenset(raw["topicless_words"]),
        broken_promise_lines=raw["broken_promise_lines"],
    )


@dataclass
class TurnResult:
    """What the customer says back, and what the trainee may be shown."""

    customer_text: str
    feedback: Dict[str, Any]
    ended: bool


def start_session(
    scenario_id: Optional[str], persona: Optional[str], mode: Optional[str], *, heard: Collection[str] = ()
) -> Dict[str, Any]:
    """A new practice session state; raises CoachError with a clear message for bad choices.

    `heard` holds the ids of the parts (bot/customer_voice.py) this trainee heard in earlier
    sessions of the scenario; the customer says other ones first.
    """
    scenario, version = resolve(scenario_id)
    persona = persona or "angry"
    mode = mode or "coach"
    if persona not in PERSONAS:
        raise CoachError(f"Unknown persona {persona!r}: choose one of {', '.join(PERSONAS)}.")
    if mode not in MODES:
        raise CoachError(f"Unknown mode {mode!r}: choose one of {', '.join(MODES)}.")
    session_id = uuid.uuid4().hex
    state: Dict[str, Any] = {
        "session_id": session_id,
        "scenario": scenario.id,
        # The version played (None for a shipped file the database does not hold yet): every
        # turn, the transcript and re-scoring use this one, whatever is published later.
        "scenario_version": version,
        "persona": persona,
        "mode": mode,
        "customer_name": scenario.customer.name,
        "mood": customer_model().personas[persona]["start_mood"],
        "turn": 0,
        "turns": [],
        "commitments": [],
        "broken_commitments": [],
        # Fingerprints (line_digest) of every trainee reply, to notice a repeated one: the state
        # travels in every Rasa turn, so it keeps these rather than the texts.
        "reply_digests": [],
        # Ids of the parts the customer said (bot/customer_voice.py), not their words.
        "used": [],
        "defensive_count": 0,
        # The customer accepted the plan and waits for the trainee's closing reply.
        "accepted": False,
        "outcome": None,
    }
    opening = customer_voice.say(state, "opening", scenario.opening.for_persona(persona), heard=heard)
    state["mood_curve"] = [state["mood"]]
    state["last_customer_text"] = opening
    return state


def opening_text(state: Dict[str, Any]) -> str:
    return state["last_customer_text"]


def take_turn(
    state: Dict[str, Any], reply: str, *, max_chars: Optional[int] = None, heard: Collection[str] = ()
) -> TurnResult:
    """Check the trainee's reply, move the mood, and let the customer answer.

    Mutates `state`. Raises EmptyMessage/MessageTooLong before changing anything. `heard` as
    for start_session.
    """
    if not reply or not reply.strip():
        raise EmptyMessage("Your reply is empty: type what you would say to the customer.")
    scenario = scenario_of(state)
    parsed = parse_reply(reply, max_chars=max_chars)
    checks = assess_parsed(
        parsed,
        customer_message=state["last_customer_text"],
        customer_name=scenario.customer.name,
        facts=scenario.fact_texts(),
        jargon_terms=scenario.jargon,
    )
    model = customer_model()
    persona = model.personas[state["persona"]]
    state["turn"] += 1
    turn = state["turn"]
    if turn > 1 and not checks["greeting"]["found"]:
        # A greeting belongs to the first reply; asking for one later would be bad advice.
        checks["greeting"]["tip"] = None

    normalised = _normalise(reply)
    replies_before = state.setdefault("reply_digests", [])
    repeated = line_digest(normalised) in replies_before
    vague = bool(model.vague_promise.search(reply)) and not checks["next_step"]["found"]
    partial_step = not checks["next_step"]["found"] and bool(checks["next_step"]["evidence"])
    tried_restating = bool(model.restatement_frame.search(reply))
    offered_more = bool(model.closing_offer.search(reply))
    asked = (checks["probing_question"]["found"] or "?" in reply) and not offered_more
    detail_answer = (
        customer_answers.detail_answer(scenario, reply, state["persona"], topicless_words=model.topicless_words)
        if asked else None
    )
    closing = bool(state.get("accepted"))
    earlier = state.get("commitments", [])
    # What was promised before this reply (the list itself grows below).
    promised = {(c["action"], normal_time(c["when"])) for c in earlier}
    # Needed only when there is a promise to read or to hold the reply against. The promises are
    # read in the reply as typed: the checks' parse serves when cleaning changed nothing.
    doc = None
    if checks["next_step"]["found"] or earlier:
        doc = parsed.doc if parsed.text.text == reply else get_nlp()(reply)
    new_promises = promises_in(turn, doc, checks["next_step"]) if doc is not None else []
    broken = broken_promises(turn, doc, new_promises, earlier, model.retraction) if doc is not None else []
    ignored = _ignored_question(state["last_customer_text"], reply, checks)
    # A conversation-level check beside the reply checks: stored, scored and overruled like them.
    checks["broken_promise"] = verdict(broken)

    change = 0
    events: List[str] = []

    def apply(event: str) -> None:
        nonlocal change
        events.append(event)
        change += model.mood_changes[event]

    if checks["defensive"]["found"]:
        apply("defensive")
        state["defensive_count"] += 1
    if repeated:
        apply("repeat")
    if checks["apology"]["found"]:
        apply("apology")
    if checks["active_listening"]["found"]:
        apply("active_listening")
    elif tried_restating:
        apply("wrong_restatement")
    if broken:
        apply("broken_commitment")
        state.setdefault("broken_commitments", []).extend(broken)
        # A broken promise is not owed any more; a moved one is replaced by the new promise below.
        gone = {(b["promise_turn"], b["action"]) for b in broken}
        state["commitments"] = [c for c in state["commitments"] if (c["turn"], c["action"]) not in gone]
    elif ignored:
        apply("ignored_question")
    if checks["next_step"]["found"]:
        # A new promise in the reply that broke an old one wins no trust back.
        if not broken:
            apply("next_step")
        state["commitments"].extend(p.as_dict() for p in new_promises)
    elif vague:
        apply("vague_promise")
    elif partial_step:
        apply("next_step_without_time")
    if checks["thanks"]["found"]:
        apply("thanks")
    if checks["greeting"]["found"] and turn == 1:
        apply("greeting_first_turn")
    if checks["name_use"]["found"]:
        apply("name_use")
    if checks["probing_question"]["found"]:
        apply("probing_question")
    if detail_answer:
        apply("detail_answered")
    if checks["jargon"]["found"]:
        apply("jargon")
    if not events:
        apply("nothing_useful")

    factor = persona["calm_factor"] if change > 0 else persona["anger_factor"]
    before = state["mood"]
    mood = int(max(0, min(100, round(before + change * factor))))
    forgiven = checks["defensive"]["found"] and state["defensive_count"] <= model.forgiven_slips[state["mode"]]
    if forgiven:
        # A slip costs mood but cannot make the customer leave on its own (customer_model.yml).
        mood = max(mood, min(before, model.leave_at + model.slip_floor_margin))
    state["mood"] = mood
    state["mood_curve"].append(state["mood"])

    if closing and not (checks["defensive"]["found"] or broken):
        # The trainee's closing reply after the customer accepted the plan. A question about the
        # case is answered, and a plan with a promise not made before is accepted too; either
        # way the customer still waits for the close. A recap of the same promises closes.
        more_plan = checks["next_step"]["found"] and (
            not new_promises or any((p.action, normal_time(p.when)) not in promised for p in new_promises)
        )
        situation = "detail" if detail_answer else "resolved" if more_plan else "goodbye"
    else:
        # A defensive or broken closing reply withdraws the acceptance: the conversation goes on.
        state["accepted"] = False
        situation = _situation(
            state, scenario, checks,
            repeated=repeated, vague=vague, partial_step=partial_step,
            tried_restating=tried_restating, asked=asked, broken=bool(broken), forgiven=forgiven,
        )
    if situation == "goodbye":
        voice = customer_voice.voice()
        lines = (voice.goodbye_after_offer if offered_more else voice.goodbye)[state["persona"]]
        customer_text = customer_voice.say(state, situation, lines, heard=heard)
    elif situation == "detail" and detail_answer:
        customer_text = customer_voice.say_detail(state, detail_answer, heard=heard)
    elif situation == "after_broken_commitment":
        customer_text = customer_voice.say(
            state, situation, model.broken_promise_lines[state["persona"]], heard=heard,
            fill={"promise": broken[0]["promise"]},
        )
    elif situation == "detail":
        situation = "after_detail_question"
        customer_text = customer_voice.say(state, situation, scenario.unanswerable.for_persona(state["persona"]), heard=heard)
    else:
        customer_text = customer_voice.say(state, situation, scenario.lines(situation, state["persona"]), heard=heard, scenario=scenario)
    if situation == "resolved":
        state["accepted"] = True
    state["accepted"] = state["accepted"] and situation != "goodbye"
    if situation in ENDING_SITUATIONS:
        state["outcome"] = {"goodbye": "resolved", "leaving": "churned", "escalating": "escalated"}[situation]

    feedback = {
        "type": "feedback",
        "turn": turn,
        "checks": checks,
        "mood": state["mood"],
        "mood_change": state["mood_curve"][-1] - state["mood_curve"][-2],
    }
    state["turns"].append(
        {
            "turn": turn,
            "customer": state["last_customer_text"],
            "reply": reply,
            "normalised": normalised,
            "checks": checks,
            "events": events,
            "broken_commitments": broken,
            "situation": situation,
            "mood": state["mood"],
            "answer": customer_text,
        }
    )
    replies_before.append(line_digest(normalised))
    state["last_customer_text"] = customer_text
    return TurnResult(customer_text=customer_text, feedback=feedback, ended=state["outcome"] is not None)


def _situation(
    state: Dict[str, Any],
    scenario: Scenario,
    checks: Dict[str, Dict[str, Any]],
    *,
    repeated: bool,
    vague: bool,
    partial_step: bool,
    tried_restating: bool,
    asked: bool,
    broken: bool = False,
    forgiven: bool = False,
) -> str:
    """Which kind of line the customer answers with; the first that applies wins.

    `resolved` means the customer accepts the plan; the conversation ends with the trainee's
    next reply (`goodbye`, decided by take_turn).
    """
    model = customer_model()
    mood = state["mood"]
    if mood <= model.leave_at:
        return "leaving"
    if checks["defensive"]["found"]:
        if not forgiven and state["defensive_count"] >= model.escalate_after_defensive:
            return "escalating"
        return "after_blame"
    if broken:
        return "after_broken_commitment"
    if repeated:
        return "after_repeat"
    if mood >= model.resolve_at and (checks["next_step"]["found"] or state["commitments"]):
        return "resolved"
    if state["turn"] >= scenario.turn_limit:
        return "leaving"
    if checks["jargon"]["found"]:
        return "after_jargon"
    if checks["next_step"]["found"]:
        # A real plan, but the customer is not calm enough yet to trust it.
        return "after_plan_doubted"
    if checks["probing_question"]["found"] or (asked and not checks["active_listening"]["found"]):
        return "detail"
    if partial_step:
        return "after_next_step_without_time"
    if vague:
        return "after_vague_promise"
    if checks["apology"]["found"]:
        return "after_apology"
    if checks["active_listening"]["found"]:
        return "after_restatement"
    if tried_restating:
        return "after_wrong_restatement"
    if state["commitments"]:
        # A plan is on the table: the customer doubts it rather than asking for one.
        return "after_plan_doubted"
    return "neutral"


def _content_words(text: str) -> set:
    from spacy.lang.en.stop_words import STOP_WORDS

    return {w for w in re.findall(r"[a-z0-9']+", text.lower()) if w not in STOP_WORDS and len(w) > 2}


def _ignored_question(customer_text: str, reply: str, checks: Dict[str, Dict[str, Any]]) -> bool:
    """The customer asked something and the reply neither takes it up nor engages with the problem."""
    questions = [q for q in re.split(r"(?<=[.!?])\s+", customer_text) if q.rstrip().endswith("?")]
    engaged = ("next_step", "active_listening", "apology", "probing_question")
    if not questions or any(checks[name]["found"] for name in engaged):
        return False
    asked_about = set().union(*(_content_words(q) for q in questions))
    return not (asked_about & _content_words(reply))


def _normalise(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


ENDING_SITUATIONS = ("goodbye", "leaving", "escalating")


def line_digest(text: str) -> str:
    """A 12-hex-digit fingerprint of a text, for "said before?" without keeping the text."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=6).hexdigest()
