"""The trainer-adjusted score: the machine's scorecard with the criteria a trainer overruled re-judged.

A trainer overrules a check on one reply (or the outcome); every rubric criterion judged on that
check (or outcome) is judged again with the trainers' verdicts, and only those criteria change.
The score moves by the points those criteria gained or lost, so whatever else the machine's
scorecard says (its order, criteria marked not applicable, a rubric version since replaced)
stays as it was. Each changed criterion keeps the machine's verdict beside the trainer's and
says who overruled it and why.

Pure functions over plain dicts: `bot.db.adjusted` loads the transcript and stores the result.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional

from bot.scoring import Rubric


@dataclass(frozen=True)
class Overruling:
    """One trainer verdict that differs from the machine's."""

    reviewer: str
    reason: str
    at: str
    # The check and reply it was on; None for an outcome override.
    check: Optional[str] = None
    turn: Optional[int] = None
    found: Optional[bool] = None
    outcome: Optional[str] = None

    def as_dict(self) -> Dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class AdjustedScore:
    score: int
    passed: bool
    pass_mark: Optional[int]
    outcome: Optional[str]
    # Every criterion of the machine's scorecard, in its order; overruled ones carry
    # "machine_met", "machine_points" and "overruled_by".
    criteria: Dict[str, Dict[str, Any]]

    @property
    def overruled(self) -> List[str]:
        return [name for name, c in self.criteria.items() if c.get("overruled_by")]


def overrulings_by_criterion(
    rubric: Rubric, overrulings: Iterable[Overruling], criteria: Iterable[str]
) -> Dict[str, List[Overruling]]:
    """For each criterion of the scorecard, the overrulings on the check or outcome it is judged on."""
    by_check: Dict[str, List[Overruling]] = {}
    on_outcome: List[Overruling] = []
    for o in overrulings:
        if o.check is not None:
            by_check.setdefault(o.check, []).append(o)
        else:
            on_outcome.append(o)
    spec = {c.name: c for c in rubric.criteria}
    result: Dict[str, List[Overruling]] = {}
    for name in criteria:
        criterion = spec.get(name)
        if criterion is None:
            continue  # a criterion of an older rubric: nothing to judge it with now
        found = on_outcome if criterion.outcome else by_check.get(criterion.check or "", [])
        if found:
            result[name] = found
    return result


def adjust(
    *,
    machine: Mapping[str, Any],
    rejudged: Mapping[str, Mapping[str, Any]],
    overruled: Mapping[str, List[Overruling]],
    outcome: Optional[str] = None,
) -> AdjustedScore:
    """The machine's scorecard (`score`, `pass_mark`, `criteria`) with each overruled criterion
    taken from `rejudged` (criteria scored on the trainers' verdicts).

    A criterion not applicable on the machine's scorecard stays so: a trainer's verdict on one
    reply does not make a criterion apply.
    """
    criteria: Dict[str, Dict[str, Any]] = {}
    score = int(machine["score"])
    changed = False
    for name, before in (machine.get("criteria") or {}).items():
        entry = dict(before)
        again = rejudged.get(name)
        notes = overruled.get(name)
        if notes and again is not None and not _not_applicable(before):
            old_points = int(before.get("points") or 0)
            new_points = int(again.get("points", before.get("weight", 0) if again.get("met") else 0) or 0)
            entry.update(
                met=bool(again.get("met")),
                points=new_points,
                explanation=again.get("explanation", before.get("explanation")),
                machine_met=bool(before.get("met")),
                machine_points=old_points,
                machine_explanation=before.get("explanation"),
                overruled_by=[o.as_dict() for o in notes],
            )
            changed = True
        criteria[name] = entry
    if changed:
        # As bot.scoring does: points over the weights of the criteria that applied.
        applied = [c for c in criteria.values() if not _not_applicable(c)]
        weight = sum(int(c.get("weight") or 0) for c in applied)
        earned = sum(int(c.get("points") or 0) for c in applied)
        score = round(100 * earned / weight) if weight else score
    score = max(0, min(100, score))
    pass_mark = machine.get("pass_mark")
    passed = bool(machine.get("passed")) if pass_mark is None else score >= int(pass_mark)
    return AdjustedScore(
        score=score, passed=passed, pass_mark=pass_mark, outcome=outcome or machine.get("outcome"), criteria=criteria
    )


def _not_applicable(criterion: Mapping[str, Any]) -> bool:
    return criterion.get("applicable") is False or bool(criterion.get("not_applicable"))
