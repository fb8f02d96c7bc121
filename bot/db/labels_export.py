"""Trainers' overrules as labelled data: `python -m bot.db export-labels`.

A trainer who overrules a check on a stored turn has labelled that reply. This writes every such
turn as one line in the development set's format (tests/data/checks_dev.jsonl, docs/checks.md):
the reply, the customer message it answered (the customer's previous answer, or the session's
opening for the first reply), the scenario, persona and customer name, and `labels` with the
trainer's verdict for each overruled check and the stored machine verdict for the rest. Which
checks a trainer decided is kept in `overruled`, and their reasons in `note`, because the other
labels are only the machine's and need a look before the line joins the development set.

Only the latest override of a check on a turn counts, as everywhere else (bot/db/reviews.py); a
turn whose latest overrides all agree with the machine has nothing new and is left out.
"""
from __future__ import annotations

import json
from typing import Dict, IO, Iterable, Iterator, List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import CheckOverride, PracticeSession, Turn
from bot.errors import CoachError

# The order of the development set's labels.
LABEL_ORDER = (
    "greeting", "active_listening", "apology", "next_step", "thanks",
    "defensive", "name_use", "jargon", "probing_question",
)


def _customer_name(scenario_id: str) -> Optional[str]:
    from bot.scenarios import UnknownScenario, get_scenario

    try:
        return get_scenario(scenario_id).customer.name
    except UnknownScenario:  # removed since the session was played: keep the line without the name
        return None


def _latest(overrides: Iterable[CheckOverride]) -> Dict[int, Dict[str, CheckOverride]]:
    latest: Dict[int, Dict[str, CheckOverride]] = {}
    for o in sorted(overrides, key=lambda o: (o.created_at, o.id)):
        latest.setdefault(o.turn_id, {})[o.check] = o
    return latest


def overruled_lines(session: Session, *, check: Optional[str] = None) -> Iterator[dict]:
    """One dev-set-format dict per turn with at least one overruled verdict, oldest session first."""
    if check is not None and check not in LABEL_ORDER:
        raise CoachError(f"unknown check {check!r}; one of: {', '.join(LABEL_ORDER)}")
    latest = _latest(session.execute(select(CheckOverride)).scalars())
    overruled = {
        turn_id: {name: o for name, o in per_check.items() if o.trainer_found != o.machine_found}
        for turn_id, per_check in latest.items()
    }
    overruled = {t: d for t, d in overruled.items() if d and (check is None or check in d)}
    if not overruled:
        return
    turns = session.execute(
        select(Turn, PracticeSession)
        .join(PracticeSession, Turn.session_id == PracticeSession.id)
        .where(Turn.id.in_(list(overruled)))
        .order_by(PracticeSession.started_at, PracticeSession.id, Turn.number)
    ).all()
    names: Dict[str, Optional[str]] = {}
    for turn, practice in turns:
        if practice.scenario not in names:
            names[practice.scenario] = _customer_name(practice.scenario)
        decided = overruled[turn.id]
        labels = {}
        for name in LABEL_ORDER:
            if name in decided:
                labels[name] = int(decided[name].trainer_found)
            elif name in turn.checks:
                labels[name] = int(bool(turn.checks[name].get("found")))
        yield {
            "id": f"trainer-{turn.id}",
            "scenario": practice.scenario,
            "persona": practice.persona,
            "customer_name": names[practice.scenario],
            "customer": _customer_message(session, turn, practice),
            "reply": turn.trainee_text,
            "labels": labels,
            "overruled": sorted(decided, key=LABEL_ORDER.index),
            "note": "; ".join(
                f"{name}: trainer {'yes' if o.trainer_found else 'no'}, machine {'yes' if o.machine_found else 'no'} "
                f"(checks version {turn.checks_version}): {o.reason.strip()}"
                for name, o in sorted(decided.items(), key=lambda kv: LABEL_ORDER.index(kv[0]))
            ),
            "source": {"session": practice.id, "turn": turn.number},
        }


def _customer_message(session: Session, turn: Turn, practice: PracticeSession) -> str:
    if turn.number <= 1:
        return practice.opening or ""
    previous = session.execute(
        select(Turn.customer_text).where(Turn.session_id == turn.session_id, Turn.number == turn.number - 1)
    ).scalar_one_or_none()
    return previous or ""


def export_labels(session: Session, out: IO[str], *, check: Optional[str] = None) -> int:
    """Write the lines as JSON Lines; returns how many were written."""
    count = 0
    for line in overruled_lines(session, check=check):
        out.write(json.dumps(line, ensure_ascii=False) + "\n")
        count += 1
    return count


__all__: List[str] = ["export_labels", "overruled_lines", "LABEL_ORDER"]
