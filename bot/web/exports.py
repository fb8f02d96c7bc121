"""Sessions as CSV and JSON downloads, for trainers' own spreadsheets and scripts.

Trainees' words end up in these files. A spreadsheet runs a cell that starts with = + - @
(or a tab or carriage return, which some read past) as a formula, so such text cells get a
leading apostrophe: the text is shown as typed and never run (OWASP "CSV Injection").
"""
from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Dict, Iterable, List, Optional, Sequence

from bot import db
from bot.web.evidence import ordered_checks

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

SESSION_COLUMNS = (
    "session_id", "started_at", "ended_at", "trainee_name", "trainee_email", "scenario", "persona",
    "mode", "outcome", "machine_outcome", "turns", "score", "passed", "machine_score",
)


def neutralise(value: Any) -> Any:
    """A CSV cell value that no spreadsheet runs as a formula. Numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.isoformat()
    return neutralise(value)


def to_csv(columns: Sequence[str], rows: Iterable[Dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return out.getvalue()


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value is not None else None


# --- a list of sessions ---------------------------------------------------------------------


def session_row(row: db.SessionRow, machine_scores: Optional[Dict[str, int]] = None) -> Dict[str, Any]:
    """`score` is the current (trainer-adjusted, where a trainer overruled) score; `machine_score`
    the machine's, given only where it differs in kind (`machine_scores` from bot.db.adjusted)."""
    machine_scores = machine_scores or {}
    return {
        "session_id": row.session_id,
        "started_at": _iso(row.started_at),
        "ended_at": _iso(row.ended_at),
        "trainee_name": row.name,
        "trainee_email": row.email,
        "scenario": row.scenario,
        "persona": row.persona,
        "mode": row.mode,
        "outcome": row.outcome,
        "machine_outcome": row.machine_outcome,
        "turns": row.turns,
        "score": row.score,
        "passed": row.passed,
        "machine_score": machine_scores.get(row.session_id, row.score),
    }


def sessions_csv(rows: Iterable[db.SessionRow], machine_scores: Optional[Dict[str, int]] = None) -> str:
    return to_csv(SESSION_COLUMNS, (session_row(r, machine_scores) for r in rows))


# --- one session ----------------------------------------------------------------------------


def _person(user: Optional[db.User]) -> Optional[Dict[str, Any]]:
    return None if user is None else {"name": user.name, "email": user.email}


def transcript_json(t: db.Transcript) -> Dict[str, Any]:
    """Everything the transcript page shows, machine verdicts and trainers' verdicts apart."""
    from bot.db.adjusted import machine_scorecard

    practice = t.session
    card = t.scorecard
    machine = machine_scorecard(t)
    return {
        "session_id": practice.id,
        "trainee": _person(t.user),
        "scenario": practice.scenario,
        "persona": practice.persona,
        "mode": practice.mode,
        "started_at": _iso(practice.started_at),
        "ended_at": _iso(practice.ended_at),
        "outcome": t.outcome,
        "machine_outcome": practice.outcome,
        "opening": practice.opening,
        "mood_curve": list(practice.mood_curve or []),
        "turns": [
            {
                "turn": turn.number,
                "trainee_text": turn.trainee_text,
                "customer_text": turn.customer_text,
                "mood": turn.mood,
                "mood_change": turn.mood_change,
                "checks_version": turn.checks_version,
                "checks": turn.checks,
                "trainer_verdicts": {
                    name: {
                        "found": o.trainer_found,
                        "reason": o.reason,
                        "reviewer": _person(o.reviewer),
                        "at": _iso(o.created_at),
                    }
                    for name in turn.checks
                    for o in [t.override_for(turn, name)]
                    if o is not None
                },
                "comments": [
                    {"text": c.text, "author": _person(c.author), "at": _iso(c.created_at)} for c in t.comments_on(turn)
                ],
            }
            for turn in t.turns
        ],
        "outcome_overrides": [
            {
                "outcome": o.outcome,
                "machine_outcome": o.machine_outcome,
                "reason": o.reason,
                "reviewer": _person(o.reviewer),
                "at": _iso(o.created_at),
            }
            for o in t.outcome_overrides
        ],
        "scorecard": None
        if card is None
        else {
            "score": card.score,
            "passed": card.passed,
            "pass_mark": card.pass_mark,
            "outcome": card.outcome,
            "rubric_version": card.rubric_version,
            "checks_version": card.checks_version,
            "criteria": card.criteria,
            "at": _iso(card.created_at),
            # Trainer-adjusted when a trainer's verdict changed a criterion; then the machine's score beside it.
            "trainer_adjusted": card.trainer_adjusted,
            "machine_score": machine.score if machine is not None else None,
        },
    }


def transcript_csv(t: db.Transcript) -> str:
    """One row per turn (row 0 is the customer's opening); per check the effective verdict,
    the machine's verdict and the evidence."""
    checks = ordered_checks({name for turn in t.turns for name in turn.checks})
    columns: List[str] = ["session_id", "trainee_email", "scenario", "persona", "turn", "trainee_text",
                          "customer_text", "mood", "mood_change"]
    for name in checks:
        columns += [name, f"{name}_machine", f"{name}_evidence", f"{name}_reason"]
    columns.append("comments")
    base = {
        "session_id": t.session.id,
        "trainee_email": t.user.email if t.user else None,
        "scenario": t.session.scenario,
        "persona": t.session.persona,
    }
    rows = [dict(base, turn=0, customer_text=t.session.opening, mood=t.session.start_mood)]
    for turn in t.turns:
        row = dict(base, turn=turn.number, trainee_text=turn.trainee_text, customer_text=turn.customer_text,
                   mood=turn.mood, mood_change=turn.mood_change)
        effective = t.effective_checks(turn)
        for name in checks:
            if name not in turn.checks:
                continue
            override = t.override_for(turn, name)
            row[name] = effective[name]["found"]
            row[f"{name}_machine"] = turn.checks[name]["found"]
            row[f"{name}_evidence"] = " | ".join(turn.checks[name].get("evidence") or [])
            row[f"{name}_reason"] = override.reason if override else None
        row["comments"] = " | ".join(f"{c.author.name}: {c.text}" for c in t.comments_on(turn))
        rows.append(row)
    return to_csv(columns, rows)
