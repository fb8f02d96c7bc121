"""jargon: words the customer is unlikely to know, from the general list and the scenario's own."""
from __future__ import annotations

from functools import lru_cache
from typing import Dict, Tuple

from spacy.tokens import Doc

from bot.checks._context import Context, fill, result
from bot.checks._lexicon import find_phrases, load_lexicon, phrase_matcher


@lru_cache(maxsize=1)
def plain_words() -> Dict[str, str]:
    """Lower-cased term -> the plain wording to use instead."""
    return {term.lower(): plain for term, plain in load_lexicon("jargon")["terms"].items()}


def terms_for(scenario_terms: Tuple[str, ...]) -> Tuple[str, ...]:
    general = tuple(load_lexicon("jargon")["terms"])
    extra = tuple(t for t in scenario_terms if t.lower() not in plain_words())
    return general + extra


def check(doc: Doc, ctx: Context) -> dict:
    matcher = phrase_matcher(ctx.nlp, terms_for(ctx.jargon_terms))
    hits = find_phrases(matcher, doc)
    if not hits:
        return result(False)
    tips = load_lexicon("jargon")["tips"]
    span, term = hits[0]
    plain = plain_words().get(term.lower())
    quoted = ctx.quote(span)
    tip = fill(tips["with_plain"], plain=plain, span=quoted) if plain else fill(tips["without_plain"], span=quoted)
    return result(True, [ctx.quote(s) for s, _ in hits], tip)
