"""Lines for a scenario that leaves some out: composed from the persona's phrasing and the facts.

A trainer writing a scenario in the browser gives the facts, the openings and whatever lines they
care about; every situation (and `unanswerable`, `reminders`) left empty gets the templates of
bot/resources/composed_lines.yml filled with the scenario's keywords, what the customer already
tried and what they want. Hand-written lines always win: a situation with any lines of its own
keeps exactly those (and the usual rule of at least three variants applies to them).
"""
from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any, Dict, List, Optional

import yaml

from bot.settings import RESOURCES

PERSONAS = ("angry", "dispassionate")
# The groups of lines a scenario may leave out.
COMPOSED_FIELDS = ("replies", "unanswerable", "reminders")


@lru_cache(maxsize=None)
def templates() -> Dict[str, Any]:
    return yaml.safe_load((RESOURCES / "composed_lines.yml").read_text(encoding="utf-8"))


def _lower_first(text: str) -> str:
    # "An apology, ..." -> "an apology, ..."; an abbreviation ("TV bundle") keeps its capitals.
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def _text(value: Any) -> Optional[str]:
    return value.strip() if isinstance(value, str) and value.strip() else None


def fill_values(raw: Dict[str, Any]) -> Optional[Dict[str, str]]:
    """What the templates' placeholders stand for in this document; None when the facts they
    need are missing or malformed (validation then names those fields)."""
    facts = raw.get("facts")
    if not isinstance(facts, dict):
        return None
    keywords = [k.strip() for k in facts.get("keywords") or [] if _text(k)] if isinstance(facts.get("keywords"), list) else []
    tried = [t.strip() for t in facts.get("already_tried") or [] if _text(t)] if isinstance(facts.get("already_tried"), list) else []
    wants = _text(facts.get("wants"))
    if len(keywords) < 3 or not tried or not wants:
        return None
    return {
        "topic": keywords[0],
        "topic2": keywords[1],
        "topic3": keywords[2],
        "tried": _lower_first(tried[0]).rstrip(".!"),
        "wants": _lower_first(wants).rstrip(".!"),
    }


def _given(value: Any) -> bool:
    return isinstance(value, list) and any(_text(v) for v in value)


def _fill_persona_lines(target: Dict[str, Any], lines: Dict[str, List[str]], values: Dict[str, str]) -> None:
    for persona in PERSONAS:
        if not _given(target.get(persona)):
            target[persona] = [line.format(**values) for line in lines[persona]]


def with_composed_lines(raw: Dict[str, Any]) -> Dict[str, Any]:
    """A copy of the document with every missing group of lines composed; `raw` as it is when
    the facts to compose from are missing (validation explains what is wrong)."""
    values = fill_values(raw)
    if values is None:
        return raw
    done = copy.deepcopy(raw)
    data = templates()
    replies = done.get("replies")
    if replies is None:
        replies = done["replies"] = {}
    if isinstance(replies, dict):
        for situation, lines in data["replies"].items():
            group = replies.get(situation)
            if group is None:
                group = replies[situation] = {}
            if isinstance(group, dict):
                _fill_persona_lines(group, lines, values)
    for field in ("unanswerable", "reminders"):
        group = done.get(field)
        if group is None:
            group = done[field] = {}
        if isinstance(group, dict):
            _fill_persona_lines(group, data[field], values)
    return done
