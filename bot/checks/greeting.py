"""greeting: a salutation addressed to the customer ('Hi Dana', 'Good morning', 'Hello and welcome')."""
from __future__ import annotations

from spacy.tokens import Doc, Span

from bot.checks._context import Context, fill, result
from bot.checks._lexicon import load_lexicon, pattern_set, words

# Longest run of address words or names taken into the evidence after the salutation.
MAX_ADDRESS_TOKENS = 3


def opens_sentence(span: Span) -> bool:
    """Only punctuation, symbols, an interjection or a name come before it in its sentence.

    'Dana, good morning!' and '👋 Hi' count; 'I'll say hello to the team' and 'Have a good day' do not.
    """
    doc = span.doc
    return all(
        t.is_punct or t.is_space or not t.is_alpha or t.pos_ in {"PROPN", "INTJ"}
        for t in doc[span.sent.start : span.start]
    )


def _with_address(span: Span) -> Span:
    """'Hi' -> 'Hi Dana', 'Hello' -> 'Hello and welcome'."""
    doc, end = span.doc, span.end
    address = words("greeting", "address_words")
    while end < min(span.sent.end, span.end + MAX_ADDRESS_TOKENS):
        token = doc[end]
        if token.lower_ in address or (token.is_title and token.pos_ == "PROPN"):
            end += 1
        else:
            break
    while end > span.end and doc[end - 1].lower_ == "and":
        end -= 1
    return doc[span.start : end]


def to_someone_else(span: Span) -> bool:
    """'@billing hi, pls check ...', 'hi team', 'Hi to your husband!': addressed to colleagues or a third party."""
    doc = span.doc
    if any(t.text.startswith("@") for t in doc[span.sent.start : span.start]):
        return True
    if span.end < len(doc) and doc[span.end].lower_ in words("greeting", "group_words"):
        return True  # 'hi team, can someone check ...', 'Hi all - internal: ...'
    return span.end < len(doc) and doc[span.end].lower_ == "to" and span[0].lower_ != "welcome"  # 'Welcome to ...' greets


def check(doc: Doc, ctx: Context) -> dict:
    greetings = [
        m.span for m in pattern_set(doc.vocab, "greeting").find(doc) if opens_sentence(m.span) and not to_someone_else(m.span)
    ]
    if greetings:
        return result(True, [ctx.quote(_with_address(s)) for s in greetings[:1]])
    tips = load_lexicon("greeting")["tips"]
    name = ctx.first_name()
    tip = fill(tips["missing"], name=name) if name else tips["missing_no_name"]
    return result(False, [], tip)
