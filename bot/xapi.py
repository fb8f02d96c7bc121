"""xAPI (Experience API 1.0.3) statements for a learning record store: one per attempt.

An attempt is a practice session of a trainee on a scenario, persona and mode that a
curriculum requires of them (bot.db.progress). The verb says how it went:

- ``attempted``: started and still running (no end yet);
- ``completed``: ended but never scored;
- ``passed`` / ``failed``: scored at or above / below the requirement's pass mark. When several
  curricula require the same scenario, persona and mode with different pass marks, the
  strictest (highest) one judges, so a "passed" statement is a pass for every curriculum.

The actor is identified by mailto: e-mail, the object is one activity per scenario and persona
(`urn:support-coach:scenario:<id>:<persona>`), and statement ids are derived from the session
id and verb, so exporting twice sends the same statements (an LRS ignores the repeats).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

from bot.db.progress import Attempt, RequirementStatus

XAPI_VERSION = "1.0.3"
VERB_BASE = "http://adlnet.gov/expapi/verbs/"
VERBS = ("attempted", "completed", "passed", "failed")
ASSESSMENT_TYPE = "http://adlnet.gov/expapi/activities/assessment"
PLATFORM = "Support coach"
# A fixed namespace: the same session and verb always give the same statement id.
STATEMENT_NAMESPACE = uuid.UUID("6f1f3c52-4d0e-4f55-9a61-3a2b8c7d9e10")
EXT = "urn:support-coach:xapi:"
CRITERION = "urn:support-coach:criterion:"


def activity_id(scenario: str, persona: str) -> str:
    return f"urn:support-coach:scenario:{scenario}:{persona}"


def curriculum_activity_id(curriculum_id: int) -> str:
    return f"urn:support-coach:curriculum:{curriculum_id}"


def verb(name: str) -> Dict[str, Any]:
    return {"id": VERB_BASE + name, "display": {"en-US": name}}


def _timestamp(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _registration(session_id: str) -> Optional[str]:
    # The protocol's session ids are uuid4 hex; xAPI wants a UUID, so anything else gets none.
    try:
        return str(uuid.UUID(session_id))
    except ValueError:
        return None


def _criteria_extensions(criteria: Mapping[str, Any]) -> Dict[str, Any]:
    extensions = {}
    for name, value in sorted(criteria.items()):
        value = value if isinstance(value, Mapping) else {}
        extensions[CRITERION + name] = {
            key: value.get(key) for key in ("label", "met", "points", "weight") if key in value
        }
    return extensions


def statement(
    *,
    name: str,
    email: str,
    scenario: str,
    persona: str,
    mode: str,
    scenario_title: str,
    attempt: Attempt,
    pass_mark: int,
    curricula: Sequence[Mapping[str, Any]],
    signed_off: bool,
) -> Dict[str, Any]:
    if attempt.ended_at is None:
        verb_name = "attempted"
    elif attempt.score is None:
        verb_name = "completed"
    else:
        verb_name = "passed" if attempt.score >= pass_mark else "failed"
    result: Dict[str, Any] = {"completion": attempt.ended_at is not None}
    if attempt.score is not None:
        result["score"] = {"scaled": round(attempt.score / 100, 4), "raw": attempt.score, "min": 0, "max": 100}
        result["success"] = attempt.score >= pass_mark
        result["extensions"] = _criteria_extensions(attempt.criteria)
    context: Dict[str, Any] = {
        "platform": PLATFORM,
        "language": "en-US",
        "contextActivities": {
            "grouping": [
                {
                    "objectType": "Activity",
                    "id": curriculum_activity_id(c["id"]),
                    "definition": {"name": {"en-US": c["name"]}},
                }
                for c in curricula
            ]
        },
        "extensions": {
            EXT + "session": attempt.session_id,
            EXT + "mode": mode,
            EXT + "pass-mark": pass_mark,
            EXT + "outcome": attempt.outcome,
            EXT + "signed-off": signed_off,
        },
    }
    registration = _registration(attempt.session_id)
    if registration:
        context["registration"] = registration
    return {
        "id": str(uuid.uuid5(STATEMENT_NAMESPACE, f"{attempt.session_id}:{verb_name}")),
        "version": XAPI_VERSION,
        "actor": {"objectType": "Agent", "name": name, "mbox": f"mailto:{email}"},
        "verb": verb(verb_name),
        "object": {
            "objectType": "Activity",
            "id": activity_id(scenario, persona),
            "definition": {
                "name": {"en-US": f"{scenario_title} ({persona} customer)"},
                "type": ASSESSMENT_TYPE,
            },
        },
        "result": result,
        "context": context,
        "timestamp": _timestamp(attempt.ended_at or attempt.started_at),
    }


def statements(rows: Iterable[RequirementStatus], *, titles: Mapping[str, str]) -> List[Dict[str, Any]]:
    """One statement per attempt behind `rows` (trainees' requirement statuses), oldest first.

    `titles` maps scenario ids to their titles. Unfinished sessions are "attempted" statements.
    """
    by_attempt: Dict[str, Dict[str, Any]] = {}
    for row in rows:
        req = row.requirement
        for attempt in [*row.attempts, *row.unfinished]:
            entry = by_attempt.setdefault(
                attempt.session_id,
                {"row": row, "attempt": attempt, "pass_mark": req.pass_mark, "curricula": {}},
            )
            entry["pass_mark"] = max(entry["pass_mark"], req.pass_mark)
            entry["curricula"][req.curriculum_id] = {"id": req.curriculum_id, "name": req.curriculum}
    result = []
    for entry in sorted(by_attempt.values(), key=lambda e: e["attempt"].started_at):
        row, attempt = entry["row"], entry["attempt"]
        req = row.requirement
        result.append(
            statement(
                name=row.user.name,
                email=row.user.email,
                scenario=req.scenario,
                persona=req.persona,
                mode=req.mode,
                scenario_title=titles.get(req.scenario, req.scenario),
                attempt=attempt,
                pass_mark=entry["pass_mark"],
                curricula=sorted(entry["curricula"].values(), key=lambda c: c["id"]),
                signed_off=attempt.sign_off is not None,
            )
        )
    return result
