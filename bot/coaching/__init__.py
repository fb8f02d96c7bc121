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

from bot.coaching.rules import BAD_WHEN_FOUND, focus_order, helps, met, rules, stage
from bot.coaching.tips import tip_for
from bot.scenarios import scenario_of

__all__ = ["coach_turn", "pick_focus", "praise_for", "replay"]


def coach_turn(state: Dict[str, Any]) -> Dict[str, Any]:
    # Here, not at the top: the web app replays stored coaching without loading the checks.
    from bot.coaching.examples import build_example

    turn = state["turns"][-1]
    earlier = _remembered(state, before=turn["turn"])
    turns = [*earlier, turn]
    scenario = scenario_of(state)
    at_stage = stage(turns)
    checks = turn["checks"]
    _coach_tips(checks, earlier=earlier, at_stage=at_stage)

    focus = pick_focus(turns)
    # Assessment mode shows no feedback: the example, which costs a few runs of the checks, waits.
    if focus is not None and state.get("mode") == "coach":
        shown = [t["focus"]["example"] for t in earlier if t.get("focus") and t["focus"].get("example")]
        focus["example"] = build_example(
            focus["check"], scenario=scenario, customer_message=turn["customer"], shown_before=shown
        )
    praise = praise_for(checks)
    _remember(state, turn, focus)
    turn["stage"] = at_stage
    turn["focus"] = focus
    turn["praise"] = praise
    return {"focus": focus, "praise": praise, "checks": checks}


# Examples kept in the slot's coaching memory, so that the next ones are not the same; older
# ones are dropped to keep the slot small.
EXAMPLES_REMEMBERED = 4


def _remembered(state: Dict[str, Any], *, before: int) -> List[Dict[str, Any]]:
    """The earlier turns as coaching needs them: which checks each one met, and its example.

    Stored turns leave the `practice` slot (bot.session_history), so the full turns are not
    there to look back on; `state["coached"]` keeps this much of every coached turn instead.
    """
    return [
        {
            "turn": memory["turn"],
            "checks": {name: {"found": True} for name in memory["found"]},
            "focus": {"example": memory["example"]} if memory.get("example") else None,
        }
        for memory in state.get("coached", [])
        if memory["turn"] < before
    ]


def _remember(state: Dict[str, Any], turn: Dict[str, Any], focus: Optional[Dict[str, Any]]) -> None:
    memory = [m for m in state.get("coached", []) if m["turn"] < turn["turn"]]
    memory.append({
        "turn": turn["turn"],
        "found": sorted(name for name, verdict in turn["checks"].items() if verdict.get("found")),
        "example": (focus or {}).get("example"),
    })
    for older in memory[:-EXAMPLES_REMEMBERED]:
        older.pop("example", None)
    state["coached"] = memory


def pick_focus(turns: List[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """{"check", "tip", "example": None} for the last of `turns`, whose checks carry coached
    tips; None when nothing is left to improve. Also rebuilds the focus of a stored turn."""
    checks = turns[-1]["checks"]
    for name in focus_order(stage(turns)):
        verdict = checks.get(name)
        if verdict and verdict.get("tip"):
            return {"check": name, "tip": verdict["tip"], "example": None}
    return None


def praise_for(checks: Dict[str, Dict[str, Any]]) -> List[Dict[str, Any]]:
    """What the reply did well, in the coaching file's order, with the words that earned it."""
    return [
        {"check": name, "text": text, "evidence": list(checks[name].get("evidence") or [])}
        for name, text in rules().praise.items()
        if name in checks and name not in BAD_WHEN_FOUND and met(name, checks[name])
    ]


def _coach_tips(checks: Dict[str, Dict[str, Any]], *, earlier: List[Dict[str, Any]], at_stage: str) -> None:
    for name, verdict in checks.items():
        useful = name in rules().tips and helps(name, verdict, earlier=earlier, at_stage=at_stage, checks=checks)
        verdict["tip"] = tip_for(name, verdict) if useful else None


def replay(checks_per_turn: List[Dict[str, Dict[str, Any]]]) -> List[Dict[str, Any]]:
    """The coaching of a stored conversation, turn by turn ({"checks", "focus", "praise"}),
    from its verdicts alone (examples need the scenario's checks and are left out). The stored
    verdicts are not changed; sessions stored before coaching get the same tips as new ones."""
    turns: List[Dict[str, Any]] = []
    out = []
    for stored in checks_per_turn:
        checks = {name: dict(verdict) for name, verdict in (stored or {}).items()}
        earlier = list(turns)
        turns.append({"checks": checks})
        _coach_tips(checks, earlier=earlier, at_stage=stage(turns))
        out.append({"checks": checks, "focus": pick_focus(turns), "praise": praise_for(checks)})
    return out
