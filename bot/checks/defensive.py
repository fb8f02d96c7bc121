"""defensive: blame, denial, dismissal or stonewalling. found=True is bad; the tip offers the
ownership wording stored with the pattern that fired.

Two rules need more than a pattern (trainers: "explaining a cause while owning it or acting on
it" is not defensive):
- a match whose label is in "excusable_labels" (an excuse, a record quoted, a policy, another
  team) does not count when the reply also owns the failure ("that's on us", "our mistake",
  the "ownership" patterns, not negated) or when its own sentence goes on to a commitment
  ("The photo shows a different door, so I've just reshipped the gift");
- a pattern marked "not_in_question" does not count in a question ("What did the report say?"),
  one marked "unless_negated" not after a negation ("not your fault" is the opposite of blame),
  one with "not_before" words not when one of them follows ("you dropped off the call"), one
  with "not_after" words not when one of them comes just before ("let's keep it simple").
"""
from __future__ import annotations

from typing import List, Sequence

from spacy.tokens import Doc, Span

from bot.checks import next_step
from bot.checks._context import Context, fill, in_quotes, result
from bot.checks._lexicon import Match, load_lexicon, pattern_set
from bot.checks.defensive_stance import Stance, clauses, defences, has_phrase, offers_action

NEGATIONS = frozenset({"not", "n't", "nt", "never", "no"})
# How far back a negation can sit and still turn a phrase round: "not really our fault".
NEGATION_WINDOW = 2


def _is_question(span: Span) -> bool:
    return span.sent.text.rstrip().endswith("?")


def _negated(span: Span) -> bool:
    """A negation just before `span` in its sentence: 'not your fault', 'not on us'."""
    before = span.doc[max(span.sent.start, span.start - NEGATION_WINDOW) : span.start]
    return any(t.lower_ in NEGATIONS for t in before)


def _followed_by(span: Span, words_: Sequence[str]) -> bool:
    """'you dropped off a call' is not 'you dropped it'."""
    return span.end < len(span.doc) and span.doc[span.end].lower_ in words_


def owns_failure(doc: Doc) -> bool:
    """Does the reply take ownership somewhere ('that's on us', 'our mistake'), not negated?"""
    return any(not _negated(m.span) for m in pattern_set(doc.vocab, "defensive", "ownership").find(doc))


def _preceded_by(span: Span, words_: Sequence[str]) -> bool:
    """'let's keep it simple' is not 'it's simple'."""
    return span.start > span.sent.start and span.doc[span.start - 1].lower_ in words_


# A clause that states a circumstance ('when they're running late') or an obligation ('we'll have
# to wait') is no action of the agent's, whatever tense it is in.
CIRCUMSTANCE_MARKS = frozenset({"when", "while", "whenever", "if", "because", "since", "as", "especially"})
OBLIGATION_VERBS = frozenset({"have", "need", "wait"})
TURNS = frozenset({"but", "though", "tho", "however", "although", "yet"})


def _action(t) -> bool:
    """A commitment next_step reads that is the agent doing something, not a circumstance or an
    obligation put on someone."""
    if not next_step.is_commitment(t):
        return False
    if t.lemma_.lower() in OBLIGATION_VERBS:
        return False
    return not (t.dep_ == "advcl" and any(c.lower_ in CIRCUMSTANCE_MARKS for c in t.children))


def _reported_against(span: Span) -> bool:
    """The phrase is what someone said, and the agent condemns it or apologises for it ('Telling
    you that you should have ordered sooner was out of line', 'I'm sorry you were made to feel it
    was your doing'): a head above it is a clausal subject, an apology word, or a verb of saying
    under a negation or 'should have' ('I shouldn't have said you ...')."""
    entry = load_lexicon("defensive")["reported_against"]
    apology, saying = set(entry["apology"]), set(entry["saying"])
    head = span.root
    while head.head.i != head.i:
        head = head.head
        lemma = head.lemma_.lower()
        if head.dep_ == "csubj":
            return True
        # 'sorry, but you should have ...' turns away from the apology: only a phrase the apology
        # is about counts ('sorry you were made to feel it was your doing')
        if (head.lower_ in apology or lemma in apology) and head.i < span.start:
            if not any(t.lower_ in TURNS for t in span.doc[head.i : span.start]):
                return True
        if lemma in saying:
            kids = {c.lower_ for c in head.children}
            if kids & NEGATIONS or {"should", "shouldn't", "shouldnt"} & kids:
                return True
    return False


def _acted_on(span: Span) -> bool:
    """A commitment in the same sentence: the cause is explained and acted on ('The photo shows a
    different door, so I've just reshipped it'; 'An engineer will come on Friday under your SLA')."""
    doc = span.doc
    # a done action counts only marked as just done: 'our records show a callback was attempted'
    # reports the record, 'so I've just reshipped it' acts on it
    if any(
        _action(t)
        and (next_step._promise_kind(t) != "done" or next_step._just_marker(t) is not None or next_step._just_done(t))
        for t in doc[span.end : span.sent.end]
    ):
        return True
    # the earliest slot or another option offered after the limit: 'fully booked, so the earliest is Tuesday'
    if span.end < span.sent.end and has_phrase(doc[span.end : span.sent.end], "alternatives"):
        return True
    # Before the cause only a promise counts: 'Disputes go through the queue per our SLA' is
    # the timetable the customer is pushed into, not an action taken for them.
    return any(
        _action(t) and next_step._promise_kind(t) != "scheduled" for t in doc[span.sent.start : span.start]
    )


def flagged(doc: Doc, ctx: Context) -> List[Match]:
    """Defensive phrases the trainee said (quoted words, e.g. what a colleague said, are left out)."""
    # The matches depend on the reply alone, so they are kept on the doc.
    if "checks_defensive" not in doc.user_data:
        excusable = set(load_lexicon("defensive")["excusable_labels"])
        matches = [
            m
            for m in pattern_set(doc.vocab, "defensive").find(doc)
            if not in_quotes(m.span)
            and not (m.entry.get("not_in_question") and _is_question(m.span))
            and not (m.entry.get("unless_negated") and _negated(m.span))
            and not _followed_by(m.span, m.entry.get("not_before", ()))
            and not _preceded_by(m.span, m.entry.get("not_after", ()))
            and not _reported_against(m.span)
        ]
        if any(m.label in excusable for m in matches):
            owned = owns_failure(doc)
            matches = [
                m for m in matches
                if m.label not in excusable or m.entry.get("never_excused") or not (owned or _acted_on(m.span))
            ]
        doc.user_data["checks_defensive"] = matches
    return list(doc.user_data["checks_defensive"])


def _acts_in(sent: Span) -> bool:
    """A promise, or an action marked as just done, in the sentence: the cause is acted on."""
    return any(
        _action(t)
        and (next_step._promise_kind(t) not in ("done", "scheduled") or next_step._just_marker(t) is not None or next_step._just_done(t))
        for t in sent
    )


def _works_round(sent: Span) -> bool:
    """The agent promises or offers an action here ('but I can get someone to you Friday')."""
    return _acts_in(sent) or offers_action(sent)


def _disowns(sent: Span) -> bool:
    """'..., not us', 'not me': the sentence puts the failure on someone else by name."""
    return any(
        t.lower_ in NEGATIONS and t.i + 1 < sent.end and t.nbor().lower_ in ("us", "me", "ours", "mine")
        for t in sent
    )


def learned(doc: Doc, matches: Sequence[Match]) -> List[Stance]:
    """Sentences the learned layer judges defensive, outside the patterns' matches and quotes.

    The trainers' rule for the lexicon holds here too, and wider: an excuse, a record, a policy,
    another team or a deferral named while that sentence or the next acts on it or offers to ("We
    don't do weekend visits, but I can get someone to you Friday") is an explanation or a limit
    worked round ("worked_round_labels" in defensive.json), and so is anything the model reads as
    a defence in a reply that owns the failure ("That was wrong of us"): no defensive reply of the
    development set or the training lines owns its failure, and held out round by round (2-8) the
    layer's hits in such replies were all false alarms."""
    worked_round = set(load_lexicon("defensive")["worked_round_labels"])
    candidates = defences(doc)
    if candidates and owns_failure(doc):
        return []
    sents = clauses(doc)
    following = {a.start: b for a, b in zip(sents, sents[1:])}
    found = []
    for s in candidates:
        if any(s.span.start <= m.span.start < s.span.end for m in matches) or in_quotes(s.span):
            continue
        # a limit, a record or another team followed by the agent's own offer is worked round
        after = following.get(s.span.start)
        # a concession turned against the complaint ('though our technicians are all certified') or
        # a clause that disowns the failure ('they dropped the ball, not us') is a rebuttal: only an
        # action in its own sentence works it round, and disowning is never worked round
        rebuttal = has_phrase(s.span, "concessive")
        later = after is not None and not rebuttal and _works_round(after)
        if s.limit_kind in worked_round and not _disowns(s.span) and (_works_round(s.span) or later):
            continue
        found.append(s)
    return found


# Clause edges within a sentence: a tip quotes from the one before the phrase to the one after.
_CLAUSE_EDGES = frozenset({",", ";", ":", "-", "–", "—", "but", "so", "because", "and"})
# A sentence this short is quoted whole.
_WHOLE_SENTENCE_TOKENS = 14


def quoted_clause(span: Span) -> Span:
    """The sentence around a matched phrase, or when it is long, the clause holding it."""
    sent = span.sent
    end = sent.end
    while end > span.end and (sent.doc[end - 1].is_punct or sent.doc[end - 1].is_space):
        end -= 1
    if end - sent.start <= _WHOLE_SENTENCE_TOKENS:
        return sent.doc[sent.start : max(end, span.end)]
    doc = span.doc

    def edge(i: int) -> bool:
        # a dash inside a word ('add-on') is no edge; one with a space before it is
        return doc[i].lower_ in _CLAUSE_EDGES and not (doc[i].text in "-–" and i > 0 and not doc[i - 1].whitespace_)

    start = span.start
    while start > sent.start and not edge(start - 1):
        start -= 1
    stop = span.end
    while stop < end and not edge(stop):
        stop += 1
    return doc[start:stop]


def check(doc: Doc, ctx: Context) -> dict:
    matches = flagged(doc, ctx)
    stances = learned(doc, matches)
    if not matches and not stances:
        return result(False)
    names = load_lexicon("defensive")["kinds"]
    template = load_lexicon("defensive")["tips"]["found"]
    evidence = [ctx.quote(m.span) for m in matches] + [ctx.quote(s.span).strip() for s in stances]
    if matches:
        # the tip quotes the whole clause the phrase sits in ('Nobody else has complained
        # about this add-on', not 'Nobody else') and names its kind, as a learned verdict does
        first = matches[0]
        lex = load_lexicon("defensive")
        kind_phrase = lex["kind_phrases"].get(first.label, names.get(first.label, "defensive"))
        tip = fill(template, span=ctx.quote(quoted_clause(first.span)).strip(), kind_phrase=kind_phrase,
                   rewrite=first.entry["rewrite"])
        out = result(True, evidence, tip)
        out["kind"] = names.get(first.label, first.label.lower())
        return out
    # a learned verdict quotes the clause, names its kind and offers that kind's rewrite
    lex = load_lexicon("defensive")
    top = stances[0]
    tip = fill(lex["tips"]["found_learned"], span=ctx.quote(top.span).strip().rstrip(".!"),
               kind_phrase=lex["kind_phrases"][top.kind], rewrite=lex["kind_rewrites"][top.kind])
    out = result(True, evidence, tip)
    out["kind"] = names.get(top.kind, top.kind.lower())
    return out
