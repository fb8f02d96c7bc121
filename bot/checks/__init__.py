"""Checks on one trainee reply: is each behaviour the trainers score there, and where.

Every check returns {"found": bool, "evidence": [...], "tip": str | None}. Evidence items are
exact substrings of the reply (the words the check judged on), so a page can highlight them;
when found is False they name what came close (a non-apology, a vague promise, a yes/no
question). `tip` is one short sentence, or None when there is nothing to improve. For
`defensive` and `jargon` found=True is the bad outcome.

Word lists and spaCy patterns are JSON under bot/resources/lexicons/; the modules here hold
only the rules that need the parse.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from itertools import islice
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from bot.checks import (
    active_listening,
    apology,
    defensive,
    greeting,
    jargon,
    name_use,
    next_step,
    probing_question,
    thanks,
)
from bot.checks._context import Context, known_concepts, name_parts, warm_contexts
from bot.checks._mirror import mirror
from bot.checks._text import CleanText, clean
from bot.errors import CoachError, MessageTooLong
from bot.nlp import get_nlp
from bot.settings import load_settings

__all__ = ["CHECK_NAMES", "ParsedReply", "assess_many", "assess_parsed", "assess_reply", "parse_reply"]

log = logging.getLogger(__name__)

CHECK_NAMES: Tuple[str, ...] = (
    "greeting",
    "active_listening",
    "apology",
    "next_step",
    "thanks",
    "defensive",
    "name_use",
    "jargon",
    "probing_question",
)

_CHECKS: Dict[str, Callable[..., Dict[str, Any]]] = {
    "greeting": greeting.check,
    "active_listening": active_listening.check,
    "apology": apology.check,
    "next_step": next_step.check,
    "thanks": thanks.check,
    "defensive": defensive.check,
    "name_use": name_use.check,
    "jargon": jargon.check,
    "probing_question": probing_question.check,
}

# Replies parsed together by assess_many; large enough for nlp.pipe to batch well, small
# enough that one bad file line shows up without reading the whole file first.
BATCH_SIZE = 256
# Parsed replies kept by text while one file is assessed: a file often holds the same reply
# more than once ('I understand.', one reply scored against several customer turns), and a
# parse depends on the text alone (the checks keep only text-derived results on the doc).
DOC_CACHE_SIZE = 4096


def _limit(max_chars: Optional[int]) -> int:
    return load_settings().max_message_chars if max_chars is None else max_chars


def _text_list(value: Any, what: str) -> Tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise CoachError(f"{what} must be a list of strings")


def _optional_text(value: Any, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise CoachError(f"{what} must be a string")
    return value


def _checked_reply(reply: Any, limit: int) -> str:
    if not isinstance(reply, str):
        raise CoachError(f"the reply must be a string, got {type(reply).__name__}")
    if len(reply) > limit:
        raise MessageTooLong(
            f"The reply is {len(reply):,} characters long; the limit is {limit:,}. Shorten it and send it again."
        )
    return reply


def _assess(
    nlp,
    doc,
    text: CleanText,
    *,
    customer_message: str,
    customer_name: Optional[str],
    facts: Sequence[str],
    jargon_terms: Sequence[str],
    only: Sequence[str] = CHECK_NAMES,
) -> Dict[str, Dict[str, Any]]:
    ctx = make_context(nlp, text, customer_message=customer_message, customer_name=customer_name, facts=facts, jargon_terms=jargon_terms)
    return {name: _CHECKS[name](doc, ctx) for name in only}


def make_context(
    nlp, text: CleanText, *, customer_message: str, customer_name: Optional[str], facts: Sequence[str], jargon_terms: Sequence[str] = ()
) -> Context:
    """What the checks know besides the reply; the training of the learned layers builds it the same way."""
    return Context(
        nlp=nlp,
        text=text,
        customer_name=customer_name or None,
        known=known_concepts(nlp, (customer_message, *facts), skip=name_parts(customer_name)),
        mirror=mirror(customer_message),
        jargon_terms=tuple(jargon_terms),
    )


@dataclass(frozen=True)
class ParsedReply:
    """A reply as the checks read it: its cleaned text and the parse of that text."""

    text: CleanText
    doc: Any


def parse_reply(reply: str, *, max_chars: Optional[int] = None) -> ParsedReply:
    """The reply cleaned and parsed once, for assess_parsed (which may run on it several times).

    Raises MessageTooLong and CoachError as assess_reply does.
    """
    text = clean(_checked_reply(reply, _limit(max_chars)))
    return ParsedReply(text=text, doc=get_nlp()(text.text))


def assess_parsed(
    parsed: ParsedReply,
    *,
    customer_message: str = "",
    customer_name: Optional[str] = None,
    facts: Sequence[str] = (),
    jargon_terms: Sequence[str] = (),
    only: Optional[Sequence[str]] = None,
) -> Dict[str, Dict[str, Any]]:
    """assess_reply on a reply parsed by parse_reply; `only` names the checks to run (default all).

    A check reads the parse and the context alone, never another check's verdict, so a verdict
    is the same whichever other checks run; the parse keeps only text-derived results, so one
    parse serves any number of contexts.
    """
    unknown = sorted(set(only or ()) - set(CHECK_NAMES))
    if unknown:
        raise CoachError(f"unknown checks {', '.join(unknown)}: choose from {', '.join(CHECK_NAMES)}")
    return _assess(
        get_nlp(),
        parsed.doc,
        parsed.text,
        customer_message=_optional_text(customer_message, "customer_message"),
        customer_name=_optional_text(customer_name, "customer_name") or None,
        facts=_text_list(facts, "facts"),
        jargon_terms=_text_list(jargon_terms, "jargon_terms"),
        only=tuple(name for name in CHECK_NAMES if only is None or name in only),
    )


def assess_reply(
    reply: str,
    *,
    customer_message: str = "",
    customer_name: Optional[str] = None,
    facts: Sequence[str] = (),
    jargon_terms: Sequence[str] = (),
    max_chars: Optional[int] = None,
) -> Dict[str, Dict[str, Any]]:
    """{check_name: {"found", "evidence", "tip"}} for every name in CHECK_NAMES.

    Raises MessageTooLong over `max_chars` (default: the COACH_MAX_MESSAGE_CHARS setting) and
    CoachError for arguments of the wrong type. An empty or emoji-only reply finds nothing.
    """
    text = clean(_checked_reply(reply, _limit(max_chars)))
    customer_message = _optional_text(customer_message, "customer_message")
    customer_name = _optional_text(customer_name, "customer_name") or None
    facts = _text_list(facts, "facts")
    jargon_terms = _text_list(jargon_terms, "jargon_terms")
    nlp = get_nlp()
    return _assess(
        nlp,
        nlp(text.text),
        text,
        customer_message=customer_message,
        customer_name=customer_name,
        facts=facts,
        jargon_terms=jargon_terms,
    )


def _prepare(item: Any, limit: int) -> Dict[str, Any]:
    if not isinstance(item, Mapping):
        raise CoachError(f"expected an object with a \"reply\", got {type(item).__name__}")
    if "reply" not in item:
        raise CoachError("has no \"reply\"")
    return {
        "text": clean(_checked_reply(item["reply"], limit)),
        "customer_message": _optional_text(item.get("customer"), "\"customer\""),
        "customer_name": _optional_text(item.get("customer_name"), "\"customer_name\"") or None,
        "facts": _text_list(item.get("facts"), "\"facts\""),
        "jargon_terms": _text_list(item.get("jargon"), "\"jargon\""),
    }


def _error(number: int, exc: Exception, code: Optional[str] = None) -> Dict[str, Dict[str, str]]:
    return {"error": {"code": code or getattr(exc, "code", "bad_input"), "message": f"item {number}: {exc}"}}


def assess_many(
    items: Iterable[dict], *, max_chars: Optional[int] = None, first_number: int = 1
) -> Iterator[Dict[str, Dict[str, Any]]]:
    """assess_reply for each item ({"reply", optional "customer", "customer_name", "facts",
    "jargon"}), in order, parsing replies in batches with nlp.pipe.

    A bad item yields {"error": {"code", "message"}} in its place and the rest go on; its
    message numbers the items from `first_number`.
    """
    limit = _limit(max_chars)
    nlp = get_nlp()
    numbered = enumerate(items, first_number)
    parsed: "OrderedDict[str, Any]" = OrderedDict()
    while True:
        while len(parsed) > DOC_CACHE_SIZE:
            parsed.popitem(last=False)
        batch = list(islice(numbered, BATCH_SIZE))
        if not batch:
            return
        prepared: List[Tuple[int, Optional[Dict[str, Any]], Optional[Dict[str, Any]]]] = []
        for number, item in batch:
            try:
                prepared.append((number, _prepare(item, limit), None))
            except CoachError as exc:
                prepared.append((number, None, _error(number, exc)))
        good = [p for _, p, _ in prepared if p is not None]
        warm_contexts(nlp, [t for p in good for t in (p["customer_message"], *p["facts"])])
        todo = list(dict.fromkeys(p["text"].text for p in good if p["text"].text not in parsed))
        for text, doc in zip(todo, nlp.pipe(todo)):
            parsed[text] = doc
        for number, prep, error in prepared:
            if prep is None:
                yield error
                continue
            doc = parsed[prep["text"].text]
            parsed.move_to_end(prep["text"].text)
            try:
                yield _assess(nlp, doc, prep.pop("text"), **prep)
            except Exception as exc:  # one reply that trips a check must not stop a whole file
                log.exception("checks failed on item %d", number)
                yield _error(number, exc, code="check_failed")
