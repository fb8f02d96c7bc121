"""Next steps told without a promising verb: the remedy itself with its time.

Replies name what will happen as a thing with a time as often as a promise with a verb:
'What happens now is a callback from billing by 5 pm tomorrow', 'Now: engineer on Tuesday 8-10',
'ur line test is running now, result in 2 mins', 'refund of 28 going thru 2day', 'a replacement
ships tomorrow' (parsed as the noun 'ships'). The parser's verbs are unreliable here, so this
reads the clause around a time (between punctuation and clause joins) for a remedy word
(next_step.json "remedy_words") and judges that clause as docs/checks.md does: nothing past,
denied, asked, hedged, conditional, habitual or general, and nothing the customer has to do.
Evidence is the clause and the time.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from spacy.tokens import Span, Token

from bot.checks._lexicon import load_lexicon, words

_BREAKS = frozenset({",", ";", ":", "—", "–", "(", ")", "!", "."})
_JOINS = frozenset({"and", "but", "so", "&", "+", "then", "plus"})
_PRONOUNS = frozenset({"i", "we", "you", "u", "they", "he", "she", "it"})


def _clause(time: Span) -> Span:
    """The stretch of `time`'s sentence between the nearest breaks or joins either side; a
    join inside another time ('between 8 and 12') does not break it."""
    sent = time.sent
    inside = {i for i in range(time.start, time.end)}

    def breaks(token: Token) -> bool:
        if token.i in inside:
            return False
        if token.text in _BREAKS or token.is_space:
            return True
        return token.lower_ in _JOINS and not (token.i + 1 < len(token.doc) and token.nbor().like_num)

    start = time.start
    while start > sent.start and not breaks(time.doc[start - 1]):
        start -= 1
    end = time.end
    while end < sent.end and not breaks(time.doc[end]):
        end += 1
    return time.doc[start:end]


def _remedy(clause: Span, time: Span) -> Optional[Token]:
    """One remedy, not many ('client calls', 'our technicians'), nor a word naming another
    ('technician slots')."""
    nouns = words("next_step", "remedy_words")
    def one(t: Token) -> bool:
        if t.lower_ in nouns:  # 'ships' as the parser's plural noun
            return True
        # 'the assessor calls you' is a verb; 'good luck with the client calls' is not
        many = t.tag_ == "NNS" or (t.tag_ == "VBZ" and not any(c.dep_ in {"dobj", "dative"} for c in t.children)) or (t.dep_ == "compound" and t.head.tag_ == "NNS" and t.head.lower_ not in nouns)
        return not many and t.lemma_.lower() in nouns

    return next((t for t in clause if not time.start <= t.i < time.end and one(t)), None)


def _outside(clause: Span, time: Span) -> List[Token]:
    return [t for t in clause if not time.start <= t.i < time.end]


def _offered(clause: Span) -> bool:
    """'a technician this week, or we swap the laptop': a choice offered, not yet made."""
    doc = clause.doc
    before = doc[clause.start - 1].lower_ if clause.start > 0 else ""
    return before == "or" or any(t.lower_ == "or" for t in doc[clause.end : clause.sent.end])


def _told_after(clause: Span) -> bool:
    """'booked a technician for Friday, who never arrived': what follows says it went wrong."""
    doc, end = clause.doc, clause.end
    if end + 1 >= clause.sent.end or doc[end].text != "," or doc[end + 1].lower_ not in {"who", "which", "that", "but"}:
        return False
    rest = doc[end + 1 : clause.sent.end]
    return any(t.dep_ == "neg" or t.lower_ in {"never", "nobody", "nothing"} for t in rest)


def _when_is_open(clause: Span, time: Span) -> bool:
    """'on the 5th', 'at 7:30', '10 June' may be past or future; 'by Friday', 'tomorrow',
    'within the hour', 'between 8 and 12' look ahead. An open date needs a sign of the future
    or the present in its clause ('will', 'being', 'just', 'ships', 'booked')."""
    lex = load_lexicon("next_step")["remedy_clause"]
    if any(t.lower_ in lex["future_time_words"] for t in time):
        return False
    return not any(t.lower_ in lex["future_markers"] for t in _outside(clause, time))


def _past_or_denied(clause: Span, time: Span) -> bool:
    lex = load_lexicon("next_step")["remedy_clause"]
    lowers = [t.lower_ for t in _outside(clause, time)]
    if set(lowers) & set(lex["not_now_words"]):
        return True
    if any(t.dep_ == "neg" for t in clause):
        return True
    for t in clause:
        if t.lower_ in {"has", "have", "'ve", "had", "'d"} and t.dep_ == "aux" and not any(
            s.lower_ == "just" for s in t.head.children
        ):
            return True  # 'our team has been swamped this month'; 'has just gone back' is done now
        subjects = [c for c in t.children if c.dep_ == "nsubj" and clause.start <= c.i < t.i]
        if t.tag_ == "VBD" and subjects and "just" not in lowers and (
            subjects[0].lower_ in _PRONOUNS or any(c.dep_ == "dobj" for c in t.children)
        ):
            # 'you ordered it on Friday', 'Helen booked a table for 7:30'; 'tech booked for thurs'
            # is chat's passive
            return True
    return False


def _hedged_or_general(clause: Span, time: Span) -> bool:
    lex = load_lexicon("next_step")["remedy_clause"]
    lowers = [t.lower_ for t in _outside(clause, time)]
    if set(lowers) & set(lex["hedges"]) or set(lowers) & words("next_step", "habitual_adverbs"):
        return True
    if any(a == "should" and b in {"have", "be", "'ve"} for a, b in zip(lowers, lowers[1:])):
        return True  # 'it should have been there on the 18th', 'should be back by Friday'
    if any(t.lower_ in {"every", "each", "any", "all"} for t in clause):
        return True  # 'every phone needs a code now': how it goes for everyone
    # 'Reimbursement claims are processed within 28 days', 'our engineers work Monday to
    # Saturday': what the company does in general, promised to nobody
    future = {"will", "'ll", "shall", "going", "gonna"}
    markers = set(lex["future_markers"])
    plural = any(t.tag_ == "NNS" and t.dep_ in {"nsubj", "nsubjpass"} and t.lower_ not in markers for t in clause)
    return plural and not set(lowers) & future


def _customers_part(clause: Span) -> bool:
    """'please send the receipt by Friday', 'you need to upload it today': the customer's
    step; 'you'll get a text', 'please allow 3-5 days for the refund' are the company's."""
    lex = load_lexicon("next_step")["remedy_clause"]
    timing = set(lex["timing_imperatives"])
    receives = words("next_step", "customer_receives_verbs")
    if any(t.lower_ in {"please", "pls", "plz"} for t in clause) and not any(t.lemma_.lower() in timing for t in clause):
        return True
    for t in clause:
        if t.lower_ in {"you", "u"} and t.dep_ == "nsubj" and t.head.lemma_.lower() not in receives | {"be"}:
            return True
    first = clause[0]
    imperative = first.i == first.sent.start and first.tag_ == "VB" and first.lemma_.lower() not in timing
    return imperative and first.lower_ not in words("next_step", "remedy_words")  # 'engineer out to you weds


def _conditional_or_asked(clause: Span, time: Span) -> bool:
    sent = time.sent
    if sent.text.rstrip().endswith("?"):
        return True
    marks = words("next_step", "condition_marks")
    return any(t.lower_ in marks for t in sent if t.i < clause.end)


def remedy_pairs(times: Sequence[Span]) -> List[Tuple[Span, Span]]:
    """(clause, time) for each time whose clause names a remedy that is going to happen."""
    pairs = []
    for time in times:
        if time.start > 0 and time.doc[time.start - 1].lower_ in {"since", "last", "from"}:
            continue  # 'since 10 June': when the trouble began
        clause = _clause(time)
        if _remedy(clause, time) is None or _past_or_denied(clause, time) or _hedged_or_general(clause, time):
            continue
        if _offered(clause) or _told_after(clause) or _when_is_open(clause, time):
            continue
        if _customers_part(clause) or _conditional_or_asked(clause, time):
            continue
        pairs.append((_trimmed(clause, time), time))
    return pairs


def _trimmed(clause: Span, time: Span) -> Span:
    """The clause without the time at its end, so the evidence quotes the remedy and the time
    once each: 'refund of 28 going thru' and '2day'."""
    start, end = clause.start, clause.end
    if time.end == end and time.start > start:
        end = time.start
    doc = clause.doc
    while end - 1 > start and (doc[end - 1].is_punct or doc[end - 1].pos_ in {"ADP", "CCONJ"}):
        end -= 1
    return doc[start:end]
