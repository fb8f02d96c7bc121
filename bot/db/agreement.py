"""How far the machine and the trainers agree, per check: the 2x2 table, percent and Cohen's kappa.

Each (turn, check) counts once, with the trainer's latest verdict (`bot/db/reviews.py`).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Dict, List, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.models import CheckOverride, Turn
from bot.db.reviews import latest_per_turn_check


@dataclass(frozen=True)
class CheckAgreement:
    """Machine verdicts against the trainers' latest verdicts on the same turns, for one check."""

    check: str
    # The 2x2 table: found by both, by the machine only, by the trainer only, by neither.
    both: int
    machine_only: int
    trainer_only: int
    neither: int

    @property
    def n(self) -> int:
        return self.both + self.machine_only + self.trainer_only + self.neither

    @property
    def agreement(self) -> Optional[float]:
        """Share of reviewed turns where machine and trainer agree (0..1); None when n == 0."""
        return float(Fraction(self.both + self.neither, self.n)) if self.n else None

    @property
    def kappa(self) -> Optional[float]:
        return cohens_kappa(
            both=self.both, machine_only=self.machine_only, trainer_only=self.trainer_only, neither=self.neither
        )


def cohens_kappa(*, both: int, machine_only: int, trainer_only: int, neither: int) -> Optional[float]:
    """Cohen's kappa for two raters with a yes/no verdict, from the 2x2 table.

    kappa = (p_o - p_e) / (1 - p_e), p_o the observed agreement, p_e the agreement expected by
    chance from each rater's own share of "found". Computed with exact fractions.

    Rule for the degenerate case: when p_e == 1 (both raters gave every item the same single
    verdict, e.g. all "found") kappa is 0/0 and undefined, and this returns None; the percent
    agreement (then 100%) is the number to show. It also returns None for an empty table.
    """
    n = both + machine_only + trainer_only + neither
    if n == 0:
        return None
    observed = Fraction(both + neither, n)
    machine_yes = Fraction(both + machine_only, n)
    trainer_yes = Fraction(both + trainer_only, n)
    expected = machine_yes * trainer_yes + (1 - machine_yes) * (1 - trainer_yes)
    if expected == 1:
        return None
    return float((observed - expected) / (1 - expected))


def agreement_per_check(
    *, session: Session, checks_version: Optional[str] = None, checks: Optional[Sequence[str]] = None
) -> Dict[str, CheckAgreement]:
    """For each check with trainer verdicts: the 2x2 table, percent agreement and kappa.

    Each (turn, check) counts once, with the trainer's latest verdict. `checks_version` keeps
    only turns judged by that version of the checks; `checks` names checks to report even when
    nobody reviewed them yet (n == 0).
    """
    stmt = select(CheckOverride).join(Turn, CheckOverride.turn_id == Turn.id)
    if checks_version is not None:
        stmt = stmt.where(Turn.checks_version == checks_version)
    latest = latest_per_turn_check(session.execute(stmt).scalars())
    tables: Dict[str, List[int]] = {name: [0, 0, 0, 0] for name in (checks or ())}
    for (_, check), override in latest.items():
        cell = tables.setdefault(check, [0, 0, 0, 0])
        machine, trainer = override.machine_found, override.trainer_found
        cell[0 if machine and trainer else 1 if machine else 2 if trainer else 3] += 1
    return {
        name: CheckAgreement(check=name, both=c[0], machine_only=c[1], trainer_only=c[2], neither=c[3])
        for name, c in sorted(tables.items())
    }
