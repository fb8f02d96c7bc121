"""thanks: thanking or appreciating the customer; not 'no thanks', not 'thanks to the update ...'."""
from __future__ import annotations

from spacy.tokens import Doc, Span, Token

from bot.checks import greeting
from bot.checks._context import Context, extend_to_clause_end, fill, is_negated, overlaps, result
from bot.checks._lexicon import load_lexicon, pattern_set, words

_CUE_LEMMAS = {"thank", "thanks", "appreciate", "appreciated", "grateful", "thankful", "thx", "thankyou", "cheers"}


def _cue(span: Span) -> Token:
    return next((t for t in span if t.lemma_.lower() in _CUE_LEMMAS or t.lower_ in _CUE_LEMMAS), span[-1])


def thanks_the_customer(cue: Token) -> bool:
    """'Thank you' and 'I appreciate it' do; 'the customer thanked us', 'I don't appreciate that' do not."""
    if is_negated(cue):
        return False
    if cue.lemma_ == "thank" and cue.pos_ == "VERB":
        if cue.tag_ in {"VBD", "VBN"}:
            return False
        # 'Dear Mrs Carter, thank you', 'Good question, thank you': what the parser hangs on as a
        # subject across a comma is the person addressed or a remark, not who thanks
        subjects = [
            c for c in cue.children
            if c.dep_ in {"nsubj", "nsubjpass"} and not any(t.text == "," for t in cue.doc[min(c.i, cue.i) : max(c.i, cue.i)])
        ]
        if subjects and subjects[0].lower_ not in words("next_step", "first_person"):
            return False
    return True


def _note_to_colleagues(doc: Doc) -> bool:
    """A reply that opens 'hi team' or 'Hi all' is a note to colleagues: its thanks are theirs."""
    return any(m.span.start == 0 and greeting.to_someone_else(m.span) for m in pattern_set(doc.vocab, "greeting").find(doc))


def check(doc: Doc, ctx: Context) -> dict:
    lex = load_lexicon("thanks")
    if _note_to_colleagues(doc):
        return result(False, [], lex["tips"]["missing"])
    refusals = [m for m in pattern_set(doc.vocab, "thanks", "not_thanks").find(doc)]
    # 'Thanks to the storms, ...' means 'because of': not a failed thank-you, so the tip is the
    # plain one rather than one quoting it back as if it were
    attempts = [m.span for m in refusals if not m.entry.get("not_an_attempt")]
    refusals = [m.span for m in refusals]
    found = []
    for match in pattern_set(doc.vocab, "thanks").find(doc):
        if any(overlaps(match.span, r) for r in refusals) or not thanks_the_customer(_cue(match.span)):
            continue
        found.append(extend_to_clause_end(match.span))
    if found:
        return result(True, [ctx.quote(s) for s in found])
    if attempts:
        return result(False, [ctx.quote(s) for s in attempts], fill(lex["tips"]["not_thanks"], span=ctx.quote(attempts[0])))
    return result(False, [], lex["tips"]["missing"])
