"""jargon: words the customer is unlikely to know, from the general list and the scenario's own.

A term explained where it is used ('tier 2 — that's our senior technical team', 'An eSIM is
simply a SIM card built into the phone') is not flagged, unless the explanation is more jargon.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Dict, List, Tuple

from spacy.tokens import Doc, Span

from bot.checks._context import Context, fill, result
from bot.checks._lexicon import find_phrases, load_lexicon, phrase_matcher

# What may stand between a term and its explanation: 'tier 2 — that's ...', 'tier 2, which is ...'.
SEPARATORS = frozenset({",", "—", "–", "-", "--", ":"})
# Verbs that define their subject: 'An eSIM is a SIM card ...', 'RMA means a return', 'stands for'.
DEFINING_LEMMAS = frozenset({"be", "mean", "stand"})
# Present tense only: 'The RMA was a mistake' judges the term, it does not explain it.
PRESENT_TAGS = frozenset({"VBZ", "VBP"})
DEFINING_DETERMINERS = frozenset({"a", "an", "the", "your", "our", "its"})
# Plain words an explanation needs after a term it explains with: 'i.e. damage caused by the owner'.
MIN_PLAIN_WORDS = 3


@lru_cache(maxsize=1)
def plain_words() -> Dict[str, str]:
    """Lower-cased term -> the plain wording to use instead."""
    return {term.lower(): plain for term, plain in load_lexicon("jargon")["terms"].items()}


@lru_cache(maxsize=1)
def _openers() -> Tuple[Tuple[str, ...], ...]:
    return tuple(tuple(o.lower().replace("'s", " 's").split()) for o in load_lexicon("jargon")["explanation_openers"])


def terms_for(scenario_terms: Tuple[str, ...]) -> Tuple[str, ...]:
    general = tuple(load_lexicon("jargon")["terms"])
    extra = tuple(t for t in scenario_terms if t.lower() not in plain_words())
    return general + extra


def _explanation(span: Span) -> Span:
    """The words that explain `span` where it is used, or an empty span when nothing does."""
    doc = span.doc
    end = span.sent.end
    i = span.end
    while i < end and doc[i].text in SEPARATORS:
        i += 1
    following = [t.lower_ for t in doc[i : min(end, i + 4)]]
    for opener in _openers():
        if tuple(following[: len(opener)]) == opener:
            close = next((t.i for t in doc[i + 1 : end] if t.text == ")"), end) if opener == ("(",) else end
            return doc[i:close]
    before = [t.lower_ for t in doc[max(span.sent.start, span.start - 3) : span.start]]
    if "think" in before and "of" in before and any(t.lower_ == "as" for t in doc[span.end : end]):
        return doc[span.end : end]  # 'Think of an eSIM as the little card ...'
    after = [t.lower_ for t in doc[span.end : min(end, span.end + 4)]]
    if before and before[-1] in {"by", "'", '"'} and "by" in before and ("meant" in after or "mean" in after):
        return doc[span.end : end]  # "By 'comp' I meant we'd cover the cost"
    # the verb the term is the subject of ('pro-rata just means ...' is three tokens under 'means')
    heads = {t.head.i for t in span if not span.start <= t.head.i < span.end}
    subject = any(t.dep_ in {"nsubj", "nsubjpass"} for t in span)
    head = doc[heads.pop()] if len(heads) == 1 else span.root.head
    if subject and head.lemma_.lower() in DEFINING_LEMMAS and head.tag_ in PRESENT_TAGS:
        objects = [c for c in head.children if c.i >= span.end and c.dep_ in {"attr", "dobj", "prep", "ccomp", "xcomp"}]
        if head.lemma_.lower() != "be" and objects:  # 'Sync just means keeping ...', 'Ingress means something got in'
            return doc[head.i : end]
        # 'is a SIM card', 'is just your booking record'; not 'Your ticket ID is 4471'
        if any(c.dep_ == "attr" and c.pos_ == "NOUN" and any(d.dep_ in {"det", "poss"} and d.lower_ in DEFINING_DETERMINERS for d in c.children) for c in objects):
            return doc[head.i : end]
    return doc[span.end : span.end]


def _explained(span: Span, term: str, hits: List[Tuple[Span, str]]) -> bool:
    words = _explanation(span)
    if not len(words):
        return False
    others = [other for other, t in hits if t.lower() != term.lower() and words.start <= other.start < words.end]
    if not others:
        return True
    # 'the RMA (our FSE visit)': an explanation in more jargon explains nothing, unless plain
    # words follow it: 'POD means proof of delivery, basically the photo the driver takes'
    jargon_tokens = {i for other in others for i in range(other.start, other.end)}
    plain = [t for t in words if t.is_alpha and not t.is_stop and t.i not in jargon_tokens and t.i > others[0].end]
    return len(plain) >= MIN_PLAIN_WORDS


def check(doc: Doc, ctx: Context) -> dict:
    matcher = phrase_matcher(ctx.nlp, terms_for(ctx.jargon_terms))
    hits = find_phrases(matcher, doc)
    if not hits:
        return result(False)
    explained = {term.lower() for span, term in hits if _explained(span, term, hits)}
    # once explained, a term may be used again: "'Comp' just means a free meal. We'd like to comp both mains."
    flagged = [(span, term) for span, term in hits if term.lower() not in explained]
    if not flagged:
        return result(False, [ctx.quote(s) for s, _ in hits])
    tips = load_lexicon("jargon")["tips"]
    span, term = flagged[0]
    plain = plain_words().get(term.lower())
    quoted = ctx.quote(span)
    tip = fill(tips["with_plain"], plain=plain, span=quoted) if plain else fill(tips["without_plain"], span=quoted)
    return result(True, [ctx.quote(s) for s, _ in flagged], tip)
