"""What the compact transcript shows of each reply: short verdict badges, why a reply is flagged,
and the full table of checks kept for on demand.

A reply is *flagged* when a trainer should look at it first: the (effective) verdict found
defensive words, jargon or a broken promise, or a trainer's verdict differs from the machine's.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from bot import db
from bot.web.evidence import BAD_CHECKS, check_label, highlight, ordered_checks, verdict_is_good

# A badge has room for a word or two; the full label is in the table and the badge's title.
SHORT_LABELS: Dict[str, str] = {
    "greeting": "Greeting",
    "active_listening": "Restated",
    "apology": "Apology",
    "next_step": "Next step",
    "thanks": "Thanks",
    "defensive": "Defensive",
    "name_use": "Name",
    "jargon": "Jargon",
    "probing_question": "Question",
    "broken_promise": "Broken promise",
}


# A bad check not found is good news, said as such: "✓ Defensive" would read as "was defensive".
CLEAR_LABELS: Dict[str, str] = {
    "defensive": "Not defensive",
    "jargon": "No jargon",
    "broken_promise": "Promises kept",
}


def short_label(name: str) -> str:
    return SHORT_LABELS.get(name, check_label(name))


@dataclass
class CheckRow:
    name: str
    label: str
    short: str
    bad_check: bool
    found: bool
    good: bool
    evidence: List[str]
    tip: Optional[str]
    override: Optional[db.CheckOverride]
    override_good: Optional[bool]

    @property
    def effective_found(self) -> bool:
        return self.override.trainer_found if self.override is not None else self.found

    @property
    def effective_good(self) -> bool:
        return verdict_is_good(self.name, self.effective_found)

    @property
    def overruled(self) -> bool:
        return self.override is not None and self.override.trainer_found != self.found

    @property
    def badge(self) -> str:
        """"good" (met, or a bad check not found), "bad" (a bad check found), "miss" (not met)."""
        if self.effective_good:
            return "good"
        return "bad" if self.bad_check else "miss"

    @property
    def badge_text(self) -> str:
        if self.bad_check and not self.effective_found:
            return CLEAR_LABELS.get(self.name, f"No {self.short.lower()}")
        return self.short

    @property
    def badge_words(self) -> str:
        """What the badge's colour and symbol say, for screen readers and the tooltip."""
        return {"good": "found" if not self.bad_check else "none", "bad": "found", "miss": "not found"}[self.badge]


@dataclass
class TurnView:
    turn: db.Turn
    segments: List[Any]
    checks: List[CheckRow]
    overrides: List[db.CheckOverride]
    comments: List[db.TurnComment]
    flags: List[str] = field(default_factory=list)
    # Number of the next flagged reply after this one, if any.
    next_flagged: Optional[int] = None

    @property
    def flagged(self) -> bool:
        return bool(self.flags)


def turn_view(t: db.Transcript, turn: db.Turn) -> TurnView:
    rows = []
    for name in ordered_checks(turn.checks):
        verdict = turn.checks[name]
        found = bool(verdict.get("found"))
        override = t.override_for(turn, name)
        rows.append(CheckRow(
            name=name,
            label=check_label(name),
            short=short_label(name),
            bad_check=name in BAD_CHECKS,
            found=found,
            good=verdict_is_good(name, found),
            evidence=[e for e in verdict.get("evidence") or [] if isinstance(e, str)],
            tip=verdict.get("tip"),
            override=override,
            override_good=None if override is None else verdict_is_good(name, override.trainer_found),
        ))
    flags = [f"{r.label} found" for r in rows if r.bad_check and r.effective_found]
    flags += [f"trainer overruled {r.label.lower()}" for r in rows if r.overruled]
    return TurnView(
        turn=turn,
        segments=highlight(turn.trainee_text, turn.checks),
        checks=rows,
        overrides=[o for o in t.check_overrides if o.turn_id == turn.id],
        comments=t.comments_on(turn),
        flags=flags,
    )


def turn_views(t: db.Transcript) -> List[TurnView]:
    views = [turn_view(t, turn) for turn in t.turns]
    following: Optional[int] = None
    for view in reversed(views):
        view.next_flagged = following
        if view.flagged:
            following = view.turn.number
    return views
