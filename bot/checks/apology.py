"""apology: a genuine apology for the customer's experience.

Non-apologies do not count, and the evidence quotes them: apologising for feelings ('I'm
sorry you feel that way') or on a condition ('sorry if you were upset') are patterns in
apology.json; taking it back ('sorry, but that's our policy'), tacking it onto a refusal
('Water damage isn't covered, sorry.'), negation ('there's no need to
apologize') and 'Sorry, what was your order number?' need the parse and are below.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

from spacy.tokens import Doc, Span, Token

from bot.checks import defensive, next_step
from bot.checks._context import Context, extend_to_clause_end, fill, is_negated, overlaps, result
from bot.checks._mirror import states_problem
from bot.checks._lexicon import load_lexicon, pattern_set, words

_CUE_PREFIXES = ("sorry", "soz", "sry", "srry", "sowwy", "apolog", "regret")


def _cue(span: Span) -> Token:
    return next((t for t in span if t.lower_.startswith(_CUE_PREFIXES) or t.lemma_ == "regret"), span[-1])


def is_interjection(cue: Token) -> bool:
    """'Sorry, what was your order number?' / 'Sorry?': asking to repeat, not apologising."""
    sent = cue.sent
    first = next((t for t in sent if not t.is_punct and not t.is_space), None)
    following = cue.doc[cue.i + 1] if cue.i + 1 < len(cue.doc) else None
    return (
        first is not None and cue.i == first.i
        and cue.lower_ == "sorry"
        and (following is None or following.is_punct)
        and sent.text.rstrip().endswith("?")
    )


def _clause_head(word: Token) -> Optional[Token]:
    """The verb of the clause that `word` ('but', 'however') introduces."""
    if word.dep_ == "cc":
        later = [c for c in word.head.children if c.dep_ == "conj" and c.i > word.i]
        if later:
            return later[0]
    if word.head.i > word.i and word.head.pos_ in {"VERB", "AUX"}:
        return word.head
    return next((t for t in word.doc[word.i + 1 : word.sent.end] if t.pos_ in {"VERB", "AUX"}), None)


def taken_back(cue: Token) -> Optional[Token]:
    """The 'but'/'however' after the apology, unless what follows is a commitment
    ('I'm sorry, but I've booked a technician for tomorrow' stays an apology)."""
    contrast = words("apology", "contrast_words")
    for token in cue.doc[cue.i + 1 : cue.sent.end]:
        if token.lower_ in contrast:
            head = _clause_head(token)
            if head is not None and next_step.is_commitment(head):
                return None
            return token
    return None


def _tacked_on(span: Span) -> bool:
    """'Water damage isn't covered, sorry.': the apology closes its sentence, an afterthought
    to the refusal before it."""
    doc = span.doc
    before = doc[span.start - 1] if span.start > span.sent.start else None
    rest = doc[span.end : span.sent.end]
    # 'nothing I can do to speed it up sorry': chat often drops the comma
    return before is not None and all(t.is_punct or t.is_space or not t.is_alpha for t in rest)


def check(doc: Doc, ctx: Context) -> dict:
    lex = load_lexicon("apology")
    non: List[Tuple[Span, str]] = [
        (extend_to_clause_end(m.span), m.entry["why"]) for m in pattern_set(doc.vocab, "apology", "non_apologies").find(doc)
    ]
    blocked = [span for span, _ in non]
    walls = [m.span for m in defensive.flagged(doc, ctx)]
    genuine: List[Span] = []
    for match in pattern_set(doc.vocab, "apology").find(doc):
        span = match.span
        cue = _cue(span)
        if any(overlaps(span, b) for b in blocked) or is_negated(cue) or is_interjection(cue):
            continue
        but = taken_back(cue)
        if but is not None:
            end = cue.sent.end - (1 if cue.sent[-1].is_punct else 0)
            non.append((doc[span.start : end], fill(lex["why_contrast"], word=but.text)))
            continue
        wall = next(
            (w for w in walls if w.sent == span.sent and (w.start >= span.end or (w.end <= span.start and _tacked_on(span)))),
            None,
        )
        if wall is not None:
            if wall.start >= span.end:
                non.append((doc[span.start : wall.end], lex["why_defended"]))
            else:  # 'we dont offer compensation for that, sorry': the refusal comes first
                non.append((doc[span.sent.start : span.end], lex["why_tacked_on"]))
            continue
        genuine.append(extend_to_clause_end(span, words("apology", "contrast_words")))

    example = lex["example_fallback"]
    if ctx.mirror and ctx.mirror.split()[0].lower() in words("apology", "example_clause_openers") and states_problem(ctx.mirror, strict=True):
        example = ctx.mirror
    non_tip = fill(lex["tips"]["non_apology"], span=ctx.quote(non[0][0]), why=non[0][1], example=example) if non else None
    if genuine:
        return result(True, [ctx.quote(s) for s in genuine], non_tip)
    if non:
        return result(False, [ctx.quote(s) for s, _ in non], non_tip)
    return result(False, [], fill(lex["tips"]["missing"], example=example))
