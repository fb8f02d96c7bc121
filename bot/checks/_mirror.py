"""The customer's complaint turned round, for example wording in tips: 'I paid extra and it
crashed daily.' -> 'you paid extra and it crashed daily', and whether a text says what went
wrong. The word lists are in active_listening.json ("mirror_*", "problem_*")."""
from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any, Dict, FrozenSet, Iterator, List, Optional, Tuple

from spacy.lang.en.stop_words import STOP_WORDS

from bot.checks._lexicon import load_lexicon
from bot.checks._text import clean

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?|[^A-Za-z]+")
# Longest example quoted in a tip, in words; longer complaints are cut at a comma or here.
MAX_MIRROR_WORDS = 16


@lru_cache(maxsize=2)
def _problem_words(strict: bool) -> Tuple[FrozenSet[str], Tuple[str, ...]]:
    """The words `states_problem` takes as they are, and the stems it takes inflected."""
    data = load_lexicon("active_listening")
    failures = [w for w in data["problem_failures"] if not strict or w not in data["mirror_not_failures"]]
    exact = frozenset(failures) | (frozenset() if strict else frozenset(data["problem_negations"]))
    return exact, tuple(w for w in failures if len(w) >= 4)


def states_problem(text: str, *, strict: bool = False) -> bool:
    """A failure or negation word in `text` ('crashed', 'never', 'no callback'), by prefix so
    that inflections count without a parse: tips choose their examples with it. `strict`: a
    failure word itself, for an apology's example ('I'm sorry you want every penny back' and
    'I'm sorry you don't know what those are' are no apologies)."""
    exact, stems = _problem_words(strict)
    for word in re.findall(r"[a-z'-]+", text.lower()):
        if word in exact or (not strict and word.endswith("n't")) or any(word.startswith(stem) for stem in stems):
            return True
    return False


@lru_cache(maxsize=1024)
def mirror(customer_message: str) -> Optional[str]:
    """'I paid extra and it crashed daily.' -> 'you paid extra and it crashed daily': the first
    sentence that says what went wrong, strictly (a failure word) or else loosely (a negation).
    None when no sentence does: 'So you want every penny back?' restates a demand, which the
    restating check itself does not count, and 'I'm sorry you want every penny back' is no apology."""
    mirrors = list(_mirrors(customer_message))
    for strict in (True, False):
        found = next((m for m in mirrors if states_problem(m, strict=strict)), None)
        if found:
            return found
    return None


@lru_cache(maxsize=1)
def _abbreviations() -> FrozenSet[str]:
    """Capitalised abbreviations a customer may use (SIM, RMA): kept as written in an example."""
    terms = json.dumps(load_lexicon("jargon")["terms"])
    return frozenset(re.findall(r"\b[A-Z][A-Z0-9]+\b", terms))


def _you(pieces: List[str], i: int, data: Dict[str, Any]) -> str:
    """'you' meaning the company: 'we' as a subject, 'us' as an object (see active_listening.json)."""
    following = next((p.strip().lower() for p in pieces[i + 1 :] if p.strip()), "")
    if not following or not following[0].isalnum() or following[0].isdigit() or following in data["mirror_you_object_before"]:
        return data["mirror_you_object"]
    return data["mirror_you_subject"]


def _mirrors(customer_message: str) -> Iterator[str]:
    data = load_lexicon("active_listening")
    swaps = data["mirror_swaps"]
    skip = frozenset(data["mirror_skip_words"])
    openers = frozenset(data["mirror_drop_openers"])
    commands = frozenset(data["mirror_command_openers"])
    feelings = frozenset(data["mirror_feeling_words"])
    questions = frozenset(data["mirror_question_openers"])  # a question without its '?'
    demands = frozenset(data["mirror_demand_words"])
    phrases = tuple(data["mirror_skip_phrases"])
    keep_caps = _abbreviations()
    for sentence in _SENTENCE_END.split(clean(customer_message or "").text.strip()):
        words_ = sentence.split()
        if len(words_) < 4 or sentence.rstrip().endswith("?"):
            continue
        if (skip | feelings) & {w.strip(".,!?;:'\"").lower() for w in words_}:
            continue
        lowered = " " + " ".join(w.strip(".,!?;:\"").lower() for w in words_) + " "
        if any(f" {phrase} " in lowered for phrase in phrases):
            continue
        while words_ and words_[0].strip(",.!").lower() in openers:
            words_ = words_[1:]
        if len(words_) < 4 or words_[0].lower() in commands or words_[0].strip(",").lower() in questions:
            continue
        if demands & {w.strip(",.!").lower() for w in words_[:4]}:
            continue
        # '... crashes every day and I want a refund': the demand tacked on is cut off
        for k in range(2, len(words_) - 1):
            if words_[k].lower() in {"and", "but", "so"} and demands & {w.strip(",.!").lower() for w in words_[k + 1 : k + 4]}:
                words_ = words_[:k]
                words_[-1] = words_[-1].rstrip(",;")
                break
        if len(words_) < 4:
            continue
        names = _names(customer_message)
        for candidate in _fitting(words_):
            text = _turned_round(candidate, data, swaps, keep_caps | names)
            if text:
                yield text


def _fitting(words_: List[str]) -> Iterator[str]:
    """The sentence if short enough, else its head cut where a clause ends (never mid-clause:
    '... and you lose whatever you'), then each clause of it that is long enough alone, so
    that a complaint opening with what was paid still yields the clause saying what failed."""
    if any(w.endswith(":") for w in words_[:-1]):
        # 'our anniversary dinner on 8 June: 50 minutes for cold steaks' is two fragments
        for part in re.split(r":\s+", " ".join(words_)):
            if 4 <= len(part.split()) <= MAX_MIRROR_WORDS:
                yield part
        return
    if len(words_) <= MAX_MIRROR_WORDS:
        yield " ".join(words_)
        return
    head = " ".join(words_[:MAX_MIRROR_WORDS])
    cut = max(head.rfind(","), head.rfind(" and "), head.rfind(" but "))
    if cut > 0 and len(head[:cut].split()) >= 4:
        yield head[:cut]
    for clause in re.split(r",\s+(?:and\s+|but\s+)?|\s+(?:and|but)\s+", " ".join(words_)):
        if 4 <= len(clause.split()) <= MAX_MIRROR_WORDS:
            yield clause


_CALENDAR = frozenset(
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April June July "
    "August September October November December".split()
)


def _names(customer_message: str) -> FrozenSet[str]:
    """Words that keep their capital at the head of an example: the calendar's names and any
    word the customer capitalised after a sentence's first word ('... landed in Newark')."""
    inside = {
        w for sentence in _SENTENCE_END.split(customer_message or "")
        for w in re.findall(r"[A-Za-z]+", sentence)[1:] if w[0].isupper() and not w.isupper()
    }
    return _CALENDAR | frozenset(inside)


def _turned_round(sentence: str, data: Dict[str, Any], swaps: Dict[str, str], keep_caps: FrozenSet[str]) -> str:
    """The customer's words as the agent would say them back ('I paid you' -> 'you paid us')."""
    out: List[str] = []
    pieces = _WORD.findall(sentence.rstrip(".!? "))
    for i, piece in enumerate(pieces):
        low = piece.lower()
        if low == "you":
            out.append(_you(pieces, i, data))
        elif low in swaps:
            out.append(swaps[low])
        elif len(piece) >= 3 and piece.isupper() and piece.isalpha() and piece not in keep_caps:
            out.append(low)
        else:
            out.append(piece)
    text = re.sub(r"\byou was(n't)?\b", lambda m: "you were" + (m.group(1) or ""), "".join(out).strip().rstrip(",;:").strip())
    if not text:
        return ""
    first_two = re.findall(r"[A-Za-z]+", text)[:2]
    if text.startswith("I ") or first_two and first_two[0].lower() not in STOP_WORDS and (
        first_two[0] in keep_caps or len(first_two) == 2 and first_two[1][0].isupper() and first_two[1] != "I"
    ):
        return text  # 'Tuesday came and went', 'Newark left you stranded', 'Premium Support was added'
    return text[0].lower() + text[1:]
