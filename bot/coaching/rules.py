"""The coaching rules from bot/resources/coaching.yml: stages, priority, which tips help."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from bot.settings import RESOURCES

COACHING_FILE = RESOURCES / "coaching.yml"
# Checks where found=True is the bad outcome.
BAD_WHEN_FOUND = frozenset({"defensive", "jargon", "broken_promise"})
STAGES = ("opening", "listening", "planning", "closing")


@dataclass(frozen=True)
class Rules:
    first_always: Tuple[str, ...]
    stages: Mapping[str, Tuple[str, ...]]
    once_met_is_enough: frozenset
    first_reply_only: frozenset
    not_with: Mapping[str, Tuple[str, ...]]
    only_in: Mapping[str, Tuple[str, ...]]
    check_diagnosis: frozenset
    tips: Mapping[str, Mapping[str, str]]
    praise: Mapping[str, str]
    model_reply_for: Mapping[str, Optional[str]]
    built_examples: Mapping[str, Tuple[str, ...]]
    hello: Mapping[str, str]
    feeling_words: frozenset


@lru_cache(maxsize=None)
def rules() -> Rules:
    raw = yaml.safe_load(COACHING_FILE.read_text(encoding="utf-8"))
    if set(raw["stages"]) != set(STAGES):
        raise ValueError(f"{COACHING_FILE.name}: stages must be exactly {', '.join(STAGES)}")
    return Rules(
        first_always=tuple(raw["first_always"]),
        stages={k: tuple(v) for k, v in raw["stages"].items()},
        once_met_is_enough=frozenset(raw["once_met_is_enough"]),
        first_reply_only=frozenset(raw["first_reply_only"]),
        not_with={k: tuple(v) for k, v in raw["not_with"].items()},
        only_in={k: tuple(v) for k, v in raw["only_in"].items()},
        check_diagnosis=frozenset(raw["check_diagnosis"]),
        tips=raw["tips"],
        praise=raw["praise"],
        model_reply_for=raw["model_reply_for"],
        built_examples={k: tuple(v) for k, v in raw["built_examples"].items()},
        hello=raw["hello"],
        feeling_words=frozenset(raw["feeling_words"]),
    )


def met(check: str, verdict: Mapping[str, Any]) -> bool:
    return not verdict["found"] if check in BAD_WHEN_FOUND else bool(verdict["found"])


def _found_in(turns: Sequence[Mapping[str, Any]], check: str) -> bool:
    return any((t.get("checks") or {}).get(check, {}).get("found") for t in turns)


def stage(turns: Sequence[Mapping[str, Any]]) -> str:
    """The stage of the conversation after the last of `turns` (the reply being judged included)."""
    if _found_in(turns, "next_step"):
        return "closing"
    if _found_in(turns, "active_listening") and _found_in(turns, "apology"):
        return "planning"
    if len(turns) <= 1:
        return "opening"
    return "listening"


def helps(
    check: str,
    verdict: Mapping[str, Any],
    *,
    earlier: Sequence[Mapping[str, Any]],
    at_stage: str,
    checks: Optional[Mapping[str, Mapping[str, Any]]] = None,
) -> bool:
    """Whether a tip on this check helps the trainee now; `checks` are the reply's verdicts."""
    if met(check, verdict):
        return False
    if check in BAD_WHEN_FOUND:
        return True
    r = rules()
    if check in r.first_reply_only and earlier:
        return False
    if check in r.once_met_is_enough and _found_in(earlier, check):
        return False
    if any((checks or {}).get(other, {}).get("found") for other in r.not_with.get(check, ())):
        return False
    return at_stage in r.only_in.get(check, STAGES)


def focus_order(at_stage: str) -> List[str]:
    r = rules()
    return [*r.first_always, *(c for c in r.stages[at_stage] if c not in r.first_always)]
