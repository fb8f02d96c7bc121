"""What a reply without a next step came close to, and the tip a trainer would give for it.

The tip quotes the trainee's words, so it must quote only what fits its sentence: "You said what
you'll do ('...')" takes the agent's or the company's own promise, never a question to the
customer, a past statement ('you've been told', 'they've marked it') or something said about the
customer ('you'll have to wait'); "You gave a time ('...')" takes a time that is still ahead, as
a clean phrase, and its example puts the right preposition before it ('by Friday', 'on
Saturday', 'in April').
"""
from __future__ import annotations

from typing import List, Optional, Sequence

from spacy.tokens import Span, Token

from bot.checks import next_step as ns
from bot.checks._context import Context, fill, is_negated
from bot.checks._lexicon import load_lexicon, words
from bot.checks._next_step_times import clause_of

# A quoted promise stops at the end of its clause and is cut short after this many words.
QUOTE_WORDS = 10
_MONTHS = frozenset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec".split()
)
_WEEKDAYS = frozenset("monday tuesday wednesday thursday friday saturday sunday".split())


def own_promise(verb: Token) -> bool:
    """Is `verb` something the agent or the company says it will do (or is doing)?"""
    if ns._promise_kind(verb) not in {"future", "now"} or ns._asks(verb) or is_negated(verb):
        return False
    if verb.sent.text.rstrip().endswith("?"):
        return False
    if verb.head.lemma_ == "let" and any(c.dep_ == "nsubj" and c.lower_ not in {"me", "us"} for c in verb.head.children):
        return False  # 'if you let me finish'
    subject = ns._subject(verb)
    talk = verb.lemma_.lower() in words("next_step", "said_not_done")
    if subject is None or subject.lower_ in words("next_step", "first_person"):
        # "I'll call you back", 'let me ...', 'removing it now' promise; "I'm only asking",
        # "I'm telling you" are talk
        return not (talk and ns._promise_kind(verb) == "now")
    # 'a technician will call you' promises; 'my supervisor will tell you the same' does not
    return subject.lemma_.lower() in words("next_step", "agents") and not talk


def promise_quote(verb: Token, times: Sequence[Span]) -> Span:
    """The promise as the trainee wrote it, up to the end of its clause: 'I'll make sure you're
    refunded', not 'I'll make'."""
    base = ns.action_span(verb, times)
    doc = verb.doc
    start = base.start
    if verb.dep_ == "xcomp" and ns._wished(verb.head):  # 'I'd like to offer you ...', not 'to offer you ...'
        start = min([start, verb.head.i] + [c.left_edge.i for c in verb.head.children if c.dep_ in {"nsubj", "aux"}])
    # the subject's own words, not what the parser hung on it before a dash or a comma
    breaks = [t.i for t in doc[start : verb.i] if t.is_punct or t.pos_ in {"SYM", "X"} or not t.text.isascii()]
    start = max([start] + [b + 1 for b in breaks])
    end = base.end
    stops = {t.start for t in times}
    while end < verb.sent.end and end - verb.i <= QUOTE_WORDS:
        token = doc[end]
        if token.is_punct or token.i in stops or token.dep_ == "cc" or token.i not in {t.i for t in verb.subtree}:
            break
        end += 1
    cut_short = end - verb.i > QUOTE_WORDS  # then it may stop inside a phrase: 'for your next'
    loose = {"ADP", "CCONJ", "PUNCT", "PART", "SCONJ"} | ({"DET", "ADJ"} if cut_short else set())
    while end - 1 > verb.i and (doc[end - 1].pos_ in loose or doc[end - 1].is_space or (cut_short and doc[end - 1].dep_ == "poss")):
        end -= 1
    return doc[start:end]


def _conditional_promise(verb: Token) -> bool:
    """'if it drops again, we'll send an engineer': a promise that waits on something."""
    if verb.pos_ not in {"VERB", "AUX"} or verb.dep_ in {"aux", "auxpass"} or not ns._is_conditional(verb):
        return False
    subject = ns._subject(verb)
    future = any(a.lower_ in ns.FUTURE_AUX for a in ns._auxiliaries(verb))
    return future and (subject is None or subject.lower_ in words("next_step", "first_person"))


def _ahead(time: Span) -> bool:
    """A time the reply could still promise something by: not 'since 6 March', not in a
    sentence about what went wrong ('the engineer didn't come on the 12th')."""
    doc = time.doc
    if time.start > 0 and doc[time.start - 1].lower_ in {"since", "last", "from", "of"}:
        return False
    if any(t.tag_ == "VBD" or t.lower_ in {"was", "were", "did", "had"} for t in time.sent):
        return False  # 'the parcel was marked delivered on Monday'
    head = time.root.head
    if head.dep_ == "prep" and head.head.pos_ in {"NOUN", "PROPN"} and head.head.i < time.start:
        return False  # 'thank you for your patience this week', 'birthday for Saturday'
    clause = clause_of(time)
    if clause is None:
        return True
    if clause.tag_ == "VBN" and clause.dep_ in {"ccomp", "acl"} and not ns._auxiliaries(clause):
        return False  # a status reported: 'tracking says left at the door on Monday', 'a parcel marked delivered on Monday'
    return not (ns._is_past(clause) or is_negated(clause) or ns._asks(clause))


def time_phrase(time: Span) -> str:
    """'Friday,' -> 'Friday', 'at the end of the' -> 'at the end of the billing cycle': the
    phrase as typed, without punctuation the match took in and with the words it left off."""
    doc = time.doc
    tokens = [t for t in time if not t.is_punct]
    if not tokens:
        return time.text
    start, end = tokens[0].i, tokens[-1].i + 1
    while end < time.sent.end and end - start < 10 and doc[end - 1].lower_ in {"of", "the", "a", "an"} and not doc[end].is_punct:
        end += 1  # 'at the end of the' + 'billing cycle'
    while end < time.sent.end and doc[end - 1].pos_ in {"DET", "ADJ"} and doc[end].pos_ in {"NOUN", "PROPN", "ADJ"}:
        end += 1
    return doc[start:end].text


def example_when(phrase: str) -> str:
    """The time as it fits 'I'll call you back ___': 'Friday' -> 'by Friday', 'April' -> 'in
    April', '6 March' -> 'on 6 March', '1 pm' -> 'at 1 pm', 'for Saturday' -> 'on Saturday'; a
    phrase that already says how it relates ('by 5 pm', 'today', 'within 24 hours') is kept."""
    lowered = [w.strip(",.;:!") for w in phrase.lower().split()]
    first = lowered[0]
    if first in words("next_step", "time_openers"):
        if first == "for":
            return "on " + phrase.split(None, 1)[1]
        return first + phrase[len(first):]  # 'By Friday' inside the example reads 'by Friday'
    if first in _WEEKDAYS:
        return f"by {phrase}" if len(lowered) == 1 else f"on {phrase}"
    if first in _MONTHS:
        return f"in {phrase}"
    if first[:1].isdigit() and (":" in phrase or any(w in {"am", "pm"} or w.endswith(("am", "pm")) for w in lowered)):
        return f"at {phrase}"
    if lowered[-1] in _MONTHS or first[:1].isdigit():
        return f"on {phrase}"
    return phrase


def _window(phrase: str) -> bool:
    """'Tuesday 8 to 12', 'between 1 and 3': a slot, not a deadline ('in 3 to 5 working days')."""
    lowered = phrase.lower().split()
    if any(w in lowered for w in ("between", "from")) or any(w in lowered for w in ("till", "until")) and any(c.isdigit() for c in phrase):
        return True
    units = {"minute", "minutes", "hour", "hours", "day", "days", "week", "weeks", "mins", "hrs"}
    return any(w in {"to", "-", "–"} or "-" in w or "–" in w for w in lowered) and not units & set(lowered)


def partial(ctx: Context, verbs: List[Token], times, firm, vague) -> Optional[dict]:
    """(evidence spans, tip) for a reply with promises or times but no next step, else None."""
    lex = load_lexicon("next_step")["tips"]
    spans = [t.span for t in times]
    own = [v for v in verbs if own_promise(v)]
    vague_here = [m.span for m in vague if any(m.span.sent == v.sent for v in own)]
    if own:
        quotes = [promise_quote(v, spans) for v in own]
        hollow = [q for v, q in zip(own, quotes) if ns.is_vague(v)]
        if vague_here:
            tip = fill(lex["vague_time"], span=ctx.quote(vague_here[0]))
        elif hollow:
            tip = fill(lex["vague_action"], span=ctx.quote(hollow[0]))
        else:
            tip = fill(lex["missing_time"], span=ctx.quote(quotes[0]))
        return {"evidence": quotes + vague_here, "tip": tip}
    doc = (verbs[0].doc if verbs else firm[0].span.doc) if verbs or firm else None
    conditional = [v for v in doc if _conditional_promise(v)] if doc is not None else []
    if conditional:
        quote = promise_quote(conditional[0], spans)
        return {"evidence": [quote], "tip": fill(lex["conditional"], span=ctx.quote(quote))}
    # A time in a question ('anything else I can help with today?') promises nothing either way.
    stated = [m.span for m in firm if not m.span.sent.text.rstrip().endswith("?") and _ahead(m.span)]
    if stated:
        phrase = time_phrase(stated[0])
        if phrase.lower() in words("next_step", "now_phrases"):
            tip = fill(lex["missing_action_now"], span=phrase)
        else:
            key = "missing_action_window" if _window(phrase) else "missing_action"
            tip = fill(lex[key], span=phrase, when=example_when(phrase))
        return {"evidence": stated, "tip": tip}
    return None
