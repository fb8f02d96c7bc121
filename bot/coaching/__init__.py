"""Feedback that coaches: one focus, praise with its evidence, and tips only where they help.

`coach_turn(state)` reads the last judged turn of a practice session state and returns the
coaching part of the feedback payload (README, protocol section):

    {"focus": {"check", "tip", "example"} | None,
     "praise": [{"check", "text", "evidence"}],
     "checks": {name: {"found", "evidence", "tip"}}}

A met check has tip None; a missed one has a tip only when it helps at this stage of the
conversation (bot/resources/coaching.yml, which also holds the priority the focus follows).
The turn in the state keeps the coached checks, focus and praise, so stored sessions, the
trainer pages and the scorecard show what the trainee was shown.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional

from bot.coaching.examples import build_example
from bot.coaching.rules import BAD_WHEN_FOUND, focus_order, helps, met, rules, stage
from bot.coaching.tips import tip_for
from bot.scenarios import get_scenario

__all__ = ["coach_turn"]


def coach_turn(state: Dict[str, Any]) -> Dict[str, Any]:
    turns = state["turns"]
    turn = turns[-1]
    earlier = turns[:-1]
    scenario = get_scenario(state["scenario"])
    at_stage = stage(turns)
    checks = turn["checks"]
    for name, verdict in checks.items():
        verdict["tip"] = tip_for(name, verdict) if name in rules().tips and helps(
            name, verdict, earlier=earlier, at_stage=at_stage
        ) else None

    focus: Optional[Dict[str, Any]] = None
    for name in focus_order(at_stage):
        verdict = checks.get(name)
        if verdict and verdict["tip"]:
            shown = [t["focus"]["example"] for t in earlier if t.get("focus") and t["focus"].get("example")]
            focus = {
                "check": name,
                "tip": verdict["tip"],
                "example": build_example(name, scenario=scenario, customer_message=turn["customer"], shown_before=shown),
            }
            break

    praise: List[Dict[str, Any]] = [
        {"check": name, "text": text, "evidence": list(checks[name]["evidence"])}
        for name, text in rules().praise.items()
        if name in checks and name not in BAD_WHEN_FOUND and met(name, checks[name])
    ]
    turn["stage"] = at_stage
    turn["focus"] = focus
    turn["praise"] = praise
    return {"focus": focus, "praise": praise, "checks": checks}
