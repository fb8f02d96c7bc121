"""How the simulated customer words what they say: an opener, a body and a closer, varied.

The body is a line from the scenario file (its `replies` for the situation, an opening, a detail
answer, an `unanswerable` line); openers and closers are the persona's, from customer_model.yml
(`voice`). Every part has a short id (a hash of its words), so a session remembers what the
customer said in a few bytes, and what a trainee heard in earlier sessions (stored as text) is
recognised part by part. A part is chosen in this order: one neither said in this session nor
heard by this trainee before, then one only heard before, then one already said.
"""
from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Collection, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

import yaml

from bot.scenarios import PERSONAS, SITUATIONS, Scenario
from bot.settings import RESOURCES

# How often a body gets an opener or a closer: often enough to vary, rarely enough that the
# customer does not sound like a template.
OPENER_SHARE = 0.5
CLOSER_SHARE = 0.4
# A body this long already says enough: a closer after it sounds tacked on.
CLOSER_MAX_BODY_CHARS = 70
# How often a short line in a reminder situation brings back a fact of the case instead.
REMINDER_SHARE = 0.35


def part_id(text: str) -> str:
    """A stable 8-character id of a part's words (unchanged while the words are)."""
    return hashlib.blake2s(text.encode("utf-8"), digest_size=4).hexdigest()


@dataclass(frozen=True)
class Voice:
    openers: Dict[str, Dict[str, List[str]]]  # persona -> situation -> openers
    closers: Dict[str, Dict[str, List[str]]]
    interjections: FrozenSet[str]
    told_again: Dict[str, List[str]]
    goodbye: Dict[str, List[str]]
    goodbye_after_offer: Dict[str, List[str]]
    reminder_situations: FrozenSet[str]


@lru_cache(maxsize=None)
def voice() -> Voice:
    raw = yaml.safe_load((RESOURCES / "customer_model.yml").read_text(encoding="utf-8"))
    parts = raw["voice"]
    return Voice(
        openers={p: {s: list(v.get("openers") or []) for s, v in parts[p].items()} for p in PERSONAS},
        closers={p: {s: list(v.get("closers") or []) for s, v in parts[p].items()} for p in PERSONAS},
        interjections=frozenset(w.lower() for w in raw["interjections"]),
        told_again=raw["told_again"],
        goodbye=raw["goodbye"],
        goodbye_after_offer=raw["goodbye_after_offer"],
        reminder_situations=frozenset(raw["reminder_situations"]),
    )


def _words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))


def _content(words: str) -> FrozenSet[str]:
    from spacy.lang.en.stop_words import STOP_WORDS

    return frozenset(w for w in words.split() if w not in STOP_WORDS and len(w) > 2)


def choose(candidates: Sequence[str], *, used: Collection[str], heard: Collection[str], rng: random.Random) -> str:
    """A candidate not said in this session nor heard before, else only heard before, else any."""
    fresh = [c for c in candidates if part_id(c) not in used and part_id(c) not in heard]
    unsaid = [c for c in candidates if part_id(c) not in used]
    return rng.choice(fresh or unsaid or list(candidates))


def has_fresh(candidates: Iterable[str], used: Collection[str]) -> bool:
    return any(part_id(c) not in used for c in candidates)


def compose(
    body: str,
    *,
    situation: str,
    persona: str,
    used: Collection[str],
    heard: Collection[str],
    rng: random.Random,
    reminders: Sequence[str] = (),
    before: str = "",
) -> Tuple[str, List[str]]:
    """The body with an opener and a closer (or a reminder of the case) where they fit; the text
    and the ids of its parts. `before` is what the customer said last: a reminder of it would
    only repeat it."""
    v = voice()
    words = _words(body)
    first = words.split(" ", 1)[0] if words else ""
    ids = [part_id(body)]
    text = body

    body_content = _content(words)

    def fits(part: str) -> bool:
        # Never say the same thing twice in one breath ("I'm still waiting ... I'm waiting.").
        return _words(part) not in words and not (_content(_words(part)) & body_content)

    openers = [o for o in v.openers[persona].get(situation, []) if fits(o)]
    if openers and first not in v.interjections and rng.random() < OPENER_SHARE:
        opener = choose(openers, used=used, heard=heard, rng=rng)
        text, ids = f"{opener} {text}", [part_id(opener), *ids]
    short = len(body) <= CLOSER_MAX_BODY_CHARS
    said_before = _content(_words(before))
    facts = [
        r for r in reminders
        if fits(r) and part_id(r) not in used and not (_content(_words(r)) & said_before)
    ] if situation in v.reminder_situations else []
    closers = [c for c in v.closers[persona].get(situation, []) if fits(c)]
    if facts and short and rng.random() < REMINDER_SHARE:
        reminder = choose(facts, used=used, heard=heard, rng=rng)
        text, ids = f"{text} {reminder}", [*ids, part_id(reminder)]
    elif closers and "?" not in body and short and rng.random() < CLOSER_SHARE:
        closer = choose(closers, used=used, heard=heard, rng=rng)
        text, ids = f"{text} {closer}", [*ids, part_id(closer)]
    return text, ids


def catalogue(scenario: Scenario, persona: str) -> Dict[str, str]:
    """Every part this customer may say in `scenario`, by id: what a trainee can have heard."""
    v = voice()
    texts: List[str] = list(scenario.opening.for_persona(persona))
    for situation in scenario.replies.__fields__:
        texts.extend(scenario.lines(situation, persona))
    texts.extend(getattr(d.answer, persona) for d in scenario.details)
    texts.extend(scenario.unanswerable.for_persona(persona))
    texts.extend(scenario.reminders.for_persona(persona))
    for group in (v.openers[persona], v.closers[persona]):
        for lines in group.values():
            texts.extend(lines)
    texts.extend(v.goodbye[persona])
    texts.extend(v.goodbye_after_offer[persona])
    texts.extend(v.told_again[persona])
    return {part_id(t): t for t in texts}


def parts_heard(texts: Iterable[Optional[str]], scenario: Scenario, persona: str) -> FrozenSet[str]:
    """The ids of the parts of `scenario`'s customer found in `texts` (what was said to a trainee)."""
    said = "\n".join(t for t in texts if t)
    if not said:
        return frozenset()
    return frozenset(pid for pid, text in catalogue(scenario, persona).items() if text in said)


# Where the customer looks for something else to say when every variant of a situation has
# been used: the generic push for a solution first, anything unsaid last.
FALLBACK_SITUATIONS = ("neutral", "after_vague_promise", "after_next_step_without_time")
# Never a fallback: they end the conversation or accept the plan.
NOT_FALLBACK = ("resolved", "leaving", "escalating")


def say(
    state: Dict[str, Any],
    situation: str,
    bodies: List[str],
    *,
    heard: Collection[str],
    scenario: Optional[Scenario] = None,
    fill: Optional[Dict[str, str]] = None,
) -> str:
    """What the customer says in `situation`: a body not said yet in this conversation (and not
    heard by this trainee before, when there is one), with an opener and closer, varied by
    session and turn. Remembers the parts' ids in the state."""
    rng = random.Random(f"{state['session_id']}:{state['turn']}")
    used = set(state["used"])
    if not has_fresh(bodies, used) and scenario is not None:
        for fallback in FALLBACK_SITUATIONS:
            lines = scenario.lines(fallback, state["persona"])
            if has_fresh(lines, used):
                bodies, situation = lines, fallback
                break
        else:
            ongoing = [s for s in SITUATIONS if s not in NOT_FALLBACK]
            bodies = [line for s in ongoing for line in scenario.lines(s, state["persona"])]
    template = choose(bodies, used=used, heard=heard, rng=rng)
    body = template.format(**fill) if fill else template
    reminders = scenario.reminders.for_persona(state["persona"]) if scenario is not None else ()
    text, ids = compose(
        body, situation=situation, persona=state["persona"], used=used, heard=heard, rng=rng, reminders=reminders,
        before=state.get("last_customer_text", ""),
    )
    # A filled-in line is remembered by its template, so it counts as said whatever was quoted.
    ids = [part_id(template) if i == part_id(body) else i for i in ids]
    state["used"].extend(i for i in ids if i not in used)
    return text


def say_detail(state: Dict[str, Any], answer: str, *, heard: Collection[str]) -> str:
    """A detail answer; one already given in this conversation is said again as such."""
    answer_id = part_id(answer)
    if answer_id not in state["used"]:
        state["used"].append(answer_id)
        return answer
    rng = random.Random(f"{state['session_id']}:{state['turn']}")
    again = voice().told_again[state["persona"]]
    prefix = choose(again, used=set(state["used"]), heard=heard, rng=rng)
    state["used"].append(part_id(prefix))
    return f"{prefix} {answer}"
