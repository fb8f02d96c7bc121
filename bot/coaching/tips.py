"""The tip for a missed check: the check's own diagnosis where it quotes the reply usefully,
else the coaching file's text; never an example inside it (examples are built and judged in
bot/coaching/examples.py)."""
from __future__ import annotations

import re
from typing import Any, Mapping

from bot.coaching.rules import rules

# The example clause the checks' own tips end with: ", e.g. '...'" or ": '<rewrite>'".
_EXAMPLE_CLAUSE = re.compile(r"(?:[;,]\s*|\s+)(?:e\.g\.|for example)\s*['\u2018\"].*$|:\s*['\u2018\"].*$", re.S)


def without_example(tip: str) -> str:
    text = _EXAMPLE_CLAUSE.sub("", tip).strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def tip_for(check: str, verdict: Mapping[str, Any]) -> str:
    r = rules()
    own = r.tips[check]
    if check in r.check_diagnosis and verdict.get("tip") and verdict.get("evidence"):
        return without_example(verdict["tip"])
    if verdict.get("evidence") and "near" in own:
        return own["near"]
    return own["missing"]
