"""What the trainer pages say about each check, and where its evidence sits in a reply.

The check names are bot.checks.CHECK_NAMES and the simulation's broken_promise
(tests/test_trainer_pages.py checks they agree);
importing bot.checks here would load spaCy into the web process.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Tuple

# Same wording as the chat page's feedback (bot/web/static/chat.js), so trainer and trainee
# talk about the same thing.
CHECK_LABELS: Dict[str, str] = {
    "greeting": "Greeting",
    "active_listening": "Restating the problem",
    "apology": "Apology",
    "next_step": "Next step with a time",
    "thanks": "Thanks",
    "defensive": "Defensive or blaming words",
    "name_use": "Using the customer's name",
    "jargon": "Jargon",
    "probing_question": "Question to learn more",
    # Judged on the conversation so far, not the reply alone (bot/follow_through.py).
    "broken_promise": "Went back on a promise",
}
# For these checks "found" is the bad verdict.
BAD_CHECKS = frozenset({"defensive", "jargon", "broken_promise"})


def check_label(name: str) -> str:
    return CHECK_LABELS.get(name, name.replace("_", " "))


def ordered_checks(names: Any) -> List[str]:
    """Known checks in the usual order, then any others (a newer checks version) by name."""
    names = set(names)
    return [n for n in CHECK_LABELS if n in names] + sorted(names - set(CHECK_LABELS))


def verdict_is_good(check: str, found: bool) -> bool:
    return found != (check in BAD_CHECKS)


@dataclass(frozen=True)
class Segment:
    """A stretch of the reply; `checks` names the found checks whose evidence covers it."""

    text: str
    checks: Tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        """"bad" when any covering check is a bad one found, else "good"; "" for plain text."""
        if not self.checks:
            return ""
        return "bad" if any(c in BAD_CHECKS for c in self.checks) else "good"

    @property
    def label(self) -> str:
        return ", ".join(check_label(c) for c in self.checks)


def _occurrences(text: str, needle: str) -> List[Tuple[int, int]]:
    """Where `needle` occurs in `text`: exactly, else ignoring case where that keeps offsets."""
    spans = []
    haystack = text
    if needle not in text:
        if len(text.casefold()) != len(text) or len(needle.casefold()) != len(needle):
            return []
        haystack, needle = text.casefold(), needle.casefold()
    start = haystack.find(needle)
    while start != -1:
        spans.append((start, start + len(needle)))
        start = haystack.find(needle, start + len(needle))
    return spans


def highlight(text: str, checks: Mapping[str, Mapping[str, Any]]) -> List[Segment]:
    """Split `text` into segments, marking the evidence of every check the machine found.

    Evidence of checks not found (near misses) is not marked, as on the chat page. Where the
    evidence of two checks overlaps, the overlap carries both. The segments are plain text:
    the template escapes each one.
    """
    covers: List[Tuple[int, int, str]] = []
    for name, verdict in checks.items():
        if not verdict.get("found"):
            continue
        for item in verdict.get("evidence") or []:
            if isinstance(item, str) and item.strip():
                covers.extend((start, end, name) for start, end in _occurrences(text, item))
    if not covers:
        return [Segment(text)] if text else []
    cuts = sorted({0, len(text)} | {p for start, end, _ in covers for p in (start, end)})
    segments: List[Segment] = []
    for start, end in zip(cuts, cuts[1:]):
        names = tuple(ordered_checks({n for s, e, n in covers if s <= start and end <= e}))
        if segments and segments[-1].checks == names:
            segments[-1] = Segment(segments[-1].text + text[start:end], names)
        else:
            segments.append(Segment(text[start:end], names))
    return segments
