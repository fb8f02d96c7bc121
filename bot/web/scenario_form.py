"""The scenario editor's form: a scenario document to form fields and back, and each problem
`python -m bot scenarios --check` finds placed next to the field it is about.

Lists are one item per line in a text area (lines tried, keywords, jargon, openings, the
customer's optional lines); a detail topic is a group of fields, its keywords separated by
commas. Empty optional fields are left out of the document, so the customer composes those
lines (bot/scenario_composer.py).
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Mapping, Optional, Tuple

from bot.scenarios import PERSONAS, SITUATIONS

CHANNELS = ("phone", "chat", "email")
STAGES = ("greeting", "listening", "apology", "plan", "closing")
# Detail rows offered beyond the scenario's own, to add topics.
SPARE_DETAILS = 2
MAX_DETAILS = 30

# Form field -> path in the document, for the single-valued fields.
TEXT_FIELDS = {
    "id": ("id",),
    "title": ("title",),
    "channel": ("channel",),
    "customer_name": ("customer", "name"),
    "product": ("product",),
    "turn_limit": ("turn_limit",),
    "what_happened": ("facts", "what_happened"),
    "wants": ("facts", "wants"),
    "remedy": ("remedy",),
    **{f"model_replies-{stage}": ("model_replies", stage) for stage in STAGES},
}
# Form field -> path of a list, one item per line.
LINE_FIELDS = {
    "already_tried": ("facts", "already_tried"),
    "keywords": ("facts", "keywords"),
    "jargon": ("jargon",),
    **{f"opening-{p}": ("opening", p) for p in PERSONAS},
}
# Optional: left empty, the customer's lines are composed.
OPTIONAL_LINE_FIELDS = {
    **{f"replies-{s}-{p}": ("replies", s, p) for s in SITUATIONS for p in PERSONAS},
    **{f"{group}-{p}": (group, p) for group in ("unanswerable", "reminders") for p in PERSONAS},
}

HUMAN_MESSAGES = (
    (re.compile(r"^field required$"), "Fill this in."),
    (re.compile(r"^ensure this value has at least (\d+) characters?$"), "Fill this in."),
    (re.compile(r"^ensure this value has at least (\d+) items?$"), "Give at least {0}, one per line."),
    (re.compile(r"^value is not a valid integer$"), "Give a whole number."),
    (re.compile(r"^unexpected value; permitted: (.*)$"), "Choose one of {0}."),
    (re.compile(r'^string does not match regex "\^\[a-z\]\[a-z0-9_\]\*\$"$'),
     "Use lower-case letters, digits and _ only, starting with a letter (e.g. gym_membership_refund)."),
)


def _lines(text: str) -> List[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _set(document: Dict[str, Any], path: Tuple[str, ...], value: Any) -> None:
    for key in path[:-1]:
        document = document.setdefault(key, {})
    document[path[-1]] = value


def _get(document: Any, path: Tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(document, dict):
            return None
        document = document.get(key)
    return document


def detail_count(form: Mapping[str, str]) -> int:
    raw = form.get("details", "")
    return min(int(raw), MAX_DETAILS) if raw.isdigit() else 0


def document_from_form(form: Mapping[str, str]) -> Dict[str, Any]:
    """The scenario document the form describes (validation happens on the document)."""
    document: Dict[str, Any] = {}
    for name, path in TEXT_FIELDS.items():
        value = (form.get(name) or "").strip()
        for depth in range(1, len(path)):
            # Groups exist even when empty, so each of their fields is named when missing.
            _set(document, path[:depth], _get(document, path[:depth]) or {})
        if name == "turn_limit" and value.isdigit():
            _set(document, path, int(value))
        elif value:
            _set(document, path, value)
    for name, path in LINE_FIELDS.items():
        _set(document, path, _lines(form.get(name, "")))
    for name, path in OPTIONAL_LINE_FIELDS.items():
        lines = _lines(form.get(name, ""))
        if lines:
            _set(document, path, lines)
    details = []
    for n in range(detail_count(form)):
        row = {key: (form.get(f"detail-{n}-{key}") or "").strip() for key in ("topic", "keywords", *PERSONAS)}
        if not any(row.values()):
            continue  # a spare row left empty
        details.append({
            "topic": row["topic"],
            "keywords": [k.strip() for k in row["keywords"].split(",") if k.strip()],
            "answer": {p: row[p] for p in PERSONAS},
        })
    document["details"] = details
    return document


def form_from_document(document: Dict[str, Any]) -> Dict[str, str]:
    """Form values showing `document` (what was saved, or what a failed save was given)."""
    form: Dict[str, str] = {}
    for name, path in TEXT_FIELDS.items():
        value = _get(document, path)
        form[name] = "" if value is None else str(value)
    for name, path in {**LINE_FIELDS, **OPTIONAL_LINE_FIELDS}.items():
        value = _get(document, path)
        form[name] = "\n".join(str(v) for v in value) if isinstance(value, list) else ""
    details = document.get("details") if isinstance(document.get("details"), list) else []
    for n, detail in enumerate(details):
        detail = detail if isinstance(detail, dict) else {}
        form[f"detail-{n}-topic"] = str(detail.get("topic") or "")
        keywords = detail.get("keywords")
        form[f"detail-{n}-keywords"] = ", ".join(str(k) for k in keywords) if isinstance(keywords, list) else ""
        for p in PERSONAS:
            form[f"detail-{n}-{p}"] = str(_get(detail, ("answer", p)) or "")
    form["details"] = str(len(details) + SPARE_DETAILS)
    return form


def field_for(path: str) -> str:
    """The form field a problem's dotted path ("details.2.answer.angry") is about."""
    parts = path.split(".")
    if parts[0] == "details" and len(parts) > 1 and parts[1].isdigit():
        rest = parts[2:]
        key = rest[-1] if rest and rest[-1] in PERSONAS else (rest[0] if rest else "topic")
        return f"detail-{parts[1]}-{key}"
    while parts and parts[-1].isdigit():
        parts = parts[:-1]  # "jargon.3", "facts.keywords.0": the list's text area
    wanted = tuple(parts)
    for name, field_path in {**TEXT_FIELDS, **LINE_FIELDS, **OPTIONAL_LINE_FIELDS}.items():
        if field_path == wanted:
            return name
    for name, field_path in {**TEXT_FIELDS, **LINE_FIELDS, **OPTIONAL_LINE_FIELDS}.items():
        if field_path[: len(wanted)] == wanted:
            return name  # "opening" or "customer" missing as a whole: its first field
    return "form"


def human(message: str) -> str:
    for pattern, text in HUMAN_MESSAGES:
        match = pattern.match(message)
        if match:
            return text.format(*match.groups())
    return message[:1].upper() + message[1:]


def errors_by_field(problems: List[Tuple[str, str]]) -> Dict[str, List[str]]:
    """Form field -> the messages to show beside it, in the order found."""
    fields: Dict[str, List[str]] = {}
    for path, message in problems:
        text = human(message)
        messages = fields.setdefault(field_for(path), [])
        if text not in messages:
            messages.append(text)
    return fields


LABELS = {
    "id": "Id", "title": "Title", "channel": "Channel", "customer_name": "Customer name", "product": "Product",
    "turn_limit": "Turn limit", "what_happened": "What happened", "wants": "What they want",
    "remedy": "The concrete remedy", "already_tried": "What they already tried", "keywords": "Keywords of the case",
    "jargon": "Jargon terms", "form": "The form",
}
PERSONA_LABELS = {"angry": "angry", "dispassionate": "matter-of-fact"}


def label_for(name: str) -> str:
    """What the error summary calls a form field ("Topic 2, angry answer")."""
    if name in LABELS:
        return LABELS[name]
    parts = name.split("-")
    if parts[0] == "detail":
        part = {"topic": "topic", "keywords": "keywords"}.get(parts[2], f"{PERSONA_LABELS.get(parts[2], parts[2])} answer")
        return f"Topic {int(parts[1]) + 1}, {part}"
    if parts[0] == "model_replies":
        return f"Model reply, {parts[1]}"
    if parts[0] == "opening":
        return f"Openings, {PERSONA_LABELS[parts[1]]}"
    if parts[0] == "replies":
        return f"Customer lines {parts[1].replace('after_', 'after ').replace('_', ' ')}, {PERSONA_LABELS[parts[2]]}"
    return f"Customer lines ({parts[0]}), {PERSONA_LABELS.get(parts[-1], parts[-1])}"


def blank_form(scenario_id: Optional[str] = None) -> Dict[str, str]:
    form = form_from_document({"channel": "phone", "turn_limit": 12})
    form["id"] = scenario_id or ""
    return form
