"""When, for next_step: the times a reply gives, and which of them can be when something is done.

Times are a Matcher over time_expressions.json. Not every match is a when: a time inside a
condition ('if it isn't with you by the 21st'), a day's name for its event ('Tuesday's
no-show', 'Saturday mains'), 'bye for now'. Helpers here also say where a time sits in the
parse (its clause, a question after a dash, a sentence that is only a time).
"""
from __future__ import annotations

from typing import List, Optional, Tuple

from spacy.tokens import Doc, Span, Token

from bot.checks._lexicon import Match, pattern_set, words


def find(doc: Doc) -> Tuple[List[Match], List[Match], List[Match]]:
    """(every time match, the firm times that can be a when, the vague ones)."""
    times = [_kept(m) for m in pattern_set(doc.vocab, "time_expressions").find(doc)]
    # 'Saturday.' is matched with the full stop that shows it ends there; the time is 'Saturday'
    times = [Match(m.span[:-1], m.entry) if len(m.span) > 1 and m.span[-1].is_punct else m for m in times]
    # a time inside a condition ('if it isn't with you by the 21st') is not when anything is done
    firm = [m for m in times if m.label == "TIME" and not in_condition(m.span.root) and not _not_a_when(m.span)]
    vague = [m for m in times if m.label == "VAGUE_TIME"]
    return times, firm, vague


def in_condition(token: Token) -> bool:
    """Is `token` inside an 'if'/'unless'/'once' clause ('if it isn't with you by the 21st')?"""
    marks = words("next_step", "condition_marks")
    for above in (token, *token.ancestors):
        if above.dep_ == "advcl" and any(m.dep_ == "mark" and m.lower_ in marks for m in above.children):
            return True
    return False


def clause_of(time: Span) -> Optional[Token]:
    """The verb whose clause holds `time`, if the parse gives one."""
    for above in time.root.ancestors:
        if above.pos_ in {"VERB", "AUX"} and above.dep_ not in {"aux", "auxpass"}:
            return above
    return None


def in_other_question(verb: Token, time: Span) -> bool:
    """'We'll go one step at a time — what do you see on the screen right now?': the time
    belongs to a question after a dash, colon or semicolon, not to the promise."""
    doc = verb.doc
    if not time.sent.text.rstrip().endswith("?") or time.start < verb.i:
        return False
    return any(t.text in {"—", "–", "-", ";", ":"} for t in doc[verb.i : time.start])


def time_only(sent: Span, time: Span) -> bool:
    """A sentence that is just a time ('By 5 pm today.', 'Within the hour, promise.')."""
    return not any(t.pos_ in {"VERB", "AUX"} for t in sent if not (time.start <= t.i < time.end))


def _kept(match: Match) -> Match:
    """'Wednesday by courier' is matched as 'Wednesday by' so that 'the Friday model' is not; the
    time is its first "keep_tokens" tokens."""
    keep = match.entry.get("keep_tokens")
    return match if keep is None else Match(match.span[:keep], match.entry)


def _not_a_when(time: Span) -> bool:
    """'Tuesday's no-show' names a day's event; 'bye for now', 'by now' are no time to act."""
    doc = time.doc
    if time.end < len(doc) and doc[time.end].lower_ in {"'s", "'"}:
        return True
    if len(time) == 1 and time.root.dep_ in {"compound", "amod"} and time.root.head.i > time.root.i:
        return True  # 'how Saturday mains are timed'

    return time.text.lower() == "now" and time.start > 0 and doc[time.start - 1].lower_ in {"for", "by", "until", "till", "bye", "goodbye"}
