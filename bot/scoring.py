"""The scorecard at the end of a practice session, from the rubric file.

Every criterion's explanation quotes the turn that earned or lost it, so a trainee and a
trainer can see why the score is what it is.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, List, Optional

import yaml

from bot.settings import RESOURCES

RUBRIC_FILE = RESOURCES / "rubric.yml"


@dataclass(frozen=True)
class Criterion:
    name: str
    label: str
    weight: int
    check: Optional[str] = None
    outcome: Optional[str] = None
    inverted: bool = False
    # When the criterion can be judged at all (rubric `applies_when`): {"min_replies": n}
    # and/or {"promise_made": true}. Empty: always.
    applies_when: Optional[Dict[str, Any]] = None
    # For an inverted criterion: what a trainee reads when no reply had the check (rubric `absent`).
    absent: Optional[str] = None


@dataclass(frozen=True)
class Rubric:
    version: int
    pass_mark: int
    criteria: List[Criterion]


@lru_cache(maxsize=None)
def load_rubric() -> Rubric:
    raw = yaml.safe_load(RUBRIC_FILE.read_text(encoding="utf-8"))
    criteria = [Criterion(name=name, **spec) for name, spec in raw["criteria"].items()]
    total = sum(c.weight for c in criteria)
    if total != 100:
        raise ValueError(f"{RUBRIC_FILE.name}: criterion weights add up to {total}, not 100")
    return Rubric(version=raw["version"], pass_mark=raw["pass_mark"], criteria=criteria)


def _quote(turn: Dict[str, Any], check: str) -> str:
    evidence = _verdict(turn, check)["evidence"]
    words = " … ".join(evidence) if evidence else turn["reply"]
    if len(words) > 160:
        words = words[:157] + "…"
    return f"turn {turn['turn']}: “{words}”"


def _verdict(turn: Dict[str, Any], check: str) -> Dict[str, Any]:
    # Turns stored before a check existed (broken_promise came with rubric 2) have none: not found.
    return turn["checks"].get(check) or {"found": False, "evidence": [], "tip": None}


def _judge_check(criterion: Criterion, turns: List[Dict[str, Any]]) -> tuple[bool, str]:
    hits = [t for t in turns if _verdict(t, criterion.check)["found"]]
    if criterion.inverted:
        if hits:
            quotes = "; ".join(_quote(t, criterion.check) for t in hits[:3])
            return False, f"Lost at {quotes}."
        replies = f"{len(turns)} repl{'y' if len(turns) == 1 else 'ies'}"
        if criterion.absent:
            return True, f"{criterion.absent} (all {replies})." if len(turns) > 1 else f"{criterion.absent}."
        return True, f"None of the {replies} had it."
    if hits:
        return True, f"Earned at {_quote(hits[0], criterion.check)}."
    # Say what came closest, so the trainee knows what did not count.
    near = [t for t in turns if _verdict(t, criterion.check)["evidence"]]
    if near:
        turn = near[0]
        tip = _verdict(turn, criterion.check).get("tip") or ""
        return False, f"Not met: {_quote(turn, criterion.check)} did not count. {tip}".strip()
    return False, "Not met in any reply."


def _not_applicable(criterion: Criterion, turns: List[Dict[str, Any]]) -> Optional[str]:
    """Why the criterion never came up in this conversation, or None when it applies."""
    rule = criterion.applies_when or {}
    if criterion.check and any(_verdict(t, criterion.check)["found"] for t in turns):
        return None  # a broken criterion always counts
    if rule.get("promise_made") and not any(_verdict(t, "next_step")["found"] for t in turns):
        return "Not applicable: no promise was made."
    least = rule.get("min_replies")
    if least and len(turns) < least:
        replies = f"{len(turns)} repl{'y' if len(turns) == 1 else 'ies'}"
        return f"Not applicable: {replies} are too few to judge it (it counts from {least})."
    return None


def ordered_criteria(criteria: Dict[str, Any]) -> List[tuple]:
    """(name, criterion) pairs in the rubric's order, then any the rubric no longer has."""
    order = {c.name: i for i, c in enumerate(load_rubric().criteria)}
    return sorted(criteria.items(), key=lambda item: order.get(item[0], len(order)))


def build_scorecard(state: Dict[str, Any]) -> Dict[str, Any]:
    """The scorecard payload for a finished (or abandoned) session state.

    Score = points earned / weights of the applicable criteria x 100, rounded.
    """
    rubric = load_rubric()
    turns = state["turns"]
    outcome = state.get("outcome") or "abandoned"
    criteria: Dict[str, Dict[str, Any]] = {}
    earned = applicable_weight = 0
    for criterion in rubric.criteria:
        why_not = _not_applicable(criterion, turns)
        if why_not:
            criteria[criterion.name] = {
                "label": criterion.label,
                "met": None,
                "applicable": False,
                "weight": criterion.weight,
                "points": 0,
                "explanation": why_not,
            }
            continue
        if criterion.outcome:
            met = outcome == criterion.outcome
            explanation = (
                f"The customer accepted the plan at turn {turns[-1]['turn']}."
                if met and turns
                else f"The conversation ended as {outcome}."
            )
        else:
            met, explanation = _judge_check(criterion, turns)
        points = criterion.weight if met else 0
        earned += points
        applicable_weight += criterion.weight
        criteria[criterion.name] = {
            "label": criterion.label,
            "met": met,
            "applicable": True,
            "weight": criterion.weight,
            "points": points,
            "explanation": explanation,
        }
    score = round(100 * earned / applicable_weight) if applicable_weight else 0
    return {
        "type": "scorecard",
        "session_id": state["session_id"],
        "scenario": state["scenario"],
        "persona": state["persona"],
        "mode": state["mode"],
        "score": score,
        "pass_mark": rubric.pass_mark,
        "passed": score >= rubric.pass_mark,
        "outcome": outcome,
        "turns": len(turns),
        "mood_curve": list(state["mood_curve"]),
        "points": earned,
        "applicable_weight": applicable_weight,
        "rubric_version": rubric.version,
        "criteria": criteria,
    }
