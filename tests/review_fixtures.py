"""Builders shared by the review tests (tests/test_reviews*.py): people, and sessions scored by
the real rubric (bot.scoring.build_scorecard), so a trainer's override re-scores real criteria."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

from bot import db
from bot.scoring import build_scorecard
from bot.web.evidence import CHECK_LABELS

PASSWORD = "correct horse battery staple"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=timezone.utc)


def verdicts(**found: Any) -> Dict[str, Dict[str, Any]]:
    """Every check not found, except those given as name=[evidence] (found)."""
    checks = {name: {"found": False, "evidence": [], "tip": f"Try some {name}."} for name in CHECK_LABELS}
    for name, evidence in found.items():
        checks[name] = {"found": True, "evidence": list(evidence), "tip": None}
    return checks


def add_person(engine, *, key: str, role: str = "trainee", name: Optional[str] = None,
               team: Optional[str] = None) -> int:
    with db.session_scope(engine) as s:
        return db.create_user(session=s, email=f"{key}@coach.test", name=name or key.title(), password=PASSWORD,
                              role=role, team=team).id


def add_scored_session(
    engine,
    session_id: str,
    *,
    user_id: Optional[int],
    turns: List[Dict[str, Any]],
    scenario: str = "laptop_at_home_service",
    persona: str = "angry",
    mode: str = "assessment",
    outcome: Optional[str] = "abandoned",
    started_at: datetime = T0,
    minutes: int = 5,
) -> Optional[Dict[str, Any]]:
    """A session with its turns; ended and scored by the real rubric unless `outcome` is None.

    Each turn is {"text", "checks"} (optionally "answer", "mood"). Returns the scorecard payload.
    """
    state_turns = []
    with db.session_scope(engine) as s:
        db.record_session_start(
            session=s, session_id=session_id, sender_id=f"sender-{session_id}", scenario=scenario, persona=persona,
            mode=mode, user_id=user_id, start_mood=20, opening="My laptop crashes every day!", started_at=started_at,
        )
        for number, turn in enumerate(turns, start=1):
            mood = turn.get("mood", 20 + 10 * number)
            db.record_turn(
                session=s, session_id=session_id, number=number, trainee_text=turn["text"],
                customer_text=turn.get("answer", "Go on."), checks=turn["checks"], checks_version="test-1",
                mood=mood, mood_change=10, rubric_version=2, created_at=started_at + timedelta(minutes=number),
            )
            state_turns.append({"turn": number, "reply": turn["text"], "answer": turn.get("answer", "Go on."),
                                "checks": turn["checks"], "mood": mood})
        if outcome is None:
            return None
        card = build_scorecard({
            "session_id": session_id, "scenario": scenario, "persona": persona, "mode": mode, "outcome": outcome,
            "turns": state_turns, "mood_curve": [20] + [t["mood"] for t in state_turns],
        })
        db.record_session_end(session=s, session_id=session_id, outcome=outcome,
                              ended_at=started_at + timedelta(minutes=minutes))
        db.add_scorecard(
            session=s, session_id=session_id, score=card["score"], passed=card["passed"], pass_mark=card["pass_mark"],
            outcome=outcome, rubric_version=card["rubric_version"], checks_version="test-1", criteria=card["criteria"],
        )
    return card


# A reply that earns most of the rubric but has no next step: 83 points (all but next_step),
# so an assessment fails the pass mark only if the customer did not accept the plan.
GOOD_REPLY = ("Hi Dana, thank you for telling me. I'm so sorry your laptop crashes every day although you paid "
              "for at-home service. What happens just before it crashes?")


def good_checks() -> Dict[str, Dict[str, Any]]:
    return verdicts(greeting=["Hi Dana"], thanks=["thank you"], apology=["I'm so sorry"], name_use=["Dana"],
                    active_listening=["your laptop crashes every day"], probing_question=["What happens"])
