"""Which of the scenario's details a trainee's question asks about, answered from its facts.

Each detail in a scenario file has keywords and an answer per persona; the question's words
pick the detail with the most keyword hits. A question none of them answers gets the scenario's
in-character `unanswerable` line instead (bot/simulation.py).
"""
from __future__ import annotations

import re
from typing import Collection, Optional

from bot.scenarios import Scenario


def detail_answer(scenario: Scenario, reply: str, persona: str, *, topicless_words: Collection[str]) -> Optional[str]:
    """The answer of the detail the question asks about, or None when the facts do not say.

    A question word alone ("what", "when") names no topic: a detail needs a hit on one of its
    content keywords, or, when the question names nothing the case does not know ("When did
    this happen?"), on its question words."""
    from spacy.lang.en.stop_words import STOP_WORDS

    words = set(re.findall(r"[a-z0-9'-]+", reply.lower()))
    lowered = reply.lower()
    known = _case_vocabulary(scenario) | frozenset(topicless_words)
    vague = all(w in STOP_WORDS or len(w) <= 2 or w in known for w in words)
    best, best_score = None, 0.0
    for detail in scenario.details:
        content = function = 0
        for keyword in (k.lower() for k in detail.keywords):
            hit = keyword in words or (" " in keyword and re.search(rf"\b{re.escape(keyword)}\b", lowered))
            if hit and (" " in keyword or keyword not in STOP_WORDS):
                content += 1
            elif hit:
                function += 1
        score = content + 0.5 * function
        if (content or vague) and score > best_score:
            best, best_score = detail, score
    return getattr(best.answer, persona) if best else None


def _case_vocabulary(scenario: Scenario) -> frozenset:
    """Every word of the case: its facts and the keywords of its details."""
    # Not cached by id: a scenario's versions differ (a few microseconds per question).
    text = " ".join([*scenario.fact_texts(), *(k for d in scenario.details for k in d.keywords)])
    return frozenset(re.findall(r"[a-z0-9'-]+", text.lower()))
