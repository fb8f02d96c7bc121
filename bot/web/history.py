"""A trainee's own history: every past session with its score and outcome, each openable as
its transcript with the feedback given, and a chart of each check's rate over the sessions.

Everyone signed in sees only their own sessions here (bot/db/history.py filters by the
signed-in user); trainers review everyone's under /trainer/.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from flask import Blueprint, abort, g, render_template

from bot import db
from bot.coaching import replay
from bot.db.history import check_rates, my_sessions, my_transcript
from bot.scoring import ordered_criteria
from bot.web.auth import engine, require_role
from bot.web.check_chart import check_charts
from bot.web.evidence import BAD_CHECKS, CHECK_LABELS, check_label, highlight, ordered_checks, verdict_is_good
from bot.web.mood_chart import mood_chart

bp = Blueprint("history", __name__, url_prefix="/me/history")

OUTCOME_WORDS = {
    "resolved": "Resolved",
    "churned": "The customer left",
    "escalated": "Asked for a manager",
    "abandoned": "Ended by you",
}
PERSONA_WORDS = {"angry": "Angry", "dispassionate": "Matter-of-fact"}
MODE_WORDS = {"coach": "Coach", "assessment": "Assessment"}


@bp.app_template_filter("rubric_order")
def _rubric_order(criteria: Optional[Dict[str, Any]]) -> List[tuple]:
    return ordered_criteria(dict(criteria or {}))


@bp.app_template_filter("when")
def _when(value: Optional[datetime]) -> str:
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%d %b %Y, %H:%M UTC")


def _titles() -> Dict[str, str]:
    from bot.scenarios import all_titles

    return all_titles(engine())


def _context(**extra: Any) -> Dict[str, Any]:
    return dict(outcome_words=OUTCOME_WORDS, persona_words=PERSONA_WORDS, mode_words=MODE_WORDS,
                titles=_titles(), **extra)


@bp.get("/")
@require_role()
def sessions():
    with db.session_scope(engine()) as dbs:
        rows = my_sessions(session=dbs, user_id=g.user.id)
        rates = check_rates(session=dbs, user_id=g.user.id, checks=list(CHECK_LABELS))
    charts = check_charts(rates, CHECK_LABELS, bad=sorted(BAD_CHECKS))
    return render_template("history/sessions.html", **_context(rows=rows, charts=charts, charted=len(rates)))


def _turn_view(turn: db.Turn, coached: Dict[str, Any]) -> Dict[str, Any]:
    checks = coached["checks"]
    focus = coached["focus"]
    return {
        "turn": turn,
        "segments": highlight(turn.trainee_text, checks),
        "focus": focus,
        "focus_label": check_label(focus["check"]) if focus else None,
        "praise": coached["praise"],
        "checks": [
            {
                "name": name,
                "label": check_label(name),
                "good": verdict_is_good(name, bool(checks[name].get("found"))),
                "found": bool(checks[name].get("found")),
                "evidence": [e for e in checks[name].get("evidence") or [] if isinstance(e, str)],
                "tip": checks[name].get("tip"),
            }
            for name in ordered_checks(checks)
        ],
    }


@bp.get("/<session_id>")
@require_role()
def transcript(session_id: str):
    with db.session_scope(engine()) as dbs:
        t = my_transcript(session=dbs, user_id=g.user.id, session_id=session_id)
        if t is None:
            abort(404, description="You have no practice session with that id.")
        # The focus of each reply, rebuilt from the stored verdicts and the turns before it.
        coached = replay([turn.checks or {} for turn in t.turns])
        views = [_turn_view(turn, c) for turn, c in zip(t.turns, coached)]
        body = render_template(
            "history/transcript.html",
            **_context(t=t, practice=t.session, turns=views, chart=mood_chart(t.session.mood_curve)),
        )
    return body
