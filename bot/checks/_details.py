"""Details of a restatement for active_listening: which words of a reply the customer or the
scenario's facts also have, and whether a stretch of the reply says what went wrong. Moved out of
active_listening.py unchanged so that its learned layer (listening_layer.py) reads them too.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from bot.checks._apology_scope import ought_to_have
from bot.checks._context import Context, concepts, name_parts, synonyms
from bot.checks._lexicon import words
from bot.checks._restatement_clauses import rules, scope_after, time_tokens


def _noun_chunks(doc: Doc) -> List[Span]:
    cached = doc.user_data.get("checks_noun_chunks")
    if cached is None:
        cached = list(doc.noun_chunks)
        doc.user_data["checks_noun_chunks"] = cached
    return cached


def _detail_span(doc: Doc, start: int, end: int) -> Span:
    """The noun chunk around a detail word ('your calls' for 'calls'), else the word itself."""
    for chunk in _noun_chunks(doc):
        if chunk.start <= start and end <= chunk.end:
            return chunk
    return doc[start:end]


def details_in(scope: Sequence[Token], ctx: Context) -> Tuple[List[Span], int]:
    """Details in `scope` that the customer or the facts mention: their quotes (noun chunks)
    and how many distinct concepts they are.

    Without any context (no customer message, no facts) every content word counts: the
    check can then only confirm that the restatement is specific, not that it is right.
    """
    if not scope:
        return [], 0
    doc = scope[0].doc
    skip = name_parts(ctx.customer_name)
    spans, seen = [], set()
    for concept, start, end in concepts(scope, skip=skip):
        if _points_back(doc[start]):
            continue
        if not ctx.known or concept in ctx.known:
            seen.add(concept)
            spans.append(_detail_span(doc, start, end))
    return filter_spans(spans), len(seen)


def _points_back(token: Token) -> bool:
    """'those checks', 'that one': a noun under a demonstrative refers to what the customer
    said without saying it again, so it is no detail; a count still is ('those three calls')."""
    if token.like_num or token.pos_ not in {"NOUN", "PROPN"}:
        return False
    return any(child.dep_ == "det" and child.lower_ in rules().demonstratives for child in token.children)


def restatement_details(frame: Span, ctx: Context, scope: Optional[Sequence[Token]] = None) -> List[Span]:
    """Details after `frame` in its sentence that the customer or the facts mention."""
    return details_in(scope_after(frame) if scope is None else scope, ctx)[0]


def says_what_went_wrong(tokens: Sequence[Token], details: Sequence[Span]) -> bool:
    """A negation, a failure word (by lemma or synonym concept) or a number among the details
    that is not part of a time ('after 1 pm' is availability, 'three calls' a failure)."""
    negations = words("active_listening", "problem_negations")
    failures = words("active_listening", "problem_failures")
    single = synonyms().single
    for t in tokens:
        low, lemma = t.lower_, t.lemma_.lower()
        if low == "only" and _habitual(t.head):
            continue  # 'The status page only shows area-wide faults': how it works; 'only got an automated reply' went wrong
        if low in negations or lemma in negations or t.dep_ == "neg":
            return True
        if low in failures or lemma in failures or single.get(lemma) in failures or single.get(low) in failures:
            return True
    if _failure_phrase(tokens, failures) or ought_to_have(tokens):
        return True
    if not details:
        return False
    times = time_tokens(details[0].doc)
    doc = details[0].doc
    return any(t.like_num and t.i not in times and not _in_compound(doc, t) and not _is_amount(doc, t) for d in details for t in d)


def _habitual(verb: Token) -> bool:
    """A present-simple verb of something other than the customer: 'the tracking only updates
    when the driver scans it', 'copying only makes a second set'."""
    if verb.tag_ not in {"VBZ", "VBP"} or verb.lemma_ == "be" or any(c.dep_ in {"aux", "auxpass", "neg"} for c in verb.children):
        return False
    subject = next((c for c in verb.children if c.dep_ in {"nsubj", "csubj"}), None)
    return subject is None or not any(w.lower_ in rules().you | {"your", "ur", "it"} for w in subject.subtree)


def _is_amount(doc: Doc, token: Token) -> bool:
    """'142 dollars', '$28': a sum is what a refund or a bill comes to, not a count of failures."""
    after = doc[token.i + 1].lower_ if token.i + 1 < len(doc) else ""
    before = doc[token.i - 1].text if token.i > 0 else ""
    return after in words("active_listening", "currency_words") or before in words("active_listening", "currency_words")


def _failure_phrase(tokens: Sequence[Token], failures: frozenset) -> bool:
    """'out of pocket', 'let down' (problem_phrases), and hyphenated words read whole:
    'switched-off', 'double-charged'."""
    text = " ".join(t.lower_ for t in tokens if not t.is_space)
    padded = f" {text} "
    if any(f" {phrase} " in padded for phrase in words("active_listening", "problem_phrases")):
        return True
    joined = "".join(t.lower_ + (" " if t.whitespace_ else "") for t in tokens)  # as typed: 'switched-off'
    return any(part in failures for part in joined.split() if "-" in part)


def _in_compound(doc: Doc, token: Token) -> bool:
    """'two-factor', '5-star': a number inside a hyphenated word is no count."""
    return token.i + 1 < len(doc) and doc[token.i + 1].text == "-" and not token.whitespace_
