"""active_listening: the customer's problem restated in the trainee's words with a concrete detail.

A restatement needs a frame that turns to the customer ('so your ...', 'it sounds like',
'if I understand correctly', 'you've been ...', frames in active_listening.json) and, in the
rest of that sentence, at least one content word that the customer's message or the
scenario's facts also have, compared by lemma and through synonyms.json ('returned your
calls' ~ 'called me back'). 'I understand your frustration' has a frame but no detail.
"""
from __future__ import annotations

from typing import List

from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from bot.checks._context import Context, concepts, extend_to_clause_end, fill, name_parts, result
from bot.checks._lexicon import load_lexicon, pattern_set

# Trainers: "with at least one concrete detail from what the customer said or from the facts".
MIN_SHARED_DETAILS = 1
# An empathy phrase ('I understand how annoying ...') is a frame only when the rest of its
# sentence carries two details: one product word ('... your frustration with the laptop')
# is still empty empathy. Frames in the lexicon may ask for more with "min_details".
EMPATHY_MIN_DETAILS = 2
# Where the quote of an empathy phrase stops: 'I understand how you feel' but not '..., and I'll ...'.
CLAUSE_LINKS = frozenset({"and", "but", "so", "because", "while"})


def _detail_span(doc: Doc, start: int, end: int) -> Span:
    """The noun chunk around a detail word ('your calls' for 'calls'), else the word itself."""
    for chunk in doc.noun_chunks:
        if chunk.start <= start and end <= chunk.end:
            return chunk
    return doc[start:end]


def restatement_details(frame: Span, ctx: Context) -> List[Span]:
    """Details after `frame` in its sentence that the customer or the facts mention.

    Without any context (no customer message, no facts) every content word counts: the
    check can then only confirm that the restatement is specific, not that it is right.
    """
    doc = frame.doc
    scope = list(doc[frame.end : frame.sent.end])
    skip = name_parts(ctx.customer_name)
    found = []
    for concept, start, end in concepts(scope, skip=skip):
        if not ctx.known or concept in ctx.known:
            found.append(_detail_span(doc, start, end))
    return filter_spans(found)


def _example(ctx: Context, lex: dict) -> str:
    if ctx.mirror:
        return fill(lex["example"], mirror=ctx.mirror)
    if ctx.known:
        return fill(lex["example_fallback"], detail=next(iter(ctx.known.values())))
    return lex["example_no_context"]


def check(doc: Doc, ctx: Context) -> dict:
    lex = load_lexicon("active_listening")
    frames = pattern_set(doc.vocab, "active_listening", "frames").find(doc)
    empty = [m.span for m in pattern_set(doc.vocab, "active_listening", "empty_empathy").find(doc)]
    candidates = [(m.span, m.entry.get("min_details", MIN_SHARED_DETAILS)) for m in frames]
    candidates += [(s, EMPATHY_MIN_DETAILS) for s in empty]
    for frame, needed in sorted(candidates, key=lambda c: c[0].start):
        details = restatement_details(frame, ctx)
        if len(details) >= needed:
            return result(True, [ctx.quote(frame)] + [ctx.quote(d) for d in details])
    example = _example(ctx, lex)
    if empty:
        quotes = [ctx.quote(extend_to_clause_end(s, CLAUSE_LINKS)) for s in empty]
        return result(False, quotes, fill(lex["tips"]["empty_empathy"], span=quotes[0], example=example))
    explicit = [m.span for m in frames if m.entry.get("explicit", True)]
    if explicit:
        span = ctx.quote(explicit[0])
        return result(False, [span], fill(lex["tips"]["frame_without_detail"], span=span, example=example))
    return result(False, [], fill(lex["tips"]["missing"], example=example))
